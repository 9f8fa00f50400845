"""The living threat model: snapshot, structural diff, impact, drift notes, check and scan.

Properties of the diff are checked on generated architectures (hypothesis); the five
end-to-end scenarios start from a published model of the bundled example and go
through `check`, `drift --record`, the review queue per role, the CLI decisions that
resolve drift, re-signing and publishing, back to `check` exiting 0.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from threatline.cli import app
from threatline.drift.diff import diff
from threatline.drift.snapshot import Snapshot
from threatline.model.architecture import Architecture
from threatline.service import draft_file, utc_now, write_outputs
from threatline.store.directory import ModelStore
from threatline.store.index import index_path
from threatline.workflow import actions
from threatline.workflow.queue import queue
from threatline.workflow.team import Team

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()

ANA, ARCH, RAJ, DEV = "ana@example.com", "arch@example.com", "raj@example.com", "dev@example.com"
TEAM_TOML = f"""
[team]
appetite = "medium"

[[team.members]]
email = "{ANA}"
roles = ["security"]

[[team.members]]
email = "{ARCH}"
roles = ["architect"]

[[team.members]]
email = "{RAJ}"
roles = ["risk-owner"]
max_accept = "critical"

[[team.members]]
email = "{DEV}"
roles = ["author"]
"""


def team() -> Team:
    """The team of TEAM_TOML, as `threatline.toml` gives it to the CLI."""
    return Team.model_validate(tomllib.loads(TEAM_TOML)["team"])


# ====================================================================== the diff, as properties

CLASSES = ["public", "internal", "confidential", "restricted"]
TRUSTS = ["untrusted", "partner", "internal", "restricted"]
# Pass-through types (api-gateway, load-balancer, cdn, reverse-proxy) carry reach.* facts on.
TYPES = ["service", "database", "api-gateway", "browser", "queue", "external-service", "load-balancer", "cdn",
         "reverse-proxy"]
PROTOCOLS = ["https", "http", "grpc", "sql", "amqp", "mtls"]
AUTHS = ["none", "jwt", "oauth2", "api-key", "mtls"]
CONTROLS = ["rate-limiting", "input-validation", "audit-logging", "waf", "tls"]
TAGS = ["pii", "pci", "credentials", "financial"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.text(alphabet="abcdefghij XYZ", min_size=0, max_size=8)


@st.composite
def architectures(draw: Any) -> dict[str, Any]:
    n_data, n_zones, n_comps = draw(st.integers(0, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 5))
    data_ids = [f"d{i}" for i in range(n_data)]
    zone_ids = [f"z{i}" for i in range(n_zones)]
    comp_ids = [f"c{i}" for i in range(n_comps)]
    data = [{"id": d, "name": draw(names), "classification": draw(st.sampled_from(CLASSES)),
             "tags": draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))} for d in data_ids]
    zones = []
    for i, z in enumerate(zone_ids):
        zone: dict[str, Any] = {"id": z, "name": draw(names), "trust": draw(st.sampled_from(TRUSTS))}
        if i and draw(st.booleans()):
            zone["parent"] = zone_ids[draw(st.integers(0, i - 1))]
        zones.append(zone)
    comps = []
    for c in comp_ids:
        comp: dict[str, Any] = {"id": c, "name": draw(names), "type": draw(st.sampled_from(TYPES)),
                                "zone": draw(st.sampled_from(zone_ids)), "tech": draw(st.sampled_from(["", "kong", "pg"])),
                                "controls": draw(st.lists(st.sampled_from(CONTROLS), unique=True, max_size=2))}
        if data_ids:
            comp["stores"] = draw(st.lists(st.sampled_from(data_ids), unique=True, max_size=2))
        if draw(st.booleans()):
            comp["properties"] = {"internet_facing": draw(st.booleans())}
        comps.append(comp)
    flows = []
    for i in range(draw(st.integers(0, 4))):
        a, b = draw(st.sampled_from(comp_ids)), draw(st.sampled_from(comp_ids))
        if a == b:
            continue
        flow: dict[str, Any] = {"id": f"f{i}", "name": draw(names), "from": a, "to": b,
                                "protocol": draw(st.sampled_from(PROTOCOLS)),
                                "authentication": draw(st.sampled_from(AUTHS)),
                                "bidirectional": draw(st.booleans()),
                                "controls": draw(st.lists(st.sampled_from(CONTROLS), unique=True, max_size=2))}
        if data_ids:
            flow["data"] = draw(st.lists(st.sampled_from(data_ids), unique=True, max_size=2))
        if draw(st.booleans()):
            flow["encrypted"] = draw(st.booleans())
        flows.append(flow)
    baseline = [{"control": draw(st.sampled_from(CONTROLS)), "applies_to": {"zone": draw(st.sampled_from(zone_ids))},
                 "note": draw(names)} for _ in range(draw(st.integers(0, 2)))]
    return {"version": 1, "system": {"name": "S"}, "data": data, "zones": zones, "components": comps,
            "flows": flows, "baseline": baseline,
            "controls": [{"id": "org-x", "name": draw(names), "mitigates": ["tampering"]}]}


def snap(doc: dict[str, Any]) -> Snapshot:
    return Snapshot.from_architecture(Architecture.model_validate(copy.deepcopy(doc)))


def changed(changes: list, element: str, ident: str) -> bool:
    return any(c.element == element and ident in (c.id, c.old_id) for c in changes)


@PROPERTY
@given(architectures())
def test_diff_of_a_snapshot_with_itself_is_empty(doc):
    s = snap(doc)
    assert diff(s, s) == []
    assert diff(s, snap(doc)) == []
    stored = Snapshot.from_doc(s.to_doc())  # what threatmodel.yaml keeps reads back the same
    assert stored == s and diff(stored, s) == [] and diff(s, stored) == []


@PROPERTY
@given(architectures(), st.data())
def test_order_of_elements_never_matters(doc, data):
    shuffled = copy.deepcopy(doc)
    for section in ("data", "zones", "components", "flows", "baseline"):
        shuffled[section] = data.draw(st.permutations(shuffled[section]))
        for item in shuffled[section]:
            for key in ("tags", "stores", "controls", "data"):
                if isinstance(item.get(key), list):
                    item[key] = data.draw(st.permutations(item[key]))
    assert snap(shuffled).digest == snap(doc).digest
    assert diff(snap(doc), snap(shuffled)) == []


@PROPERTY
@given(architectures(), st.data())
def test_display_names_and_descriptions_are_not_drift(doc, data):
    edited = copy.deepcopy(doc)
    for section in ("data", "zones", "components", "flows"):
        for item in edited[section]:
            item["name"] = data.draw(names) + "!"
            item["description"] = "reworded"
    for b in edited["baseline"]:
        b["note"] = "another note"
    assert diff(snap(doc), snap(edited)) == []


def _other(values: list[str], current: Any) -> str:
    return next(v for v in values if v != current)


def _edit(doc: dict[str, Any], kind: str, data: Any) -> tuple[str, str, str]:
    """Apply one random edit; returns (change kind, element kind, id) it must show up as."""
    comps, flows, zones = doc["components"], doc["flows"], doc["zones"]
    if kind == "component-attr":
        if not comps:  # earlier edits in a sequence removed them all (test_drift_scope)
            raise ValueError("no component to edit")
        c = data.draw(st.sampled_from(comps))
        attr = data.draw(st.sampled_from(["type", "tech", "controls", "internet_facing", "zone", "stores"]))
        if attr == "stores" and doc["data"]:
            c["stores"] = [] if c.get("stores") else [doc["data"][0]["id"]]
        elif attr == "zone" and len(zones) > 1:
            c["zone"] = _other([z["id"] for z in zones], c["zone"])
        elif attr == "tech":
            c["tech"] = c.get("tech", "") + "x"
        elif attr == "controls":
            c["controls"] = [*c.get("controls", []), "org-x"]
        elif attr == "internet_facing":
            c["properties"] = {"internet_facing": not (c.get("properties") or {}).get("internet_facing", False)}
        else:
            c["type"] = _other(TYPES, c["type"])
        return "changed", "component", c["id"]
    if kind == "flow-attr" and flows:
        f = data.draw(st.sampled_from(flows))
        attr = data.draw(st.sampled_from(["protocol", "authentication", "encrypted", "bidirectional", "to"]))
        if attr == "protocol":
            f["protocol"] = _other(PROTOCOLS, f["protocol"])
        elif attr == "authentication":
            f["authentication"] = _other(AUTHS, f["authentication"])
        elif attr == "encrypted":
            effective = f.get("encrypted", f["protocol"] in ("https", "mtls"))
            f["encrypted"] = not effective
        elif attr == "bidirectional":
            f["bidirectional"] = not f["bidirectional"]
        else:
            targets = [c["id"] for c in comps if c["id"] not in (f["from"], f["to"])]
            if targets:
                f["to"] = targets[0]
            else:
                f["protocol"] = _other(PROTOCOLS, f["protocol"])
        return "changed", "flow", f["id"]
    if kind == "zone-trust":
        z = data.draw(st.sampled_from(zones))
        z["trust"] = _other(TRUSTS, z["trust"])
        return "changed", "zone", z["id"]
    if kind == "zone-parent" and len(zones) > 1:
        z = zones[-1]  # parents only point to earlier zones: no cycle
        z["parent"] = _other([None, *(x["id"] for x in zones[:-1])], z.get("parent"))
        return "changed", "zone", z["id"]
    if kind == "data-tags" and doc["data"]:
        d = data.draw(st.sampled_from(doc["data"]))
        d["tags"] = [] if d.get("tags") else ["pci"]
        return "changed", "data", d["id"]
    if kind == "data-class" and doc["data"]:
        d = data.draw(st.sampled_from(doc["data"]))
        d["classification"] = _other(CLASSES, d["classification"])
        return "changed", "data", d["id"]
    if kind == "add-component":
        comps.append({"id": "new-one", "type": "database", "zone": zones[0]["id"], "tech": "brand-new"})
        return "added", "component", "new-one"
    if kind == "remove-flow" and flows:
        f = flows.pop(data.draw(st.integers(0, len(flows) - 1)))
        return "removed", "flow", f["id"]
    if kind == "add-flow":
        flows.append({"id": "new-flow", "from": comps[0]["id"], "to": comps[1]["id"], "protocol": "grpc",
                      "authentication": "none", "bidirectional": False})
        return "added", "flow", "new-flow"
    if kind == "remove-component":
        c = comps.pop()
        doc["flows"] = [f for f in flows if c["id"] not in (f["from"], f["to"])]
        return "removed", "component", c["id"]
    if kind == "baseline":
        doc["baseline"].append({"control": "audit-logging", "applies_to": {"type": "queue"}})
        return "added", "baseline", "audit-logging@type=queue"
    # rename a component's id, references included: one probable rename, nothing else
    c = data.draw(st.sampled_from(comps))
    old = c["id"]
    c["id"] = old + "-renamed"
    for f in flows:
        for side in ("from", "to"):
            if f[side] == old:
                f[side] = c["id"]
    return "renamed", "component", c["id"]


EDITS = ["component-attr", "flow-attr", "zone-trust", "zone-parent", "data-class", "data-tags", "add-component",
         "remove-flow", "add-flow", "remove-component", "baseline", "rename"]


@PROPERTY
@given(architectures(), st.text(max_size=6), st.dictionaries(st.text(max_size=4), st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=4), st.lists(st.text(max_size=3), max_size=2)), max_size=3))
def test_snapshot_text_of_components_and_flows_is_the_canonical_json(doc, tech, props):
    """Components and flows are written without a dict per element; the text must be
    exactly canonical() of their attributes, or stored snapshots would all look changed."""
    from threatline.drift.snapshot import (
        canonical,
        component_attrs,
        component_json,
        flow_attrs,
        flow_json,
    )

    doc = copy.deepcopy(doc)
    doc["components"][0]["tech"] = tech
    doc["components"][-1]["properties"] = props
    if doc["flows"]:
        doc["flows"][0]["properties"] = props
    arch = Architecture.model_validate(doc)
    for c in arch.components:
        assert component_json(c) == canonical(component_attrs(c))
    for f in arch.flows:
        assert flow_json(f) == canonical(flow_attrs(f))


@PROPERTY
@given(architectures(), st.sampled_from(EDITS), st.data())
def test_every_random_edit_is_detected(doc, edit, data):
    before = snap(doc)
    edited = copy.deepcopy(doc)
    kind, element, ident = _edit(edited, edit, data)
    changes = diff(before, snap(edited))
    assert changes, f"{edit} went unnoticed"
    assert any(c.kind == kind and c.element == element and c.id == ident for c in changes), (edit, changes)
    if kind == "renamed":
        # References to the renamed component follow it: one change, not one per flow.
        assert [(c.kind, c.element) for c in changes] == [("renamed", "component")]
        assert changes[0].old_id == ident.removesuffix("-renamed")


@PROPERTY
@given(architectures(), st.sampled_from(EDITS), st.data())
def test_threats_outside_the_affected_elements_never_change(knowledge, doc, edit, data):
    """The re-run scope is complete: a full draft of the edited architecture differs from
    the draft of the original only on elements drift.affected selects."""
    from threatline.drift.affected import affected
    from threatline.engine.draft import draft

    edited = copy.deepcopy(doc)
    _edit(edited, edit, data)
    a, b = Architecture.model_validate(copy.deepcopy(doc)), Architecture.model_validate(copy.deepcopy(edited))
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    scope = affected(changes, b)
    touched = scope.targets() | {c.id for c in changes} | {c.old_id for c in changes if c.old_id}

    def key(t):
        return (t.severity, t.coverage, tuple(t.current_mitigations), tuple(t.data), tuple(t.elements))

    before = {t.id: key(t) for t in draft(a, knowledge).threats if t.target not in touched}
    after = {t.id: key(t) for t in draft(b, knowledge).threats if t.target not in touched}
    assert before == after


def test_changed_attributes_are_named_with_before_and_after():
    doc = {"version": 1, "system": {"name": "S"},
           "zones": [{"id": "a", "trust": "restricted"}, {"id": "b", "trust": "untrusted"}],
           "components": [{"id": "x", "type": "service", "zone": "a"}, {"id": "y", "type": "database", "zone": "a"}],
           "flows": [{"id": "x-y", "from": "x", "to": "y", "protocol": "https", "controls": ["waf"]}]}
    edited = copy.deepcopy(doc)
    edited["flows"][0]["protocol"] = "http"
    edited["flows"][0]["controls"] = ["rate-limiting"]
    edited["components"][1]["zone"] = "b"
    changes = diff(snap(doc), snap(edited))
    flow = next(c for c in changes if c.element == "flow")
    assert [a.name for a in flow.attributes] == ["protocol", "encrypted", "controls"]
    assert (flow.attribute("protocol").before, flow.attribute("protocol").after) == ("https", "http")
    assert (flow.attribute("encrypted").before, flow.attribute("encrypted").after) == (True, False)
    assert "controls +rate-limiting -waf" in flow.summary()
    comp = next(c for c in changes if c.element == "component")
    assert comp.id == "y" and comp.summary() == "component y: zone a → b"


# ====================================================================== end to end


def _today_plus(days: int) -> str:
    return (actions.today_of(utc_now()) + timedelta(days=days)).isoformat()


def decide(store: ModelStore, calls: list[tuple]) -> None:
    """Several decisions in one commit (each still journaled): (function, who, *args)."""
    loaded = store.load()
    model, events, now = loaded.model, [], utc_now()
    for fn, who, *args in calls:
        model, event = fn(model, team(), who, now, *args)
        events.append(event)
    store.commit(loaded, model, events, "tests", now)


def review_and_publish(ws: Path) -> None:
    """Confirm drafted threats, sign the three stages, accept what is above appetite, publish."""
    store = ModelStore(ws / "threatmodel.yaml")
    model = store.load().model
    assert not [t.id for t in model.threats if t.drift and t.status not in ("rejected", "retired")]
    calls: list[tuple] = [(actions.confirm, ANA, t.id) for t in model.threats if t.status == "draft"]
    calls.append((actions.signoff, ANA, "security"))
    decide(store, calls)
    model = store.load().model
    calls = [(actions.feasibility, ARCH, m.id, "feasible", "") for m in model.mitigations
             if m.status in actions.APPROVED and m.feasibility is None]
    calls.append((actions.signoff, ARCH, "architecture"))
    decide(store, calls)
    model = store.load().model
    now = utc_now()
    calls = [(actions.accept_risk, RAJ, t.id, "compensating controls", _today_plus(20))
             for t, _ in actions.above_appetite(model) if not actions.acceptance_valid(t, now) and t.escalation is None]
    calls.append((actions.signoff, RAJ, "stakeholder"))
    decide(store, calls)
    res = runner.invoke(app, ["publish", str(store.path), "--as", DEV])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("published")
    (ws / "architecture.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (ws / "threatline.toml").write_text(TEAM_TOML, encoding="utf-8")
    write_outputs(draft_file(ws / "architecture.yaml"), ws, who=DEV)
    review_and_publish(ws)
    return ws


@pytest.fixture
def ws(published, tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(published, target)
    return target


def check(ws: Path, *extra: str):
    return runner.invoke(app, ["check", str(ws / "architecture.yaml"), str(ws / "threatmodel.yaml"), *extra])


def check_json(ws: Path) -> dict[str, Any]:
    res = check(ws, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.stdout)
    assert doc["exit_code"] == res.exit_code
    return doc


def edit_arch(ws: Path, old: str, new: str, count: int = 1) -> None:
    path = ws / "architecture.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def record(ws: Path) -> str:
    res = runner.invoke(app, ["drift", str(ws / "architecture.yaml"), str(ws / "threatmodel.yaml"), "--record",
                              "--as", DEV])
    assert res.exit_code == 0, res.output
    return res.output


def model_of(ws: Path):
    return ModelStore(ws / "threatmodel.yaml").load().model


def role_queue(ws: Path, role: str) -> list:
    return [i for i in queue(model_of(ws), utc_now(), role) if i.kind == "drift"]


def cli(*args: str) -> None:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


def resolve_all(ws: Path, retire: set[str] = frozenset()) -> None:
    """Through the CLI: security re-confirms (or retires) every threat with drift, the risk owner
    accepts again where the basis changed, the architect re-confirms placements."""
    path = ws / "threatmodel.yaml"
    model = model_of(ws)
    for t in model.threats:
        if t.status in ("rejected", "retired"):
            continue
        if t.id in retire:
            cli("threat", "retire", path, t.id, "-r", "no longer applies after the change", "--as", ANA)
            continue
        if t.drift:
            cli("threat", "reconfirm", path, t.id, "-r", "still stands after the change", "--as", ANA)
        if t.acceptance is not None and t.acceptance.drift:
            cli("risk", "accept", path, t.id, "-j", "still acceptable after the change",
                "--expires", _today_plus(20), "--as", RAJ)
    for m in model.mitigations:
        if m.drift:
            cli("mitigation", "reconfirm", path, m.id, "-r", "stays where it is", "--as", ARCH)


def test_published_model_of_an_unchanged_architecture_passes(ws):
    res = check(ws)
    assert res.exit_code == 0, res.output
    assert "current" in res.output
    doc = check_json(ws)
    assert doc["status"] == "current" and doc["published"] and doc["changes"] == [] and doc["items"] == []


def test_draft_model_is_not_a_pass(tmp_path):
    (tmp_path / "architecture.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    write_outputs(draft_file(tmp_path / "architecture.yaml"), tmp_path, who=DEV)
    res = check(tmp_path)
    assert res.exit_code == 1
    doc = check_json(tmp_path)
    assert doc["status"] == "unpublished" and doc["stage"] == "draft" and doc["changes"] == []


def test_remove_tls_from_a_flow(ws):
    eavesdrop = next(t for t in model_of(ws).threats
                     if t.rule == "FLOW-INFO-EAVESDROP" and t.target == "checkout-submit")
    assert eavesdrop.current_mitigations == ["tls"] and eavesdrop.coverage == "mitigated"
    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")

    doc = check_json(ws)
    assert doc["status"] == "drift" and doc["exit_code"] == 1
    [change] = doc["changes"]
    assert change["element"] == "flow" and change["id"] == "checkout-submit"
    assert [a["name"] for a in change["attributes"]] == ["protocol", "encrypted"]
    lost = [i for i in doc["items"] if i["kind"] == "mitigation-lost" and i["target"] == eavesdrop.id]
    assert lost, doc["items"]
    assert lost[0]["controls"] == ["tls"] and "tls no longer in effect on flow checkout-submit" in lost[0]["detail"]
    assert "Eavesdropping" in lost[0]["title"] and lost[0]["role"] == "security"
    assert doc["items"][0]["severity"] == "critical"
    assert change["severity"] == "critical"

    out = record(ws)
    assert "drift note" in out
    notes = role_queue(ws, "security")
    tls_notes = [i for i in notes if "tls no longer in effect" in i.detail]
    assert any(eavesdrop.id in i.detail for i in tls_notes), [i.detail for i in notes]
    model = model_of(ws)
    old = next(t for t in model.threats if t.id == eavesdrop.id)
    assert old.status == "retired" and "superseded by" in old.retired_reason
    assert check(ws).exit_code == 1 and check_json(ws)["status"] == "needs-review"

    heir = next(i.target for i in tls_notes if eavesdrop.id in i.detail)
    others = {i.target for i in notes} - {heir}
    resolve_all(ws, retire={sorted(others)[0]} if others else set())
    assert role_queue(ws, "security") == []
    assert check_json(ws)["status"] == "unpublished"
    review_and_publish(ws)
    res = check(ws)
    assert res.exit_code == 0, res.output
    # every decision is in the journal and the chain is intact
    journal = ModelStore(ws / "threatmodel.yaml").journal()
    assert any(e.action == "threat.reconfirm" for e in journal)
    assert runner.invoke(app, ["verify", str(ws / "threatmodel.yaml")]).exit_code == 0


def test_move_a_database_to_a_lower_trust_zone(ws):
    on_db = [t for t in model_of(ws).threats if "payments-db" in [t.target, *t.elements]]
    if not any(t.acceptance is not None for t in on_db):
        # The database's own threats may all sit within appetite: accept one explicitly.
        decide(ModelStore(ws / "threatmodel.yaml"),
               [(actions.accept_risk, RAJ, on_db[0].id, "compensating controls", _today_plus(20))])
        review_and_publish(ws)
    accepted = [t for t in model_of(ws).threats if t.acceptance is not None
                and "payments-db" in [t.target, *t.elements]]
    assert accepted, "the published example has accepted risks on the database"
    edit_arch(ws, "    zone: cde\n    tech: postgresql\n", "    zone: edge\n    tech: postgresql\n")

    doc = check_json(ws)
    assert doc["status"] == "drift"
    [change] = doc["changes"]
    assert change["summary"] == "component payments-db: zone cde → edge"
    rereview = [i for i in doc["items"] if i["kind"] == "re-review" and i["element"] == "payments-db"]
    assert rereview and all("zone cde → edge" in i["detail"] for i in rereview)
    basis = [i for i in doc["items"] if i["kind"] == "acceptance-basis"]
    assert basis and {i["role"] for i in basis} == {"risk-owner"}
    assert {i["target"] for i in basis} >= {t.id for t in accepted if t.target == "payments-db"}

    record(ws)
    security = role_queue(ws, "security")
    assert {i.target for i in security} >= {i["target"] for i in rereview}
    risk = role_queue(ws, "risk-owner")
    assert risk and all("acceptance basis changed" in i.detail for i in risk)
    assert role_queue(ws, "architect") == []
    res = runner.invoke(app, ["review", str(ws / "threatmodel.yaml"), "--as", RAJ])
    assert res.exit_code == 0 and "drift" in res.output
    resolve_all(ws)
    assert role_queue(ws, "risk-owner") == [] and role_queue(ws, "security") == []
    review_and_publish(ws)
    assert check(ws).exit_code == 0


def test_reclassify_data_to_restricted(ws):
    edit_arch(ws, "  - id: customer-pii\n    name: Customer PII (name, email, billing address)\n    classification: confidential",
              "  - id: customer-pii\n    name: Customer PII (name, email, billing address)\n    classification: restricted")
    doc = check_json(ws)
    [change] = doc["changes"]
    assert change["element"] == "data" and change["id"] == "customer-pii"
    assert change["attributes"] == [{"name": "classification", "before": "confidential", "after": "restricted"}]
    carrying = {t.id for t in model_of(ws).threats if "customer-pii" in t.data and t.status != "retired"}
    rereview = {i["target"] for i in doc["items"] if i["kind"] == "re-review"}
    assert carrying and rereview == carrying, "every threat with the data at stake is judged again"
    assert all(i["change"] == "changed:data:customer-pii" for i in doc["items"])
    assert all("data customer-pii: classification confidential → restricted" in i["detail"] for i in doc["items"])
    accepted = {t.id for t in model_of(ws).threats if t.id in carrying and t.acceptance is not None}
    assert {i["target"] for i in doc["items"] if i["kind"] == "acceptance-basis"} == accepted
    assert check(ws).exit_code == 1

    record(ws)
    assert {i.target for i in role_queue(ws, "security")} == carrying
    assert {i.target for i in role_queue(ws, "risk-owner")} == accepted
    resolve_all(ws)
    review_and_publish(ws)
    assert check(ws).exit_code == 0


def test_add_an_internet_facing_component_outranks_a_new_internal_flow(ws):
    edit_arch(ws, "flows:\n", """  - id: partner-portal
    name: Partner portal
    type: web-app
    zone: edge
    properties:
      internet_facing: true

