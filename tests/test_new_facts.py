"""One-hop facts added for the rule packs: the flow `encrypted` fact with mutual TLS,
inbound.device.authentication, reach.first_hop and the flow's local_use; and that drift's partial re-runs still
give a full draft's threats when an edit moves them."""

from __future__ import annotations

from typing import Any

import pytest

from rerun_checks import assert_partial_rerun_equals_full_draft, set_by_id
from threatline.drift.snapshot import flow_attrs, flow_json
from threatline.engine.draft import draft
from threatline.engine.facts import ArchitectureView
from threatline.model.architecture import Architecture


def _doc() -> dict[str, Any]:
    return {
        "version": 1, "system": {"name": "S"},
        "data": [{"id": "telemetry", "classification": "confidential"}],
        "zones": [{"id": "internet", "trust": "untrusted"}, {"id": "partners", "trust": "partner"},
                  {"id": "field", "trust": "untrusted"}, {"id": "app", "trust": "internal"}],
        "components": [
            {"id": "sensor", "type": "device", "zone": "field"},
            {"id": "ci", "type": "ci-cd", "zone": "app"},
            {"id": "user", "type": "browser", "zone": "internet"},
            {"id": "crm", "type": "external-service", "zone": "partners"},
            {"id": "scraper", "type": "service", "zone": "internet"},
            {"id": "ingest", "type": "api", "zone": "app"},
            {"id": "portal", "type": "web-app", "zone": "app"},
            {"id": "billing", "type": "service", "zone": "app"},
            {"id": "hook", "type": "service", "zone": "app"},
            {"id": "scrape-sink", "type": "service", "zone": "app"},
            {"id": "db", "type": "database", "zone": "app"},
        ],
        "flows": [
            {"id": "sensor-up", "from": "sensor", "to": "ingest", "protocol": "mqtt", "authentication": "mtls",
             "data": ["telemetry"]},
            {"id": "ci-up", "from": "ci", "to": "ingest", "protocol": "https", "authentication": "api-key"},
            {"id": "login", "from": "user", "to": "portal", "protocol": "https", "authentication": "session"},
            {"id": "portal-billing", "from": "portal", "to": "billing", "protocol": "grpc", "authentication": "mtls",
             "data": ["telemetry"]},
            {"id": "crm-hook", "from": "crm", "to": "hook", "protocol": "https", "authentication": "api-key"},
            {"id": "scrape", "from": "scraper", "to": "scrape-sink", "protocol": "https", "authentication": "none"},
            {"id": "ingest-db", "from": "ingest", "to": "db", "protocol": "sql", "authentication": "password",
             "data": ["telemetry"]},
        ],
    }


def _view(arch: Architecture, knowledge: Any) -> ArchitectureView:
    return ArchitectureView(arch, knowledge.implied(), knowledge.aliases)


# ---------------------------------------------------------------- encrypted with mutual TLS

def test_mutual_tls_makes_the_encrypted_fact_true_but_not_the_model_or_snapshot(knowledge):
    arch = Architecture.model_validate(_doc())
    view = _view(arch, knowledge)
    grpc = view.flows_by_id["portal-billing"]
    mqtt = view.flows_by_id["sensor-up"]
    # The facts rules and scoring read: encrypted, and TLS is in effect.
    for f in (grpc, mqtt):
        facts = view.flow(f).facts
        assert facts["encrypted"] is True
        assert "tls" in facts["controls"] and "mtls" in facts["controls"]
    assert view.component("billing").facts["inbound.unencrypted"] is False
    assert view.component("portal").facts["outbound.unencrypted"] is False
    # What the model and the drift snapshot say is the declared or protocol-derived value.
    assert grpc.is_encrypted is False and mqtt.is_encrypted is False
    assert flow_attrs(grpc)["encrypted"] is False
    assert '"encrypted":false' in flow_json(grpc)
    # An explicit encrypted flag and plain protocols are unchanged.
    plain = view.flow(view.flows_by_id["ingest-db"]).facts
    assert plain["encrypted"] is False and "tls" not in plain["controls"]


def test_no_plaintext_threat_on_a_mutual_tls_flow(knowledge):
    model = draft(Architecture.model_validate(_doc()), knowledge)
    on_grpc = {t.source for t in model.threats if t.target == "portal-billing"}
    for rule in ("FLOW-INFO-CLEARTEXT-BOUNDARY", "FLOW-INFO-GRPC-PLAINTEXT", "FLOW-TAMPER-MITM"):
        assert f"rule:{rule}" not in on_grpc


