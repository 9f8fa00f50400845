"""The `name` fact of a component and of a flow is lower-cased like the newer name facts
(source.name, target.name, inbound.from_names, outbound.to_names), while templates keep the
name as written, and a rule's equality or substring test on a name matches in any case."""

from __future__ import annotations

from typing import Any

from threatline.engine.conditions import Compiler
from threatline.engine.facts import COMPONENT_FACTS, ArchitectureView
from threatline.formats.knowledge_packs import load_knowledge
from threatline.model.architecture import Architecture


def _doc() -> dict[str, Any]:
    return {
        "version": 1, "system": {"name": "S"},
        "zones": [{"id": "cloud", "name": "Cloud", "trust": "internal"}],
        "components": [
            {"id": "pay", "name": "Payment API", "type": "api", "zone": "cloud"},
            {"id": "Ledger-DB", "type": "database", "zone": "cloud"},
        ],
        "flows": [{"id": "write", "name": "Ledger Writes", "from": "pay", "to": "Ledger-DB",
                   "protocol": "sql", "authentication": "password"}],
    }


def _view() -> ArchitectureView:
    knowledge = load_knowledge()
    return ArchitectureView(Architecture.model_validate(_doc()), knowledge.implied(), knowledge.aliases)


def test_component_and_flow_name_facts_are_lower_cased():
    view = _view()
    pay = view.component("pay")
    assert pay.facts["name"] == "payment api"
    assert pay.variables["component.name"] == "Payment API"
    # unnamed: named by its id, lower-cased as the flow's target.name is
    assert view.component("Ledger-DB").facts["name"] == "ledger-db"
    flow = view.flow(view.flows_by_id["write"])
    assert flow.facts["name"] == "ledger writes"
    assert flow.facts["target.name"] == view.component("Ledger-DB").facts["name"]


def test_name_conditions_match_in_any_case():
    facts = _view().component("pay").facts
    for cond in ({"name": "Payment API"}, {"name": {"eq": "PAYMENT api"}}, {"name": {"in": ["Payment API"]}},
                 {"name": {"contains": "Payment"}}, {"name": {"contains_any": ["PAYMENT"]}}):
        assert Compiler(COMPONENT_FACTS).compile(cond)(facts), cond
    assert not Compiler(COMPONENT_FACTS).compile({"name": {"ne": "payment API"}})(facts)
