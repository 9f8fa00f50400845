"""Mitigation drafting, the three risk figures, overrides and the planner."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from threatline.cli import app
from threatline.engine.plan import plan
from threatline.engine.scoring import override_factor, severity
from threatline.model.threatmodel import (
    SEVERITY_ORDER,
    Cost,
    Mitigation,
    Outcome,
    RiskFigure,
    Threat,
)
from threatline.service import draft_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()


def rank(s: str) -> int:
    return SEVERITY_ORDER.index(s)


@pytest.fixture(scope="module")
def example():
    return draft_file(EXAMPLE)


def test_every_threat_at_or_above_medium_gets_a_placed_mitigation(example):
    ids = {c.id for c in example.arch.components} | {f.id for f in example.arch.flows} | {z.id for z in example.arch.zones}
    by_id = {m.id: m for m in example.model.mitigations}
    for t in example.model.threats:
        if rank(t.severity) >= rank("medium"):
            assert t.proposed_mitigations, f"{t.id} {t.title} has no proposed mitigation"
        for mid in t.proposed_mitigations:
            m = by_id[mid]
            assert m.placement in ids
            assert t.id in m.threats
            assert m.cost is not None and m.cost.effort_days[0] <= m.cost.effort_days[1]
            assert m.rationale and m.residual_risk


def test_mitigations_are_shared_many_to_many(example):
    keys = [(m.control, m.placement) for m in example.model.mitigations]
    assert len(keys) == len(set(keys))
    assert any(len(m.threats) > 1 for m in example.model.mitigations)


def test_residual_le_current_le_inherent(example):
    for t in example.model.threats:
        assert t.residual is not None
        assert rank(t.residual.severity) <= rank(t.current.severity) <= rank(t.inherent.severity)
        assert t.residual.likelihood <= t.current.likelihood <= t.inherent.likelihood
        assert t.residual.impact <= t.current.impact <= t.inherent.impact


def test_override_changes_severity_and_keeps_reason(example):
    t = next(t for t in example.model.threats if t.likelihood.value >= 3 and t.impact.value >= 4)
    lowered = override_factor(t, "likelihood", "exposure", -4, "only reachable through the bastion", "reviewer:ana")
    assert lowered.likelihood.value < t.likelihood.value
    assert rank(lowered.inherent.severity) < rank(t.inherent.severity)
    factor = next(f for f in lowered.likelihood.factors if f.name == "exposure")
    assert factor.reason == "only reachable through the bastion" and factor.source == "reviewer:ana"
    assert lowered.severity == lowered.current.severity
    assert t.likelihood.value != lowered.likelihood.value  # the original is untouched
    with pytest.raises(ValueError):
        override_factor(t, "likelihood", "exposure", -1, "  ", "reviewer:ana")


def test_override_cli_rewrites_model(tmp_path, example):
    from threatline.service import write_outputs

    write_outputs(example, tmp_path)
    model_file = tmp_path / "threatmodel.yaml"
    t = next(t for t in example.model.threats if t.impact.value >= 3)
    res = runner.invoke(app, ["override", str(model_file), t.id, "impact.data=-2", "-r", "data is test data", "--as", "bo"])
    assert res.exit_code == 0, res.output
    text = model_file.read_text(encoding="utf-8")
    assert "data is test data" in text and "reviewer:bo" in text
    res = runner.invoke(app, ["override", str(model_file), t.id, "impact.data=-2"])
    assert res.exit_code == 2 and "reason" in res.output


# ---------------------------------------------------------------- planner


def _problem(seed: int, n_threats: int, n_mitigations: int) -> tuple[list[Threat], list[Mitigation]]:
    rng = random.Random(seed)
    threats, mitigations = [], []
    for i in range(n_threats):
        lk, im = rng.randint(2, 5), rng.randint(2, 5)
        fig = RiskFigure(likelihood=lk, impact=im, severity=severity(lk, im))
        threats.append(
            Threat.model_construct(
                id=f"T-{i}", current=fig, status="draft", title=f"threat {i}",
            )
        )
    for j in range(n_mitigations):
        lo = rng.choice([0.5, 1, 2, 3, 5])
        m = Mitigation(
            id=f"M-{j}", control=f"c{j}", placement=f"e{j}", placement_kind="component",
            cost=Cost(effort_days=(lo, lo * 2)),
        )
        for t in rng.sample(threats, k=rng.randint(1, min(4, n_threats))):
            dl, di = rng.choice([(1, 0), (2, 0), (3, 0), (0, 1), (1, 1)])
            after = RiskFigure(likelihood=max(1, t.current.likelihood - dl), impact=max(1, t.current.impact - di),
                               severity=severity(t.current.likelihood - dl, t.current.impact - di))
            m.outcomes.append(Outcome(threat=t.id, after=after))
            m.threats.append(t.id)
        mitigations.append(m)
    return threats, mitigations


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), appetite=st.sampled_from(["low", "medium", "high"]))
def test_exact_and_greedy_cover_agree_on_small_models(seed, appetite):
    threats, mitigations = _problem(seed, n_threats=6, n_mitigations=8)
    exact = plan(threats, mitigations, appetite, method="exact")
    greedy = plan(threats, mitigations, appetite, method="greedy")
    # Both leave above the appetite only what no combination can bring down.
    assert set(exact.left_above) == set(greedy.left_above)
    for why in exact.left_above.values():
        assert "only reaches" in why or "no catalogue control" in why
    # Exact is optimal, greedy is never cheaper, and stays within the set-cover bound.
    assert exact.effort_expected <= greedy.effort_expected + 1e-9
    assert greedy.effort_expected <= exact.effort_expected * 2.5 + 1e-9


def test_exact_and_greedy_agree_on_the_example(example):
    exact = plan(example.model.threats, example.model.mitigations, "medium", method="exact")
    greedy = plan(example.model.threats, example.model.mitigations, "medium", method="greedy")
    assert exact.left_above.keys() == greedy.left_above.keys()
    assert exact.effort_expected == pytest.approx(greedy.effort_expected)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), budget=st.floats(0, 20), method=st.sampled_from(["exact", "greedy"]))
def test_plan_never_exceeds_the_budget(seed, budget, method):
    threats, mitigations = _problem(seed, n_threats=8, n_mitigations=10)
    p = plan(threats, mitigations, "low", budget_days=budget, method=method)
    by_id = {m.id: m for m in mitigations}
    assert sum(by_id[m].cost.effort_mid for m in p.selected) <= budget + 1e-9
    assert p.risk_removed >= 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), budget=st.floats(0, 15))
def test_exact_budget_removes_at_least_as_much_as_greedy(seed, budget):
    threats, mitigations = _problem(seed, n_threats=6, n_mitigations=8)
    exact = plan(threats, mitigations, "low", budget_days=budget, method="exact")
    greedy = plan(threats, mitigations, "low", budget_days=budget, method="greedy")
    assert exact.risk_removed >= greedy.risk_removed


def test_plan_cli_outputs(tmp_path, example):
    from threatline.service import write_outputs

    write_outputs(example, tmp_path)
    model_file = tmp_path / "threatmodel.yaml"
    res = runner.invoke(app, ["plan", str(model_file), "--appetite", "medium", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["appetite"] == "medium"
    assert doc["threats_above_appetite_after"] <= doc["threats_above_appetite_before"]
    res = runner.invoke(app, ["plan", str(model_file), "--budget", "2d", "--format", "json"])
    doc = json.loads(res.stdout)
    assert doc["effort_days"]["expected"] <= 2
    res = runner.invoke(app, ["plan", str(model_file), "--budget", "lots"])
    assert res.exit_code == 2 and "budget" in res.output
    res = runner.invoke(app, ["plan", str(model_file), "--appetite", "tiny"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["plan", str(model_file), "-f", "markdown", "-o", str(tmp_path / "plan.md")])
    assert res.exit_code == 0 and (tmp_path / "plan.md").read_text(encoding="utf-8").startswith("# Mitigation plan")
