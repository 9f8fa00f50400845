"""Sign-off gates refuse content that open drift items say is out of date."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatline.service import draft_file
from threatline.workflow import actions
from threatline.workflow.actions import WorkflowError
from threatline.workflow.team import Member, Team

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
NOW = "2026-11-27T10:00:00+00:00"
ANA, ARCH, RAJ = "ana@example.com", "arch@example.com", "raj@example.com"


@pytest.fixture(scope="module")
def drafted():
    return draft_file(EXAMPLE).model


def team() -> Team:
    return Team(members=[Member(email=ANA, roles=["security"]), Member(email=ARCH, roles=["architect"]),
                         Member(email=RAJ, roles=["risk-owner"], max_accept="critical")])


def confirmed(model):
    for t in model.threats:
        model, _ = actions.confirm(model, team(), ANA, NOW, t.id)
    return model


def test_security_gate_names_threats_with_open_drift_items(drafted):
    model = confirmed(drafted)
    assert actions.gate_problems(model, "security", NOW) == []
    drifted = model.model_copy(deep=True)
    drifted.threats[0].drift = ["flow checkout-submit: encrypted true -> false"]
    problems = actions.gate_problems(drifted, "security", NOW)
    assert any("open drift items" in p and drifted.threats[0].id in p for p in problems)
    with pytest.raises(WorkflowError, match="re-confirm or retire"):
        actions.signoff(drifted, team(), ANA, NOW, "security")
    # Re-confirming resolves the item and opens the gate again.
    resolved, _ = actions.reconfirm(drifted, team(), ANA, NOW, drifted.threats[0].id, "still holds")
    assert actions.gate_problems(resolved, "security", NOW) == []


def test_retired_threats_with_drift_notes_do_not_block(drafted):
    model = confirmed(drafted)
    model.threats[0].drift = ["component gone"]
    retired, _ = actions.retire(model, team(), ANA, NOW, model.threats[0].id, "component removed")
    assert not any("drift" in p for p in actions.gate_problems(retired, "security", NOW))


def test_architecture_gate_names_mitigations_with_open_drift_items(drafted):
    model = drafted.model_copy(deep=True)
    model.mitigations[0].drift = ["placement payment-db is gone"]
    problems = actions.gate_problems(model, "architecture", NOW)
    assert any("mitigation(s) with open drift items" in p and model.mitigations[0].id in p for p in problems)


def test_stakeholder_gate_names_acceptances_on_a_changed_architecture(drafted):
    model = drafted.model_copy(deep=True)
    above = actions.above_appetite(model)
    assert above, "the example has residual risk above the appetite"
    t = above[0][0]
    model, _ = actions.accept_risk(model, team(), RAJ, NOW, t.id, "compensating control", "2026-12-20")
    assert not any("changed architecture" in p for p in actions.gate_problems(model, "stakeholder", NOW))
    accepted = next(x for x in model.threats if x.id == t.id)
    assert accepted.acceptance is not None
    accepted.acceptance.drift = ["zone cde trust restricted -> internal"]
    problems = actions.gate_problems(model, "stakeholder", NOW)
    assert any("changed architecture" in p and t.id in p for p in problems)
