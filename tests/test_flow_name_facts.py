"""One-hop name facts: a flow's source.name / target.name / source.description /
target.description (lower-cased), and a component's inbound.from_names (the lower-cased ids
and names of its callers); the rules that read them; and that drift's partial re-runs
still give a full draft's threats when an edit moves them."""

from __future__ import annotations

from typing import Any

import pytest

from rerun_checks import assert_partial_rerun_equals_full_draft, set_by_id
from threatline.engine.draft import draft
from threatline.engine.facts import COMPONENT_FACTS, FLOW_FACTS, ArchitectureView
from threatline.model.architecture import Architecture


def _doc() -> dict[str, Any]:
    return {
        "version": 1, "system": {"name": "S"},
        "data": [{"id": "enrol-key", "name": "Fleet enrolment key", "classification": "restricted",
                  "tags": ["credentials"]},
                 {"id": "features", "name": "Customer features", "classification": "confidential"},
                 {"id": "pages", "name": "Help centre HTML pages", "classification": "public"}],
        "zones": [{"id": "field", "trust": "untrusted"}, {"id": "cloud", "trust": "internal"},
                  {"id": "edge", "trust": "partner"}],
        "components": [
            {"id": "doorbell", "name": "Doorbell", "type": "device", "zone": "field"},
            {"id": "dps", "name": "Device Provisioning Service", "type": "service", "zone": "cloud",
             "description": "Hands out per-device certificates"},
            {"id": "fleet", "type": "api", "zone": "cloud", "description": "ONBOARDS new hubs"},
            {"id": "hub", "name": "Sensor hub", "type": "device", "zone": "field"},
            {"id": "trainer", "name": "Nightly Training Job", "type": "worker", "zone": "cloud"},
            {"id": "shop-api", "name": "Shop API", "type": "api", "zone": "cloud"},
            {"id": "warehouse", "name": "Warehouse", "type": "database", "zone": "cloud", "stores": ["features"]},
            {"id": "edge-cache", "name": "Cloudflare edge", "type": "external-service", "zone": "edge"},
            {"id": "help", "name": "Help bucket", "type": "object-store", "zone": "cloud", "stores": ["pages"]},
        ],
        "flows": [
            {"id": "first-contact", "from": "doorbell", "to": "dps", "protocol": "https",
             "authentication": "api-key", "data": ["enrol-key"]},
            {"id": "hello", "from": "hub", "to": "fleet", "protocol": "https", "authentication": "password",
             "data": ["enrol-key"]},
            {"id": "train-read", "from": "trainer", "to": "warehouse", "protocol": "https",
             "authentication": "oauth2", "data": ["features"]},
            {"id": "shop-read", "from": "shop-api", "to": "warehouse", "protocol": "sql",
             "authentication": "password", "data": ["features"]},
            {"id": "edge-pull", "from": "edge-cache", "to": "help", "protocol": "https",
             "authentication": "api-key", "data": ["pages"]},
        ],
    }


def _view(doc: dict[str, Any], knowledge: Any) -> ArchitectureView:
    return ArchitectureView(Architecture.model_validate(doc), knowledge.implied(), knowledge.aliases)


def _rules_on(doc: dict[str, Any], knowledge: Any, target: str) -> set[str]:
    return {t.source[len("rule:"):] for t in draft(Architecture.model_validate(doc), knowledge).threats
            if t.target == target}


def test_the_facts_are_declared():
    for key in ("source.name", "target.name", "source.description", "target.description"):
        assert FLOW_FACTS[key].kind == "str"
    assert COMPONENT_FACTS["inbound.from_names"].kind == "list"


def test_flow_endpoint_names_and_descriptions_lower_cased(knowledge):
    view = _view(_doc(), knowledge)
    facts = view.flow(view.flows_by_id["first-contact"]).facts
    assert facts["source.name"] == "doorbell"
    assert facts["target.name"] == "device provisioning service"
    assert facts["target.description"] == "hands out per-device certificates"
    assert facts["source.description"] == ""
    # an unnamed component is named by its id, as everywhere else
    hello = view.flow(view.flows_by_id["hello"]).facts
    assert hello["target.name"] == "fleet" and hello["target.description"] == "onboards new hubs"


def test_inbound_from_names_lists_callers_ids_and_names(knowledge):
    view = _view(_doc(), knowledge)
    assert view.component("warehouse").facts["inbound.from_names"] == [
        "nightly training job", "shop api", "shop-api", "trainer"]
    assert view.component("help").facts["inbound.from_names"] == ["cloudflare edge", "edge-cache"]
    assert view.component("doorbell").facts["inbound.from_names"] == []


def test_enrolment_endpoint_recognised_by_its_name_or_description(knowledge):
    doc = _doc()
    # drafted once, on the endpoint, whatever the endpoint's id and the flow are called
    assert "IOT-SHARED-DEVICE-SECRET" in _rules_on(doc, knowledge, "dps")
    assert "IOT-SHARED-DEVICE-SECRET" in _rules_on(doc, knowledge, "fleet")
    for flow in ("first-contact", "hello"):
        assert not {"FLOW-SPOOF-DEVICE", "FLOW-SPOOF-SHARED-SECRET"} & _rules_on(doc, knowledge, flow)
    # an endpoint that does not enrol devices: the flow is the devices' own spoofing threat
    for c in doc["components"]:
        if c["id"] == "dps":
            c["name"], c["description"] = "Doorbell events API", "Receives rings and motion events"
    # (the group-key rule replaces the generic one where the flow carries a fleet enrolment key)
    assert {"FLOW-SPOOF-DEVICE", "DEVICE-GROUP-KEY-SPOOFING"} & _rules_on(doc, knowledge, "first-contact")


def test_store_rules_read_who_calls_them(knowledge):
    doc = _doc()
    # a training job reads the warehouse's features: poisoning is drafted on it
    assert "ML-TRAINING-DATA-POISONING" in _rules_on(doc, knowledge, "warehouse")
    # an edge cache named as such serves the HTML pages: script tampering on the bucket
    assert "STATIC-ASSET-TAMPER" in _rules_on(doc, knowledge, "help")
    # the same data read only by a shop API: neither threat
    doc["flows"] = [f for f in doc["flows"] if f["id"] != "train-read"]
    set_by_id(doc["flows"], "edge-pull", **{"from": "shop-api"})
    assert "ML-TRAINING-DATA-POISONING" not in _rules_on(doc, knowledge, "warehouse")
    assert "STATIC-ASSET-TAMPER" not in _rules_on(doc, knowledge, "help")


# ---------------------------------------------------------------- drift stays exact

EDITS = [
    ("drop the trainer's flow", lambda d: d.__setitem__("flows", [f for f in d["flows"] if f["id"] != "train-read"])),
    ("reroute the trainer's flow", lambda d: set_by_id(d["flows"], "train-read", **{"from": "shop-api"})),
    ("retarget an enrolment flow", lambda d: set_by_id(d["flows"], "first-contact", to="fleet")),
    ("a new caller of the bucket", lambda d: d["flows"].append(
        {"id": "trainer-help", "from": "trainer", "to": "help", "protocol": "https", "authentication": "oauth2"})),
    ("retype the edge", lambda d: set_by_id(d["components"], "edge-cache", type="cdn")),
]


@pytest.mark.parametrize("edit", [e for _, e in EDITS], ids=[name for name, _ in EDITS])
def test_partial_rerun_after_an_edit_equals_a_full_draft(knowledge, edit):
    assert_partial_rerun_equals_full_draft(knowledge, _doc(), edit)
