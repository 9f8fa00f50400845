"""The narrowed re-run scope (drift.rerun.narrowed) is complete: properties on generated
architectures, one to three edits at a time.

- components outside drift.affected's scope keep every fact (what narrowing relies on
  for the far endpoint of a flow);
- a full draft of the edited architecture differs from the original's only on the
  elements of the narrowed scope (and the changed ones);
- the drift items found with the narrowed scope are exactly those found with the whole
  affected scope, for a model drafted from the original.

The generated architectures include chains of pass-through components (CDN, load
balancer, gateway, proxy; some looping back), whose reach.* facts run further than one
hop, and the edits include turning a component into one of them or out of one.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from test_drift import AUTHS, CONTROLS, EDITS, PROPERTY, PROTOCOLS, TYPES, _edit, architectures
from threatline.drift.affected import Weights, affected
from threatline.drift.diff import diff
from threatline.drift.impact import impact, superseders
from threatline.drift.rerun import narrowed, threats_for, view_for
from threatline.drift.snapshot import Snapshot
from threatline.drift.state import ModelInfo
from threatline.engine.draft import draft
from threatline.engine.facts import ArchitectureView
from threatline.model.architecture import Architecture

# Edits of components and flows (the ones narrowing acts on), plus the others, which keep
# the whole scope, mixed in.
NARROWED = ["component-attr", "flow-attr", "add-component", "remove-flow", "add-flow", "remove-component", "retype"]
PASS_THROUGH = ["cdn", "load-balancer", "api-gateway", "reverse-proxy"]


@st.composite
def larger_architectures(draw: Any) -> dict[str, Any]:
    """test_drift's architectures with more components and flows, so that a change has
    neighbours whose facts it can leave alone (what narrowing prunes)."""
    doc = draw(architectures())
    # Zones of a trust level already used: a component moved between them keeps its trust.
    for i in range(draw(st.integers(0, 3))):
        like = draw(st.sampled_from(doc["zones"]))
        doc["zones"].append({"id": f"y{i}", "trust": like["trust"], **({"parent": like["parent"]} if like.get("parent") else {})})
    zones = [z["id"] for z in doc["zones"]]
    data_ids = [d["id"] for d in doc["data"]]
    for i in range(draw(st.integers(0, 5))):
        comp: dict[str, Any] = {"id": f"x{i}", "type": draw(st.sampled_from(TYPES)), "zone": draw(st.sampled_from(zones)),
                                "controls": draw(st.lists(st.sampled_from(CONTROLS), unique=True, max_size=2))}
        if draw(st.booleans()):
            comp["properties"] = {"internet_facing": draw(st.booleans())}
        doc["components"].append(comp)
    ids = [c["id"] for c in doc["components"]]
    for i in range(draw(st.integers(0, 10))):
        a, b = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        if a == b:
            continue
        flow: dict[str, Any] = {"id": f"g{i}", "from": a, "to": b, "protocol": draw(st.sampled_from(PROTOCOLS)),
                                "authentication": draw(st.sampled_from(AUTHS)), "bidirectional": False,
                                "controls": draw(st.lists(st.sampled_from(CONTROLS), unique=True, max_size=2))}
        if data_ids:
            flow["data"] = draw(st.lists(st.sampled_from(data_ids), unique=True, max_size=2))
        doc["flows"].append(flow)
    # Chains of pass-through components (internet -> CDN -> load balancer -> gateway -> services),
    # fed by one component and feeding one or two others, sometimes in a loop.
    plain = list(ids)
    for i in range(draw(st.integers(0, 2))):
        chain = []
        for j in range(draw(st.integers(1, 4))):
            hop: dict[str, Any] = {"id": f"p{i}-{j}", "type": draw(st.sampled_from(PASS_THROUGH)),
                                   "zone": draw(st.sampled_from(zones))}
            if draw(st.booleans()):
                hop["properties"] = {"internet_facing": draw(st.booleans())}
            doc["components"].append(hop)
            chain.append(hop["id"])
        path = [draw(st.sampled_from(plain)), *chain]
        path += draw(st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique=True))
        links = [(path[k], path[k + 1]) for k in range(len(chain) + 1)]
        links += [(chain[-1], t) for t in path[len(chain) + 2:]]
        if len(chain) > 1 and draw(st.booleans()):
            links.append((chain[-1], chain[0]))
        for k, (a, b) in enumerate(links):
            if a != b:
                doc["flows"].append({"id": f"q{i}-{k}", "from": a, "to": b, "protocol": draw(st.sampled_from(PROTOCOLS)),
                                     "authentication": draw(st.sampled_from(AUTHS)), "bidirectional": False})
    return doc


def _edited(doc: dict[str, Any], data: Any) -> dict[str, Any]:
    edited = copy.deepcopy(doc)
    kinds = data.draw(st.lists(st.sampled_from(NARROWED), min_size=1, max_size=3))
    if data.draw(st.booleans()):
        kinds.append(data.draw(st.sampled_from(EDITS)))
    for kind in kinds:
        if kind == "retype":
            # Into or out of a pass-through or client type (test_drift's edits rarely pick one).
            c = data.draw(st.sampled_from(edited["components"]))
            c["type"] = data.draw(st.sampled_from(
                [t for t in [*PASS_THROUGH, "service", "database", "device", "mobile-app"] if t != c["type"]]))
            continue
        # An edit that does not apply to this document after the others is skipped.
        with contextlib.suppress(StopIteration, ValueError, IndexError):
            _edit(edited, kind, data)
    # Unique ids even when an edit ran twice (add-component, add-flow).
    for section in ("components", "flows"):
        seen: dict[str, int] = {}
        for e in edited[section]:
            seen[e["id"]] = seen.get(e["id"], 0) + 1
            if seen[e["id"]] > 1:
                e["id"] = f"{e['id']}-{seen[e['id']]}"
    ids = {c["id"] for c in edited["components"]}
    edited["flows"] = [f for f in edited["flows"] if f["from"] in ids and f["to"] in ids and f["from"] != f["to"]]
    return edited


def _valid(doc: dict[str, Any]) -> Architecture | None:
    try:
        return Architecture.model_validate(copy.deepcopy(doc))
    except ValueError:
        return None


@PROPERTY
@given(larger_architectures(), st.data())
def test_components_outside_the_scope_keep_every_fact(knowledge, doc, data):
    a, b = _valid(doc), _valid(_edited(doc, data))
    if a is None or b is None:
        return
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    scope = affected(changes, b)
    touched = scope.targets() | {c.id for c in changes}
    va = ArchitectureView(a, knowledge.implied(), knowledge.aliases)
    vb = ArchitectureView(b, knowledge.implied(), knowledge.aliases)
    for c in b.components:
        if c.id in touched or c.id not in va.components:
            continue
        fa, fb = va.component(c.id), vb.component(c.id)
        assert (fa.facts, fa.controls, sorted(fa.data)) == (fb.facts, fb.controls, sorted(fb.data)), c.id


@PROPERTY
@given(larger_architectures(), st.data())
def test_threats_outside_the_narrowed_scope_never_change(knowledge, doc, data):
    a, b = _valid(doc), _valid(_edited(doc, data))
    if a is None or b is None:
        return
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    scope = narrowed(affected(changes, b), changes, b, knowledge)
    touched = scope.targets() | {c.id for c in changes} | {c.old_id for c in changes if c.old_id}

    def key(t):
        return (t.severity, t.coverage, tuple(t.current_mitigations), tuple(t.data), tuple(t.elements))

    before = {t.id: key(t) for t in draft(a, knowledge).threats if t.target not in touched}
    after = {t.id: key(t) for t in draft(b, knowledge).threats if t.target not in touched}
    assert before == after


@PROPERTY
@given(larger_architectures(), st.data())
def test_narrowed_scope_finds_the_same_items(knowledge, doc, data):
    a, b = _valid(doc), _valid(_edited(doc, data))
    if a is None or b is None:
        return
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    if not changes:
        return
    model = draft(a, knowledge)
    weights = Weights(b)
    whole = affected(changes, b, weights)
    narrow = narrowed(whole, changes, b, knowledge)
    assert narrow.targets() <= whole.targets()
    stronger = superseders(knowledge.rules)

    def items(scope):
        info = ModelInfo.of(model, content_hash="", stage="draft")
        found = impact(changes, info, threats_for(b, knowledge, scope), scope, weights, stronger)
        return [i.to_dict() for i in found]

    assert items(narrow) == items(whole)


@PROPERTY
@given(larger_architectures(), st.data())
def test_rerun_on_any_part_gives_the_full_drafts_threats(knowledge, doc, data):
    """Facts computed on a view of part of the architecture (drift.rerun) are those of the
    whole: reach.* runs along chains of pass-through components beyond the part."""
    arch = _valid(doc)
    if arch is None:
        return
    from threatline.drift.affected import Affected

    comps = data.draw(st.lists(st.sampled_from([c.id for c in arch.components]), unique=True, max_size=3))
    flows = data.draw(st.lists(st.sampled_from([f.id for f in arch.flows]), unique=True, max_size=3)) if arch.flows else []
    scope = Affected(components={c: ["x"] for c in comps}, flows={f: ["x"] for f in flows})

    def key(threats):
        return sorted((t.id, t.severity, t.coverage, tuple(t.current_mitigations), tuple(t.data)) for t in threats)

    expected = [t for t in draft(arch, knowledge).threats if t.target in scope.targets()]
    assert key(threats_for(arch, knowledge, scope)) == key(expected)
    part, whole = view_for(arch, knowledge, scope), ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    for c in comps:
        assert part.component(c).facts == whole.component(c).facts, c
    for f in flows:
        assert part.flow(part.flows_by_id[f]).facts == whole.flow(whole.flows_by_id[f]).facts, f


@PROPERTY
@given(larger_architectures(), st.data())
def test_a_rerun_split_in_two_gives_the_whole_reruns_threats_in_order(knowledge, doc, data):
    """drift re-runs the first half of a large scope in a second process and joins the
    lists: the first part's threats followed by the second's must be the whole list."""
    arch = _valid(doc)
    if arch is None:
        return
    from threatline.drift.affected import Affected
    from threatline.drift.rerun import split_in_two

    comps = data.draw(st.lists(st.sampled_from([c.id for c in arch.components]), unique=True))
    flows = data.draw(st.lists(st.sampled_from([f.id for f in arch.flows]), unique=True)) if arch.flows else []
    zones = data.draw(st.lists(st.sampled_from([z.id for z in arch.zones]), unique=True))
    scope = Affected(components={c: ["x"] for c in comps}, flows={f: ["y"] for f in flows}, zones={z: ["z"] for z in zones})
    first, second = split_in_two(arch, scope)
    assert first.components.keys() | second.components.keys() == scope.components.keys()
    assert not first.components.keys() & second.components.keys()
    assert first.flows.keys() | second.flows.keys() == scope.flows.keys()
    assert not first.flows.keys() & second.flows.keys()
    assert second.zones == scope.zones and not first.zones
    view = view_for(arch, knowledge, scope)
    whole = [t.model_dump() for t in threats_for(arch, knowledge, scope, view)]
    joined = threats_for(arch, knowledge, first, view) + threats_for(arch, knowledge, second, view)
    assert [t.model_dump() for t in joined] == whole


@PROPERTY
@given(larger_architectures(), st.data())
def test_baseline_matched_per_element_gives_the_indexed_facts(knowledge, doc, data):
    """drift's partial views match baseline selectors per element (few elements are asked
    for); every key and combination must pick exactly what the whole-architecture index picks."""
    from test_drift import TAGS

    arch = _valid(doc)
    if arch is None:
        return
    keys = {
        "zone": st.sampled_from([z.id for z in arch.zones]),
        "type": st.sampled_from(TYPES),
        "component": st.sampled_from([c.id for c in arch.components]),
        "tag": st.sampled_from(TAGS),
    }
    if arch.flows:
        keys["flow"] = st.sampled_from([f.id for f in arch.flows])
    baseline = []
    for _ in range(data.draw(st.integers(1, 5))):
        chosen = data.draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=2))
        baseline.append({"control": data.draw(st.sampled_from(CONTROLS)),
                         "applies_to": {k: data.draw(keys[k]) for k in chosen}})
    doc = {**doc, "baseline": baseline}
    arch = _valid(doc)
    if arch is None:
        return
    indexed = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    per_element = ArchitectureView(arch, knowledge.implied(), knowledge.aliases, baseline_per_element=True)
    for c in arch.components:
        a, b = indexed.component(c.id), per_element.component(c.id)
        assert (a.facts, a.controls) == (b.facts, b.controls), c.id
    for f in arch.flows:
        a, b = indexed.flow(f), per_element.flow(f)
        assert (a.facts, a.controls) == (b.facts, b.controls), f.id
    for z in arch.zones:
        a, b = indexed.zone(z), per_element.zone(z)
        assert (a.facts, a.controls) == (b.facts, b.controls), z.id
