"""Drafted mitigations: a catalogue control placed on a concrete element, with its
cost, what it does to each threat it addresses, and the residual risk.

One control on one placement is one mitigation, shared by every threat it
addresses (a WAF at the gateway appears once, listing eight threats). Residual
risk of a threat is its current figure lowered by every proposed mitigation.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    values = sorted((v for v in step_list if v > 0), reverse=True)
    if not values:
        return 0
    return values[0] + (1 if len(values) > 1 else 0)


def lower(figure: RiskFigure, lk_steps: int, im_steps: int) -> RiskFigure:
    return scoring.figure(figure.likelihood - lk_steps, figure.impact - im_steps)


def _label(view: ArchitectureView, ident: str, kind: str) -> str:
    if kind == "component":
        return view.components[ident].label
    if kind == "zone":
        return view.zone_label(ident)
    flow = view.flows_by_id.get(ident)
    return flow.label if flow else ident


def propose_mitigations(
    threats: Iterable[Threat],
    rules: dict[str, Rule],
    knowledge: Knowledge,
    view: ArchitectureView,
    facts_by_key: dict[tuple[str, str], ElementFacts],
) -> list[Mitigation]:
    mitigations: dict[str, Mitigation] = {}
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
            for ab in rule.addressed_by:
                cid = knowledge.aliases.get(ab.control, ab.control)
                if cid in present or (ab.predicate is not None and not ab.predicate(ef.facts)):
                    continue
                control = knowledge.controls.get(cid)
                placement, pkind = placement_of(ab.at, ef, view)
                mid = ids.get((cid, placement))
                if mid is None:
                    mid = ids[(cid, placement)] = stable_id("M", cid, placement)
                m = mitigations.get(mid)
                if m is None:
                    m = _new_mitigation(mid, cid, control, placement, pkind, view)
                    mitigations[mid] = m
                if threat.id in m.threats:
                    continue
                lk, im = steps(control, ab.partial)
                m.threats.append(threat.id)
                before_by_threat[threat.id] = threat.current
                m.outcomes.append(
                    Outcome(threat=threat.id, partial=ab.partial, after=lower(threat.current, lk, im))
                )
                threat.proposed_mitigations.append(mid)
                lk_steps.append(lk)
                im_steps.append(im)
        threat.proposed_effect = scoring.shared_steps(combine(lk_steps), combine(im_steps))
        threat.residual = lower(threat.current, threat.proposed_effect.likelihood, threat.proposed_effect.impact)
    for m in mitigations.values():
        _explain(m, knowledge.controls.get(m.control), before_by_threat)
    return list(mitigations.values())


# One Cost per control in the catalogue, shared (frozen) by all its placements.
_COSTS: dict[tuple[object, ...], Cost] = {}


def _cost(control: Control) -> Cost:
    c = control.cost
    key = (c.effort_days, c.latency, c.latency_note, c.ops, c.ops_note)
    return scoring.shared(_COSTS, key, lambda: Cost(**c.model_dump()))


def _new_mitigation(
    mid: str, cid: str, control: Control | None, placement: str, pkind: str, view: ArchitectureView
) -> Mitigation:
    where = _label(view, placement, pkind)
    return Mitigation(
        id=mid,
        control=cid,
        name=control.name if control else cid,
        placement=placement,
        placement_kind=pkind,  # type: ignore[arg-type]
        placement_name=where,
        cost=_cost(control) if control else None,
        likelihood_steps=control.effect.likelihood if control else 1,
        impact_steps=control.effect.impact if control else 0,
    )


_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}


def _explain(m: Mitigation, control: Control | None, before: dict[str, RiskFigure]) -> None:
    m.threats.sort()
    m.outcomes.sort(key=lambda o: o.threat)
    worst_before = max((before[o.threat].severity for o in m.outcomes), key=_RANK.__getitem__, default="low")
    worst_after = max((o.after.severity for o in m.outcomes), key=_RANK.__getitem__, default="low")
    n = len(m.threats)
    effect = []
    if m.likelihood_steps:
        effect.append(f"likelihood -{m.likelihood_steps}")
    if m.impact_steps:
        effect.append(f"impact -{m.impact_steps}")
    m.rationale = (
        f"{m.name} on {m.placement_name} addresses {n} threat{'s' if n != 1 else ''} "
        f"({', '.join(effect) or 'no direct score effect'}); worst severity {worst_before} -> {worst_after}."
    )
    remaining = [o for o in m.outcomes if _RANK[o.after.severity] >= _RANK["medium"]]
    words = (
        f"{len(remaining)} of {n} addressed threats stay at medium or above with this control alone"
        if remaining
        else "all addressed threats drop to low with this control"
    )
    if control and control.effect.ineffective_when:
        words += "; it does not help when " + "; or when ".join(control.effect.ineffective_when)
    m.residual_risk = words + "."
