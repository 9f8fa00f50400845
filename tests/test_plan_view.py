"""The light model view 'threatline plan' loads, and the planner's exact search on
many groups (answers shared by groups of one shape, pruning)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from test_plan import _problem
from threatline.cli import app
from threatline.engine.mitigations import combine
from threatline.engine.plan import plan
from threatline.engine.scoring import figure, severity
from threatline.formats.plan_output import plan_json, plan_markdown
from threatline.formats.threatmodel_yaml import HEADER, PlanView, load_plan_view, load_threat_model
from threatline.model.diagnostics import InputError
from threatline.model.threatmodel import SEVERITY_ORDER, Cost, RiskFigure
from threatline.service import draft_file, write_outputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def drafted():
    return draft_file(EXAMPLE)


def _json_syntax_model(drafted, path: Path) -> Path:
    """The example written as a large model is: JSON syntax after the comment header."""
    path.write_text(HEADER + drafted.model.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("budget", [None, 3.0, 20.0])
@pytest.mark.parametrize("appetite", ["low", "medium", "high"])
def test_the_light_view_plans_exactly_as_the_full_model(tmp_path, drafted, appetite, budget):
    model_file = _json_syntax_model(drafted, tmp_path / "threatmodel.yaml")
    view = load_plan_view(model_file)
    assert isinstance(view, PlanView)
    full = load_threat_model(model_file)
    from_view = plan(view.threats, view.mitigations, appetite, budget)
    from_full = plan(full.threats, full.mitigations, appetite, budget)
    assert from_view == from_full
    assert plan_json(from_view, view) == plan_json(from_full, full)
    assert plan_markdown(from_view, view) == plan_markdown(from_full, full)


def test_block_yaml_models_are_read_in_full(tmp_path, drafted):
    write_outputs(drafted, tmp_path)
    assert type(load_plan_view(tmp_path / "threatmodel.yaml")).__name__ == "ThreatModel"


def _errors(path: Path) -> list[tuple[object, ...]]:
    with pytest.raises(InputError) as caught:
        load_plan_view(path)
    found = [(d.file, d.line, d.column, d.key, d.message) for d in caught.value.diagnostics]
    with pytest.raises(InputError) as full:
        load_threat_model(path)
    assert found == [(d.file, d.line, d.column, d.key, d.message) for d in full.value.diagnostics]
    return found


def test_a_bad_field_the_plan_reads_gives_the_full_loaders_located_error(tmp_path, drafted):
    model_file = _json_syntax_model(drafted, tmp_path / "threatmodel.yaml")
    doc = json.loads(model_file.read_text(encoding="utf-8").removeprefix(HEADER))
    doc["threats"][2]["current"]["likelihood"] = 9
    model_file.write_text(HEADER + json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    found = _errors(model_file)
    assert found and found[0][1] is not None and found[0][3] == "threats[2].current.likelihood"


def test_broken_json_gives_the_full_loaders_located_error(tmp_path, drafted):
    model_file = _json_syntax_model(drafted, tmp_path / "threatmodel.yaml")
    text = model_file.read_text(encoding="utf-8")
    model_file.write_text(text.replace('"threats": [', '"threats": [[', 1), encoding="utf-8")
    assert _errors(model_file)


def test_plan_cli_on_a_json_syntax_model(tmp_path, drafted):
    model_file = _json_syntax_model(drafted, tmp_path / "threatmodel.yaml")
    res = runner.invoke(app, ["plan", str(model_file), "--format", "json"])
    assert res.exit_code == 0, res.output
    full = load_threat_model(model_file)
    assert res.stdout == plan_json(plan(full.threats, full.mitigations), full)


# ---------------------------------------------------------------- exact search


def _renamed(threats, mitigations, tag: str, dearer: int | None = None, likelier: bool = False):
    """A copy of a problem under other ids: a group of the same shape. Or of the same
    structure with mitigations[dearer] ten times the cost, or with every threat one
    step likelier (the same steps from a higher figure)."""

    def raised(figure: RiskFigure, threat_id: str) -> RiskFigure:
        if not likelier or current[threat_id].likelihood == 5:
            return figure
        return RiskFigure(likelihood=figure.likelihood + 1, impact=figure.impact,
                          severity=severity(figure.likelihood + 1, figure.impact))

    current = {t.id: t.current for t in threats}
    threats = [t.model_copy(update={"id": f"{t.id}{tag}", "current": raised(t.current, t.id)}) for t in threats]
    mitigations = [
        m.model_copy(update={
            "id": f"{m.id}{tag}",
            "threats": [f"{x}{tag}" for x in m.threats],
            "outcomes": [
                o.model_copy(update={"threat": f"{o.threat}{tag}", "after": raised(o.after, o.threat)})
                for o in m.outcomes
            ],
            "cost": Cost(effort_days=(m.cost.effort_days[0] * 10, m.cost.effort_days[1] * 10)) if k == dearer else m.cost,
        })
        for k, m in enumerate(mitigations)
    ]
    return threats, mitigations


@settings(max_examples=30, deadline=None)
@given(seeds=st.lists(st.integers(0, 10_000), min_size=1, max_size=3), copies=st.integers(1, 4),
       appetite=st.sampled_from(["low", "medium", "high"]))
def test_groups_of_one_shape_are_solved_as_each_alone(seeds, copies, appetite):
    threats, mitigations, alone = [], [], set()
    for n, seed in enumerate(seeds):
        base = _problem(seed, n_threats=5, n_mitigations=6)
        for c in range(copies):
            ts, ms = _renamed(*base, tag=f"-{n}-{c}")
            picked = plan(*base, appetite, method="exact").selected
            if c == 1 and picked:  # the same structure, with what the plan picks costing more
                dearer = [m.id for m in base[1]].index(picked[0])
                ts, ms = _renamed(*base, tag=f"-{n}-{c}", dearer=dearer)
            elif c == 2:  # the same structure and costs, from higher figures
                ts, ms = _renamed(*base, tag=f"-{n}-{c}", likelier=True)
            threats += ts
            mitigations += ms
            alone |= set(plan(ts, ms, appetite, method="exact").selected)
    together = plan(threats, mitigations, appetite, method="exact")
    assert set(together.selected) == alone


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), appetite=st.sampled_from(["low", "medium", "high"]))
def test_exact_cover_is_the_cheapest_cover(seed, appetite):
    threats, mitigations = _problem(seed, n_threats=5, n_mitigations=7)
    result = plan(threats, mitigations, appetite, method="exact")
    limit = SEVERITY_ORDER.index(appetite)
    steps = {  # threat id -> mitigation id -> (likelihood steps, impact steps)
        t.id: {m.id: (t.current.likelihood - o.after.likelihood, t.current.impact - o.after.impact)
               for m in mitigations for o in m.outcomes if o.threat == t.id}
        for t in threats
    }
    current = {t.id: t.current for t in threats}

    def meets(threat_id: str, chosen: tuple[str, ...]) -> bool:
        picked = [s for mid, s in steps[threat_id].items() if mid in chosen]
        after = figure(current[threat_id].likelihood - combine(a for a, _ in picked),
                       current[threat_id].impact - combine(b for _, b in picked))
        return SEVERITY_ORDER.index(after.severity) <= limit

    reachable = [t for t in result.above_before if t not in result.left_above]
    costs = {m.id: m.cost.effort_mid for m in mitigations}
    cheapest = min(
        sum(costs[m] for m in subset)
        for size in range(len(costs) + 1)
        for subset in itertools.combinations(costs, size)
        if all(meets(t, subset) for t in reachable)
    )
    assert result.effort_expected == pytest.approx(cheapest)
    assert all(meets(t, tuple(result.selected)) for t in reachable)
