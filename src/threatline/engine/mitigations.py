"""Drafted mitigations: a catalogue control placed on a concrete element, with its
cost, what it does to each threat it addresses, and the residual risk.

One control on one placement is one mitigation, shared by every threat it
addresses (a WAF at the gateway appears once, listing eight threats). Residual
risk of a threat is its current figure lowered by every proposed mitigation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from threatline.engine import scoring
from threatline.engine.facts import ArchitectureView, ElementFacts
from threatline.engine.ids import stable_id
from threatline.engine.knowledge import Control, Knowledge, Rule
from threatline.model.threatmodel import (
    SEVERITY_ORDER,
    Cost,
    Mitigation,
    Outcome,
    RiskFigure,
    Threat,
    share_fields_set,
)


def placement_of(at: str, ef: ElementFacts, view: ArchitectureView) -> tuple[str, str]:
    """Where a control goes for a threat on this element: (element id, kind)."""
    if ef.kind == "flow":
        source, _, target = ef.elements
        if at == "source":
            return source, "component"
        if at == "target":
            return target, "component"
        if at == "zone":
            return view.components[target].zone, "zone"
        return ef.id, "flow"
    if ef.kind == "component" and at == "zone":
        return view.components[ef.id].zone, "zone"
    return ef.id, ef.kind


def steps(control: Control | None, partial: bool) -> tuple[int, int]:
    """Likelihood and impact steps a control removes (a partial one, one step less)."""
    lk = control.effect.likelihood if control else 1
    im = control.effect.impact if control else 0
    if partial:
        lk = max(1, lk - 1) if lk else 0
        im = max(0, im - 1)
    return lk, im


def combine(step_list: Iterable[int]) -> int:
    """Controls on one threat do not simply add up (TLS and mTLS are alternatives):
    the strongest counts in full, and any further control adds one step of depth."""
    strongest, count = 0, 0
    for v in step_list:
        if v > 0:
            count += 1
            strongest = max(strongest, v)
    return strongest + (1 if count > 1 else 0)


def lower(figure: RiskFigure, lk_steps: int, im_steps: int) -> RiskFigure:
    return scoring.figure(figure.likelihood - lk_steps, figure.impact - im_steps)


def _label(view: ArchitectureView, ident: str, kind: str) -> str:
    if kind == "component":
        return view.components[ident].label
    if kind == "zone":
        return view.zone_label(ident)
    flow = view.flows_by_id.get(ident)
    return flow.label if flow else ident


@dataclass
class _Proposal:
    """A mitigation while threats are being gathered for it; the Mitigation is built
    once, complete, at the end (cheaper than growing and editing a pydantic model)."""

    id: str
    control_id: str
    control: Control | None
    placement: str
    placement_kind: str
    outcomes: list[Outcome] = field(default_factory=list)


def propose_mitigations(
    threats: Iterable[Threat],
    rules: dict[str, Rule],
    knowledge: Knowledge,
    view: ArchitectureView,
    facts_by_key: dict[tuple[str, str], ElementFacts],
) -> list[Mitigation]:
    proposals: dict[str, _Proposal] = {}
    before_by_threat: dict[str, RiskFigure] = {}
    # Ids are hashes of (control, placement); many threats share a placement.
    ids: dict[tuple[str, str], str] = {}
    for threat in threats:
        rule = rules[threat.rule or ""]
        lk_steps: list[int] = []
        im_steps: list[int] = []
        # Propose for open threats, and for covered ones still at medium or above.
        if threat.coverage != "mitigated" or threat.current.severity != "low":
            present = set(threat.current_mitigations)
            ef = facts_by_key[(threat.target_kind, threat.target)]
            proposed_here: set[str] = set()  # two listed controls can land on one mitigation
            for ab in rule.addressed_by:
                cid = knowledge.aliases.get(ab.control, ab.control)
                if cid in present or (ab.predicate is not None and not ab.predicate(ef.facts)):
                    continue
                control = knowledge.controls.get(cid)
                placement, pkind = placement_of(ab.at, ef, view)
                mid = ids.get((cid, placement))
                if mid is None:
                    mid = ids[(cid, placement)] = stable_id("M", cid, placement)
                p = proposals.get(mid)
                if p is None:
                    p = proposals[mid] = _Proposal(mid, cid, control, placement, pkind)
                if mid in proposed_here:
                    continue
                proposed_here.add(mid)
                lk, im = steps(control, ab.partial)
                before_by_threat[threat.id] = threat.current
                p.outcomes.append(
                    share_fields_set(Outcome(threat=threat.id, partial=ab.partial, after=lower(threat.current, lk, im)))
                )
                threat.proposed_mitigations.append(mid)
                lk_steps.append(lk)
                im_steps.append(im)
        effect = scoring.shared_steps(combine(lk_steps), combine(im_steps))
        threat.proposed_effect = effect
        threat.residual = lower(threat.current, effect.likelihood, effect.impact)
    return [_mitigation(p, view, before_by_threat) for p in proposals.values()]


# One Cost per control in the catalogue, shared (frozen) by all its placements.
_COSTS: dict[tuple[object, ...], Cost] = {}


def _cost(control: Control) -> Cost:
    c = control.cost
    key = (c.effort_days, c.latency, c.latency_note, c.ops, c.ops_note)
    return scoring.shared(_COSTS, key, lambda: Cost(**c.model_dump()))


_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}


def _mitigation(p: _Proposal, view: ArchitectureView, before: dict[str, RiskFigure]) -> Mitigation:
    control = p.control
    name = control.name if control else p.control_id
    where = _label(view, p.placement, p.placement_kind)
    likelihood_steps = control.effect.likelihood if control else 1
    impact_steps = control.effect.impact if control else 0
    outcomes = sorted(p.outcomes, key=lambda o: o.threat)
    worst_before = max((before[o.threat].severity for o in outcomes), key=_RANK.__getitem__, default="low")
    worst_after = max((o.after.severity for o in outcomes), key=_RANK.__getitem__, default="low")
    n = len(outcomes)
    effect = []
    if likelihood_steps:
        effect.append(f"likelihood -{likelihood_steps}")
    if impact_steps:
        effect.append(f"impact -{impact_steps}")
    rationale = (
        f"{name} on {where} addresses {n} threat{'s' if n != 1 else ''} "
        f"({', '.join(effect) or 'no direct score effect'}); worst severity {worst_before} -> {worst_after}."
    )
    remaining = [o for o in outcomes if _RANK[o.after.severity] >= _RANK["medium"]]
    words = (
        f"{len(remaining)} of {n} addressed threats stay at medium or above with this control alone"
        if remaining
        else "all addressed threats drop to low with this control"
    )
    if control and control.effect.ineffective_when:
        words += "; it does not help when " + "; or when ".join(control.effect.ineffective_when)
    return share_fields_set(Mitigation(
        id=p.id,
        control=p.control_id,
        name=name,
        placement=p.placement,
        placement_kind=p.placement_kind,  # type: ignore[arg-type]
        placement_name=where,
        threats=[o.threat for o in outcomes],
        cost=_cost(control) if control else None,
        likelihood_steps=likelihood_steps,
        impact_steps=impact_steps,
        outcomes=outcomes,
        rationale=rationale,
        residual_risk=words + ".",
    ))
