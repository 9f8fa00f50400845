"""The mitigation plan as JSON and Markdown (the terminal view lives in the CLI)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from threatline.engine.plan import Figure, Plan
from threatline.formats.json_text import pretty_json
from threatline.formats.markdown import environment
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import SEVERITY_ORDER


# What the plan's output reads of a model: a ThreatModel, or the light view
# 'threatline plan' loads (formats.threatmodel_yaml.PlanView).
class _Threat(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def current(self) -> Figure: ...


class _Cost(Protocol):
    @property
    def effort_days(self) -> tuple[float, float]: ...
    @property
    def latency(self) -> str: ...
    @property
    def latency_note(self) -> str: ...
    @property
    def ops(self) -> str: ...
    @property
    def ops_note(self) -> str: ...


class _Mitigation(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def control(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def placement(self) -> str: ...
    @property
    def placement_kind(self) -> str: ...
    @property
    def placement_name(self) -> str: ...
    @property
    def threats(self) -> Sequence[str]: ...
    @property
    def cost(self) -> _Cost | None: ...


class PlannedModel(Protocol):
    @property
    def threats(self) -> Sequence[_Threat]: ...
    @property
    def mitigations(self) -> Sequence[_Mitigation]: ...

_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|w|weeks?|pd)?\s*$", re.IGNORECASE)


def parse_budget(text: str) -> float:
    """'30d', '30', '6w' (five working days a week) -> person-days."""
    m = _BUDGET.match(text)
    if not m:
        raise InputError([Diagnostic(file="--budget", message=f"cannot read budget '{text}'",
                                     hint="write person-days like 30d, or weeks like 6w")])
    value = float(m.group(1))
    unit = (m.group(2) or "d").lower()
    return value * 5 if unit.startswith("w") else value


def plan_summary(plan: Plan, model: PlannedModel) -> dict[str, Any]:
    # Look up only what the plan names: a large model has ten times as many others.
    selected = set(plan.selected)
    mitigations = {m.id: m for m in model.mitigations if m.id in selected}
    named = set(plan.above_before)
    threats = {t.id: t for t in model.threats if t.id in named}
    chosen = [mitigations[mid] for mid in plan.selected]
    figure_after = plan.after
    latency: dict[str, list[str]] = {}
    ops = Counter()
    ops_notes: list[str] = []
    for m in chosen:
        if m.cost and m.cost.latency != "none":
            where = m.placement_name or m.placement
            prefix = "" if m.placement_kind == "flow" else "every request through "
            latency.setdefault(prefix + where, []).append(f"{m.control}: {m.cost.latency}" + (f" ({m.cost.latency_note})" if m.cost.latency_note else ""))
        if m.cost:
            ops[m.cost.ops] += 1
            if m.cost.ops != "none" and m.cost.ops_note:
                ops_notes.append(f"{m.control} on {m.placement_name or m.placement}: {m.cost.ops_note}")
    before = Counter(threats[t].current.severity for t in plan.above_before)
    after = Counter(plan.after[t].severity for t in plan.above_before)
    return {
        "appetite": plan.appetite,
        "budget_days": plan.budget_days,
        "method": plan.method,
        "effort_days": {"low": plan.effort_days[0], "high": plan.effort_days[1], "expected": plan.effort_expected},
        "risk_removed": plan.risk_removed,
        "threats_above_appetite_before": len(plan.above_before),
        "threats_above_appetite_after": len(plan.left_above),
        "severity_before": {s: before.get(s, 0) for s in reversed(SEVERITY_ORDER)},
        "severity_after": {s: after.get(s, 0) for s in reversed(SEVERITY_ORDER)},
        "mitigations": [
            {
                "id": m.id, "control": m.control, "name": m.name, "placement": m.placement,
                "placement_kind": m.placement_kind,
                "effort_days": list(m.cost.effort_days) if m.cost else None,
                "latency": m.cost.latency if m.cost else None,
                "ops": m.cost.ops if m.cost else None,
                "threats": [t for t in m.threats if t in figure_after],
            }
            for m in chosen
        ],
        "latency_added": latency,
        "ops_burden": {k: ops.get(k, 0) for k in ("high", "medium", "low", "none")},
        "ops_notes": ops_notes,
        "left_above_appetite": [
            {"threat": tid, "title": threats[tid].title, "severity": plan.after[tid].severity, "why": why}
            for tid, why in sorted(plan.left_above.items())
        ],
    }


def plan_json(plan: Plan, model: PlannedModel) -> str:
    return pretty_json(plan_summary(plan, model))


def plan_markdown(plan: Plan, model: PlannedModel) -> str:
    return environment().get_template("plan.md.j2").render(p=plan_summary(plan, model), heading="#")