flows:
  - id: browser-to-portal
    from: browser
    to: partner-portal
    protocol: https
    data: [card-data]
    authentication: none
  - id: portal-to-db
    from: partner-portal
    to: payments-db
    protocol: sql
    data: [card-data]
    authentication: password
    encrypted: true
  - id: fraud-to-db
    from: fraud-scoring
    to: payments-db
    protocol: sql
    data: [transaction-records]
    authentication: password
    encrypted: true
""")
    doc = check_json(ws)
    keys = [c["kind"] + ":" + c["element"] + ":" + c["id"] for c in doc["changes"]]
    assert set(keys) == {"added:component:partner-portal", "added:flow:browser-to-portal",
                         "added:flow:portal-to-db", "added:flow:fraud-to-db"}
    new = [i for i in doc["items"] if i["kind"] == "new-threat"]
    assert {i["element"] for i in new} >= {"partner-portal", "browser-to-portal"}
    score = {c["id"]: c["score"] for c in doc["changes"]}
    # The component and the card-data path behind it outrank the internal flow; an anonymous
    # browser's call is drafted on the portal that accepts it (FLOW-SPOOF-SOURCE leaves
    # people's own clients to the API and auth rules), so the browser flow itself ranks low.
    assert doc["changes"][0]["id"] == "partner-portal", score
    assert score["partner-portal"] > score["fraud-to-db"], score
    assert score["portal-to-db"] > score["fraud-to-db"], score
    assert check(ws).exit_code == 1

    record(ws)
    model = model_of(ws)
    drafts = [t for t in model.threats if t.status == "draft"]
    assert {t.target for t in drafts} >= {"partner-portal", "browser-to-portal"}
    threat_queue = [i for i in queue(model, utc_now(), "security") if i.kind == "threat-review"]
    assert {i.target for i in threat_queue} >= {t.id for t in drafts}
    resolve_all(ws)
    review_and_publish(ws)
    assert check(ws).exit_code == 0


def test_renaming_a_component(ws):
    # A new display name is not drift.
    edit_arch(ws, "    name: Payments database\n", "    name: Payments DB (primary)\n")
    res = check(ws)
    assert res.exit_code == 0, res.output

    # A new id for the same content is a probable rename, not a removal and an addition.
    before = {t.rule: t for t in model_of(ws).threats if t.target == "payments-db"}
    edit_arch(ws, "payments-db", "payments-store", count=10)
    doc = check_json(ws)
    assert [(c["kind"], c["element"], c["id"], c.get("old_id")) for c in doc["changes"]] == [
        ("renamed", "component", "payments-store", "payments-db")]
    assert not [i for i in doc["items"] if i["kind"] in ("retire", "new-threat") and "payments" in i["element"]]
    assert {i["target"] for i in doc["items"] if i["kind"] == "re-review"} >= {t.id for t in before.values()}

    record(ws)
    model = model_of(ws)
    after = {t.rule: t for t in model.threats if t.target == "payments-store"}
    assert set(after) == set(before)
    for rule, t in after.items():
        assert t.status == before[rule].status, "decisions follow the renamed component"
        assert t.acceptance == before[rule].acceptance or t.acceptance.model_dump(exclude={"drift"}) == \
            before[rule].acceptance.model_dump(exclude={"drift"})
        assert any("renamed to payments-store" in n for n in t.drift)
    old = [t for t in model.threats if t.target == "payments-db"]
    assert all(t.status == "retired" and "continues as" in t.retired_reason for t in old)
    assert not [t for t in model.threats if t.target == "payments-store" and t.status == "draft"]
    resolve_all(ws)
    review_and_publish(ws)
    assert check(ws).exit_code == 0


def test_approved_mitigation_whose_placement_is_removed(ws):
    store = ModelStore(ws / "threatmodel.yaml")
    model = store.load().model
    m = next(m for m in model.mitigations if m.placement == "payment-to-fraud" and m.status == "proposed")
    decide(store, [(actions.approve, ANA, m.id)])
    decide(store, [(actions.feasibility, ARCH, m.id, "feasible", "")])
    edit_arch(ws, """  - id: payment-to-fraud
    name: Fraud check
    from: payment-api
    to: fraud-scoring
    protocol: grpc
    data: [card-data, customer-pii]
    authentication: none
    bidirectional: true