# ---------------------------------------------------------------- inbound.device.authentication

def test_device_authentication_reads_only_flows_from_devices(knowledge):
    facts = _view(Architecture.model_validate(_doc()), knowledge).component("ingest").facts
    assert facts["inbound.authentication"] == ["api-key", "mtls"]
    assert facts["inbound.device.authentication"] == ["mtls"]
    assert _view(Architecture.model_validate(_doc()), knowledge).component("portal").facts[
        "inbound.device.authentication"] == []


def test_a_ci_upload_with_an_api_key_is_not_a_device_secret(knowledge):
    doc = _doc()
    model = draft(Architecture.model_validate(doc), knowledge)
    assert not [t for t in model.threats if t.target == "ingest" and t.source == "rule:IOT-SHARED-DEVICE-SECRET"]
    # the devices themselves presenting a static key: the threat is drafted
    for f in doc["flows"]:
        if f["id"] == "sensor-up":
            f["authentication"] = "api-key"
    model = draft(Architecture.model_validate(doc), knowledge)
    assert [t for t in model.threats if t.target == "ingest" and t.source == "rule:IOT-SHARED-DEVICE-SECRET"]


# ---------------------------------------------------------------- reach.first_hop

def test_first_hop(knowledge):
    view = _view(Architecture.model_validate(_doc()), knowledge)
    first = {c: view.component(c).facts["reach.first_hop"] for c in view.components}
    assert first["ingest"] is True          # a device calls it
    assert first["portal"] is True          # a browser calls it
    assert first["scrape-sink"] is True     # a component in an untrusted zone calls it
    assert first["hook"] is False           # a partner's system: not untrusted, not a client
    assert first["billing"] is False        # only an internal web app calls it
    assert first["db"] is False
    assert first["user"] is False           # no callers
    flow = view.flow(view.flows_by_id["portal-billing"]).facts
    assert flow["source.reach.first_hop"] is True and flow["target.reach.first_hop"] is False


# ---------------------------------------------------------------- local_use

def test_local_use_is_a_person_at_their_client_or_a_device_in_front_of_them(knowledge):
    doc = _doc()
    doc["components"] += [{"id": "shopper", "type": "actor", "zone": "internet"},
                          {"id": "kiosk", "type": "device", "zone": "internet"}]
    doc["flows"] += [
        {"id": "tap", "from": "shopper", "to": "kiosk", "protocol": "other", "authentication": "none"},
        {"id": "kiosk-admin", "from": "shopper", "to": "kiosk", "protocol": "http", "authentication": "password"},
        {"id": "browse", "from": "shopper", "to": "user", "protocol": "other", "authentication": "none"},
    ]
    view = _view(Architecture.model_validate(doc), knowledge)
    local = {f: view.flow(view.flows_by_id[f]).facts["local_use"] for f in ("tap", "kiosk-admin", "browse", "login")}
    assert local == {"tap": True, "kiosk-admin": False, "browse": True, "login": False}
    model = draft(Architecture.model_validate(doc), knowledge)
    assert not [t for t in model.threats if t.target in ("tap", "browse")]


# ---------------------------------------------------------------- drift stays exact

EDITS = [
    ("retype a caller to a device", lambda d: set_by_id(d["components"], "ci", type="device")),
    ("retype a device to a service", lambda d: set_by_id(d["components"], "sensor", type="service")),
    ("move a partner into the internet", lambda d: set_by_id(d["components"], "crm", zone="internet")),
    ("lower a zone's trust", lambda d: set_by_id(d["zones"], "partners", trust="untrusted")),
    ("drop mutual TLS", lambda d: set_by_id(d["flows"], "portal-billing", authentication="jwt")),
    ("device presents a key", lambda d: set_by_id(d["flows"], "sensor-up", authentication="api-key")),
    ("add a browser caller", lambda d: d["flows"].append(
        {"id": "user-billing", "from": "user", "to": "billing", "protocol": "https", "authentication": "jwt"})),
]


@pytest.mark.parametrize("edit", [e for _, e in EDITS], ids=[name for name, _ in EDITS])
def test_partial_rerun_after_an_edit_equals_a_full_draft(knowledge, edit):
    assert_partial_rerun_equals_full_draft(knowledge, _doc(), edit)