""", "")
    doc = check_json(ws)
    gone = [i for i in doc["items"] if i["kind"] == "placement-gone"]
    assert [(i["target"], i["role"]) for i in gone] == [(m.id, "architect")]
    retire = {i["target"] for i in doc["items"] if i["kind"] == "retire"}
    on_flow = {t.id for t in model.threats if t.target == "payment-to-fraud" and t.status != "retired"}
    assert on_flow and on_flow <= retire
    # anything else retired was a threat that needed the flow: on one of its two endpoints
    by_id = {t.id: t for t in model.threats}
    assert {by_id[t].target for t in retire - on_flow} <= {"payment-api", "fraud-scoring"}

    record(ws)
    [item] = role_queue(ws, "architect")
    assert item.target == m.id and "which was removed" in item.detail
    res = runner.invoke(app, ["mitigation", "reconfirm", str(ws / "threatmodel.yaml"), m.id, "--placement",
                              "no-such-element", "-r", "x", "--as", ARCH])
    assert res.exit_code == 1 and "not a component, flow or zone" in res.output
    cli("mitigation", "reconfirm", ws / "threatmodel.yaml", m.id, "--placement", "fraud-scoring", "-r",
        "terminate at the fraud service", "--as", ARCH)
    assert role_queue(ws, "architect") == []
    moved = next(x for x in model_of(ws).mitigations if x.id == m.id)
    assert moved.placement == "fraud-scoring" and moved.placement_kind == "component"


def test_drift_notes_survive_a_second_redraft_and_reconfirm_needs_one(ws):
    edit_arch(ws, "    zone: cde\n    tech: postgresql\n", "    zone: edge\n    tech: postgresql\n")
    record(ws)
    first = ModelStore(ws / "threatmodel.yaml").path.read_bytes()
    saved = write_outputs(draft_file(ws / "architecture.yaml"), ws, who=DEV)
    assert not saved.changed and (ws / "threatmodel.yaml").read_bytes() == first
    out = runner.invoke(app, ["drift", str(ws / "architecture.yaml"), str(ws / "threatmodel.yaml"), "--record"])
    assert out.exit_code == 0 and "no drift" in out.output
    clean = next(t for t in model_of(ws).threats if not t.drift and t.status == "confirmed")
    res = runner.invoke(app, ["threat", "reconfirm", str(ws / "threatmodel.yaml"), clean.id, "--as", ANA])
    assert res.exit_code == 1 and "no drift item" in res.output
    res = runner.invoke(app, ["threat", "retire", str(ws / "threatmodel.yaml"), clean.id, "-r", "x", "--as", RAJ])
    assert res.exit_code == 1 and "is not a security" in res.output


def test_drift_command_reports_without_writing(ws):
    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    before = (ws / "threatmodel.yaml").read_bytes()
    res = runner.invoke(app, ["drift", str(ws / "architecture.yaml"), str(ws / "threatmodel.yaml")])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "Architecture changes (1)" in flat and "To review, most important first" in flat and "(exit" not in flat
    res = runner.invoke(app, ["drift", str(ws / "architecture.yaml"), str(ws / "threatmodel.yaml"), "--format", "md"])
    assert res.stdout.startswith("## ") and "| critical |" in res.stdout
    assert (ws / "threatmodel.yaml").read_bytes() == before


def test_check_markdown_is_a_pull_request_comment(ws):
    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    res = check(ws, "--format", "md")
    assert res.exit_code == 1
    md = res.stdout
    assert md.startswith("## ⚠️ Threatline check: Payment processing endpoint")
    assert "### Changes (1)" in md and "flow checkout-submit: protocol https → http" in md
    assert "`threat reconfirm \\| threat retire`" in md


def test_check_bad_input_exits_2(ws, tmp_path):
    (tmp_path / "broken.yaml").write_text("version: 1\nsystem: {name: x}\ncomponents: [{id: a, type: nope, zone: z}]\n")
    res = runner.invoke(app, ["check", str(tmp_path / "broken.yaml"), str(ws / "threatmodel.yaml")])
    assert res.exit_code == 2 and "Traceback" not in res.output and res.stdout == ""
    res = runner.invoke(app, ["check", str(ws / "architecture.yaml"), str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "not found" in res.output


def test_index_is_kept_fresh_and_a_stale_one_is_ignored(ws):
    store = ModelStore(ws / "threatmodel.yaml")
    path = index_path(store.path)
    assert path.exists()
    head, *lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(head)
    assert data["model_sha256"] == hashlib.sha256(store.path.read_bytes()).hexdigest()
    assert data["header"]["stage"] == "accepted" and data["header"]["published"]
    model = store.load().model
    assert len(lines) == len(model.threats) == data["header"]["threat_count"]
    assert {ln.split("\t", 1)[0] for ln in lines} == {t.target for t in model.threats}
    # A stale or broken index never changes the answer.
    path.write_text('{"model_sha256": "0", "header": {}}\n', encoding="utf-8")
    assert check(ws).exit_code == 0
    path.write_text("not json", encoding="utf-8")
    assert check(ws).exit_code == 0
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["model_sha256"] == data["model_sha256"]
    # A same-size edit within the file system's time-stamp granularity (so with the same
    # size and time stamp as the model the index was just made from) is still noticed.
    import os

    os.utime(store.path)
    assert check(ws).exit_code == 0  # the index is verified by hash and notes the new stat
    st = store.path.stat()
    text = store.path.read_text(encoding="utf-8")
    store.path.write_text(text.replace("system: Payment processing endpoint", "system: Payment processing endpoinT"),
                          encoding="utf-8")
    os.utime(store.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert check_json(ws)["system"] == "Payment processing endpoinT"
    store.path.write_text(text, encoding="utf-8")
    # A read-only directory only costs time.
    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    path.unlink()
    path.parent.chmod(0o555)
    try:
        assert check_json(ws)["status"] == "drift"
    finally:
        path.parent.chmod(0o755)


def test_a_model_without_snapshot_asks_for_a_redraft(ws):
    store = ModelStore(ws / "threatmodel.yaml")
    loaded = store.load()
    model = loaded.model.model_copy(deep=True)
    model.architecture.snapshot = None
    store.commit(loaded, model, [], "tests", utc_now())
    assert "  snapshot:" not in (ws / "threatmodel.yaml").read_text(encoding="utf-8")
    doc = check_json(ws)
    assert doc["status"] == "no-snapshot" and doc["exit_code"] == 1
    assert "re-draft" in doc["reasons"][0]


def test_scan_many_models(ws, published, tmp_path):
    second = tmp_path / "repo" / "svc-b"
    shutil.copytree(published, second)
    edit_arch(second, "    zone: cde\n    tech: postgresql\n", "    zone: edge\n    tech: postgresql\n")
    (tmp_path / "repo" / "node_modules" / "x").mkdir(parents=True)
    shutil.copy(ws / "architecture.yaml", tmp_path / "repo" / "node_modules" / "x" / "architecture.yaml")
    shutil.copy(ws / "threatmodel.yaml", tmp_path / "repo" / "node_modules" / "x" / "threatmodel.yaml")
    listing = tmp_path / "models.txt"
    listing.write_text(f"# weekly scan\n{ws / 'architecture.yaml'} {ws / 'threatmodel.yaml'}\n", encoding="utf-8")

    res = runner.invoke(app, ["scan", str(tmp_path / "repo"), str(listing), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    by_model = {Path(m["model"]).parent.name: m for m in doc["models"]}
    assert set(by_model) == {"svc-b", "ws"}, "node_modules is skipped"
    assert by_model["ws"]["status"] == "current"
    assert by_model["svc-b"]["status"] == "drift" and by_model["svc-b"]["counts"]["high"] > 0
    assert by_model["ws"]["expiring_acceptances"] and all(
        0 <= e["days_left"] <= 30 for e in by_model["ws"]["expiring_acceptances"])
    assert doc["summary"] == {"models": 2, "current": 1, "drift": 1}

    res = runner.invoke(app, ["scan", str(tmp_path / "repo"), str(listing), "--format", "md"])
    assert res.exit_code == 0 and "| Model | Status |" in res.stdout and "| drift |" in res.stdout
    res = runner.invoke(app, ["scan", str(tmp_path / "repo"), "--fail-on-drift"])
    assert res.exit_code == 1
    res = runner.invoke(app, ["scan", str(tmp_path / "nothing-here")])
    assert res.exit_code == 2


@pytest.mark.parametrize("path", [EXAMPLE, *sorted((ROOT / "benchmarks" / "quality" / "cases").glob("*/architecture.yaml"))],
                         ids=lambda p: p.parent.name)
def test_rerun_on_some_elements_gives_exactly_the_full_drafts_threats(path):
    from threatline.drift.affected import Affected
    from threatline.drift.rerun import threats_for

    result = draft_file(path)
    arch = result.arch

    def key(threats):
        return sorted((t.id, t.severity, t.title, tuple(t.current_mitigations), tuple(t.data)) for t in threats)

    everything = Affected(components={c.id: ["c"] for c in arch.components}, flows={f.id: ["c"] for f in arch.flows},
                          zones={z.id: ["c"] for z in arch.zones})
    assert key(threats_for(arch, result.knowledge, everything)) == key(result.model.threats)
    some = Affected(components={arch.components[0].id: ["c"]}, flows={f.id: ["c"] for f in arch.flows[:2]},
                    zones={z.id: ["c"] for z in arch.zones[::2]})
    expected = [t for t in result.model.threats if t.target in some.targets()]
    assert key(threats_for(arch, result.knowledge, some)) == key(expected)


def test_a_rerun_split_over_two_processes_reports_what_one_process_does(ws, monkeypatch):
    """On a large architecture drift diffs, computes the old facts and re-runs half the rules
    in forked children (threatline.parallel); forced on for this small one, every output
    field must equal the one-process run."""
    from threatline import drift_service, parallel

    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    monkeypatch.setenv("THREATLINE_PARALLEL", "0")
    alone = check_json(ws)
    assert alone["items"], alone

    forks = []
    monkeypatch.delenv("THREATLINE_PARALLEL")
    monkeypatch.setattr(drift_service, "FORK_FROM_COST", 0)
    monkeypatch.setattr(drift_service, "FORK_FROM_ELEMENTS", 0)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    real = parallel.can_fork
    monkeypatch.setattr(parallel, "can_fork", lambda: forks.append(real()) or forks[-1])
    assert check_json(ws) == alone
    # The diff, the facts as they were, and the first half of the re-run.
    assert forks == [True] * 3 or not hasattr(os, "fork")


@pytest.mark.parametrize("forked", [False, True])
def test_a_hand_broken_snapshot_line_is_a_clear_error(ws, monkeypatch, forked):
    from threatline import drift_service, parallel

    if forked:  # the diff then runs in a child; its failure must surface the same way
        monkeypatch.setattr(drift_service, "FORK_FROM_ELEMENTS", 0)
        monkeypatch.setattr(parallel, "_cores", lambda: 2)
    path = ws / "threatmodel.yaml"
    text = path.read_text(encoding="utf-8")
    broken = text.replace('{\\"classification\\":\\"restricted\\"', '{\\"classification\\":restricted', 1)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    edit_arch(ws, "    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    res = check(ws)
    assert res.exit_code == 2, res.output
    assert "architecture.snapshot" in res.output and "re-draft the model" in res.output
    assert "Traceback" not in res.output
