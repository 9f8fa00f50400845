"""Review decisions, enforced here and nowhere else.

Every function takes the model, the team, who acts and when, checks role and
state, and returns a new model plus the event to journal. Nothing here reads a
clock or a file: `now` is passed in, so the rules are testable to the second.

The rules, in short: humans decide (a rule or an AI only proposes); security
engineers review threats and approve mitigations, architects judge feasibility,
risk owners accept residual risk within their band and for a bounded time;
nobody approves what they proposed; a verifier is not the implementer; a stage's
sign-off binds to the content it saw and is void once that content changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from threatline.engine import scoring
from threatline.engine.ids import stable_id
from threatline.engine.mitigations import combine
from threatline.model.architecture import StrideCategory
from threatline.model.threatmodel import (
    SEVERITY_ORDER,
    STAGES,
    Acceptance,
    Decision,
    Factor,
    Mitigation,
    Revision,
    RiskFigure,
    Score,
    Signoff,
    Threat,
    ThreatModel,
)
from threatline.workflow.team import Member, Team

REJECT_REASONS = ("false-positive", "mitigated-elsewhere", "not-applicable", "duplicate-of")
APPROVED = ("approved", "adjusted", "planned", "implemented", "verified")
CLOSED = ("rejected", "retired")


class WorkflowError(Exception):
    """A decision the rules refuse; the message says why and what to do."""


@dataclass
class Event:
    action: str
    target: str
    role: str
    before: Any = None
    after: Any = None
    reason: str = ""


@dataclass
class Actor:
    email: str
    member: Member


def identify(team: Team, email: str, role: str) -> Actor:
    member = team.member(email)
    if member is None:
        known = ", ".join(m.email for m in team.members) or "nobody yet"
        raise WorkflowError(
            f"unknown identity '{email}': add it to [[team.members]] in threatline.toml (known: {known})"
        )
    if role not in member.roles:
        raise WorkflowError(
            f"{email} is not a {role} (their roles: {', '.join(member.roles)}); ask a {role} to do this"
        )
    return Actor(email, member)


def _copy(model: ThreatModel) -> ThreatModel:
    return model.model_copy(deep=True)


def _threat(model: ThreatModel, threat_id: str) -> Threat:
    for t in model.threats:
        if t.id == threat_id:
            return t
    raise WorkflowError(f"no threat '{threat_id}' in this model")


def _mitigation(model: ThreatModel, mid: str) -> Mitigation:
    for m in model.mitigations:
        if m.id == mid:
            return m
    raise WorkflowError(f"no mitigation '{mid}' in this model")


def _decision(actor: Actor, role: str, now: str, reason: str = "") -> Decision:
    return Decision(by=actor.email, role=role, at=now, reason=reason)


def _need(reason: str, what: str) -> str:
    if not reason or not reason.strip():
        raise WorkflowError(f"{what} needs a reason (--reason)")
    return reason.strip()


# ---------------------------------------------------------------- threats


def _reviewable(t: Threat) -> None:
    if t.status == "rejected":
        raise WorkflowError(f"{t.id} was rejected ({t.reject_reason}); a rejected threat is not reopened")
    if t.status == "retired":
        raise WorkflowError(f"{t.id} is retired ({t.retired_reason})")


def confirm(model: ThreatModel, team: Team, who: str, now: str, threat_id: str, reason: str = "") -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    if t.status != "draft":
        raise WorkflowError(f"{t.id} is already {t.status}")
    t.status = "confirmed"
    t.review = _decision(actor, "security", now, reason)
    return new, Event("threat.confirm", t.id, "security", "draft", "confirmed", reason)


def tighten(
    model: ThreatModel, team: Team, who: str, now: str, threat_id: str,
    title: str | None, description: str | None, reason: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    reason = _need(reason, "tightening a threat")
    if not title and not description:
        raise WorkflowError("tighten needs a new --title or --description")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    before = {"title": t.title, "description": t.description, "status": t.status}
    t.history.append(Revision(title=t.title, description=t.description, by=actor.email, at=now))
    t.title = title or t.title
    t.description = description or t.description
    t.status = "tightened"
    t.review = _decision(actor, "security", now, reason)
    return new, Event("threat.tighten", t.id, "security", before,
                      {"title": t.title, "description": t.description, "status": t.status}, reason)


def reject(
    model: ThreatModel, team: Team, who: str, now: str, threat_id: str, why: str, note: str = "",
    duplicate_of: str | None = None,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    if why not in REJECT_REASONS:
        raise WorkflowError(f"reject reason must be one of: {', '.join(REJECT_REASONS)}")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    if why == "duplicate-of":
        if not duplicate_of:
            raise WorkflowError("duplicate-of needs --duplicate-of THREAT")
        if duplicate_of == t.id:
            raise WorkflowError("a threat cannot be a duplicate of itself")
        _threat(new, duplicate_of)
    before = t.status
    t.status = "rejected"
    t.reject_reason = why  # type: ignore[assignment]
    t.duplicate_of = duplicate_of
    t.review = _decision(actor, "security", now, note)
    return new, Event("threat.reject", t.id, "security", before, {"status": "rejected", "reason": why,
                                                                      "duplicate_of": duplicate_of}, note)


def add_threat(
    model: ThreatModel, team: Team, who: str, now: str, *, role: str, target: str, target_kind: str,
    category: str, title: str, description: str, likelihood: int, impact: int, reason: str,
) -> tuple[ThreatModel, Event]:
    if role not in ("security", "architect"):
        raise WorkflowError("threats are added by a security engineer or an architect")
    actor = identify(team, who, role)
    reason = _need(reason, "adding a threat")
    if category not in {c.value for c in StrideCategory}:
        raise WorkflowError(f"category must be one of: {', '.join(c.value for c in StrideCategory)}")
    if not (1 <= likelihood <= 5 and 1 <= impact <= 5):
        raise WorkflowError("likelihood and impact are 1 to 5")
    new = _copy(model)
    tid = stable_id("T", "manual", target, category, title)
    if any(t.id == tid for t in new.threats):
        raise WorkflowError(f"this threat already exists as {tid}")
    source = f"manual:{actor.email}"
    lk = Score(value=likelihood, base=likelihood, factors=[Factor(name="reviewer", delta=0, reason=reason, source=source)])
    im = Score(value=impact, base=impact, factors=[Factor(name="reviewer", delta=0, reason=reason, source=source)])
    fig = scoring.figure(likelihood, impact)
    t = Threat(
        id=tid, target=target, target_kind=target_kind,  # type: ignore[arg-type]
        category=StrideCategory(category), title=title, description=description,
        severity=fig.severity, status="confirmed", source=source, elements=[target],
        likelihood=lk, impact=im, inherent=fig, current=fig, residual=fig,
        severity_reason=f"set by {actor.email}: likelihood {likelihood} x impact {impact} -> {fig.severity}",
        review=_decision(actor, role, now, reason),
    )
    new.threats.append(t)
    return new, Event("threat.add", tid, role, None, {"title": title, "category": category, "target": target,
                                                       "severity": fig.severity}, reason)


def set_severity(
    model: ThreatModel, team: Team, who: str, now: str, threat_id: str, likelihood: int | None,
    impact: int | None, reason: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    reason = _need(reason, "changing a severity")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    before = t.severity
    updated = t
    for score, value in (("likelihood", likelihood), ("impact", impact)):
        if value is None:
            continue
        current = getattr(updated, score).value
        existing = next((f.delta for f in getattr(updated, score).factors if f.name == "reviewer"), 0)
        updated = scoring.override_factor(updated, score, "reviewer", existing + value - current, reason,
                                          f"reviewer:{actor.email}")
    if updated is t:
        raise WorkflowError("give --likelihood and/or --impact")
    updated.review = _decision(actor, "security", now, reason)
    new.threats[new.threats.index(t)] = updated
    return new, Event("threat.severity", t.id, "security", before, updated.severity, reason)


# ---------------------------------------------------------------- mitigations


def _proposer(m: Mitigation) -> str | None:
    return m.source.split(":", 1)[1] if m.source.startswith("manual:") else None


def approve(model: ThreatModel, team: Team, who: str, now: str, mid: str, reason: str = "") -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    new = _copy(model)
    m = _mitigation(new, mid)
    if _proposer(m) == actor.email:
        raise WorkflowError(f"{actor.email} proposed {mid}; nobody approves what they proposed")
    if m.status not in ("proposed", "rejected"):
        raise WorkflowError(f"{mid} is already {m.status}")
    before = m.status
    m.status = "approved"
    m.decision = _decision(actor, "security", now, reason)
    return new, Event("mitigation.approve", mid, "security", before, "approved", reason)


def reject_mitigation(model: ThreatModel, team: Team, who: str, now: str, mid: str, reason: str) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    reason = _need(reason, "rejecting a mitigation")
    new = _copy(model)
    m = _mitigation(new, mid)
    if m.status not in ("proposed", "approved", "adjusted"):
        raise WorkflowError(f"{mid} is {m.status}; it can no longer be rejected")
    before = m.status
    m.status = "rejected"
    m.decision = _decision(actor, "security", now, reason)
    return new, Event("mitigation.reject", mid, "security", before, "rejected", reason)


def adjust(
    model: ThreatModel, team: Team, who: str, now: str, mid: str, placement: str | None, reason: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "security")
    reason = _need(reason, "adjusting a mitigation")
    new = _copy(model)
    m = _mitigation(new, mid)
    if _proposer(m) == actor.email:
        raise WorkflowError(f"{actor.email} proposed {mid}; nobody approves what they proposed")
    if m.status not in ("proposed", "approved"):
        raise WorkflowError(f"{mid} is {m.status}; only proposed or approved mitigations are adjusted")
    before = {"status": m.status, "placement": m.placement}
    if placement:
        m.placement = placement
        m.placement_name = placement
    m.status = "adjusted"
    m.decision = _decision(actor, "security", now, reason)
    return new, Event("mitigation.adjust", mid, "security", before, {"status": m.status, "placement": m.placement}, reason)


def propose_mitigation(
    model: ThreatModel, team: Team, who: str, now: str, *, role: str, control: str, name: str,
    placement: str, placement_kind: str, threats: list[str], effort_days: tuple[float, float] | None, reason: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, role)
    reason = _need(reason, "proposing a mitigation")
    new = _copy(model)
    for tid in threats:
        _threat(new, tid)
    mid = stable_id("M", control, placement)
    if any(m.id == mid for m in new.mitigations):
        raise WorkflowError(f"{control} on {placement} already exists as {mid}")
    from threatline.model.threatmodel import Cost

    m = Mitigation(
        id=mid, control=control, name=name or control, placement=placement,
        placement_kind=placement_kind, placement_name=placement,  # type: ignore[arg-type]
        threats=sorted(threats), source=f"manual:{actor.email}",
        cost=Cost(effort_days=effort_days) if effort_days else None,
        rationale=reason,
    )
    new.mitigations.append(m)
    for t in new.threats:
        if t.id in threats:
            t.proposed_mitigations.append(mid)
    return new, Event("mitigation.propose", mid, role, None, {"control": control, "placement": placement,
                                                                "threats": sorted(threats)}, reason)


def feasibility(
    model: ThreatModel, team: Team, who: str, now: str, mid: str, verdict: str, note: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "architect")
    if verdict not in ("feasible", "changed"):
        raise WorkflowError("feasibility is 'feasible' or 'changed'")
    if verdict == "changed":
        note = _need(note, "marking a mitigation changed")
    new = _copy(model)
    m = _mitigation(new, mid)
    if m.status not in APPROVED:
        raise WorkflowError(f"{mid} is {m.status}; architects judge approved mitigations")
    before = m.feasibility
    m.feasibility = verdict  # type: ignore[assignment]
    m.feasibility_decision = _decision(actor, "architect", now, note)
    return new, Event("mitigation.feasibility", mid, "architect", before, verdict, note)


_LIFECYCLE = {"planned": ("approved", "adjusted"), "implemented": ("planned",), "verified": ("implemented",)}


def progress(
    model: ThreatModel, team: Team, who: str, now: str, mid: str, state: str, reason: str = "",
) -> tuple[ThreatModel, Event]:
    if state not in _LIFECYCLE:
        raise WorkflowError("state is planned, implemented or verified")
    role = {"planned": "architect", "implemented": "author", "verified": "security"}[state]
    actor = identify(team, who, role)
    new = _copy(model)
    m = _mitigation(new, mid)
    if m.status not in _LIFECYCLE[state]:
        raise WorkflowError(f"{mid} is {m.status}; '{state}' follows {' or '.join(_LIFECYCLE[state])}")
    if state == "verified" and m.implemented_by == actor.email:
        raise WorkflowError(f"{actor.email} implemented {mid}; someone else must verify it")
    before = m.status
    m.status = state  # type: ignore[assignment]
    if state == "implemented":
        m.implemented_by = actor.email
    if state == "verified":
        m.verified_by = actor.email
    return new, Event(f"mitigation.{state}", mid, role, before, state, reason)


# ---------------------------------------------------------------- risk


def residual_with_approved(model: ThreatModel, t: Threat) -> RiskFigure:
    """Residual risk counting only the mitigations a security engineer approved."""
    approved = {m.id: m for m in model.mitigations if m.status in APPROVED}
    lk_steps, im_steps = [], []
    for mid in t.proposed_mitigations:
        m = approved.get(mid)
        if m is None:
            continue
        outcome = next((o for o in m.outcomes if o.threat == t.id), None)
        if outcome is not None:
            lk_steps.append(t.current.likelihood - outcome.after.likelihood)
            im_steps.append(t.current.impact - outcome.after.impact)
        else:
            lk_steps.append(m.likelihood_steps)
            im_steps.append(m.impact_steps)
    return scoring.figure(t.current.likelihood - combine(lk_steps), t.current.impact - combine(im_steps))


def above_appetite(model: ThreatModel) -> list[tuple[Threat, RiskFigure]]:
    out = []
    for t in model.threats:
        if t.status in CLOSED:
            continue
        fig = residual_with_approved(model, t)
        if SEVERITY_ORDER.index(fig.severity) > SEVERITY_ORDER.index(model.appetite):
            out.append((t, fig))
    return out


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    days_in = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(day.day, days_in[month - 1]))


def today_of(now: str) -> date:
    return datetime.fromisoformat(now.replace("Z", "+00:00")).date()


def acceptance_valid(t: Threat, now: str) -> bool:
    return t.acceptance is not None and date.fromisoformat(t.acceptance.expires) >= today_of(now)


def accept_risk(
    model: ThreatModel, team: Team, who: str, now: str, threat_id: str, justification: str, expires: str,
) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "risk-owner")
    justification = _need(justification, "accepting a risk")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    fig = residual_with_approved(new, t)
    if not team.may_accept(actor.member, fig.severity):
        raise WorkflowError(
            f"{actor.email} may accept up to {actor.member.max_accept or 'medium'}; {t.id} is {fig.severity}: escalate it"
        )
    try:
        until = date.fromisoformat(expires)
    except ValueError:
        raise WorkflowError(f"expiry '{expires}' is not a date like 2027-03-31") from None
    today = today_of(now)
    limit = _add_months(today, team.acceptance_months[fig.severity])
    if until > limit:
        raise WorkflowError(
            f"a {fig.severity} risk may be accepted for {team.acceptance_months[fig.severity]} month(s): expiry {until} is after {limit}"
        )
    if until < today:
        raise WorkflowError(f"expiry {until} is in the past")
    before = t.acceptance.model_dump() if t.acceptance else None
    t.acceptance = Acceptance(by=actor.email, at=now, severity=fig.severity, justification=justification, expires=until.isoformat())
    t.escalation = None
    return new, Event("risk.accept", t.id, "risk-owner", before, t.acceptance.model_dump(), justification)


def escalate(model: ThreatModel, team: Team, who: str, now: str, threat_id: str, reason: str) -> tuple[ThreatModel, Event]:
    actor = identify(team, who, "risk-owner")
    reason = _need(reason, "escalating a risk")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    t.escalation = _decision(actor, "risk-owner", now, reason)
    return new, Event("risk.escalate", t.id, "risk-owner", None, "escalated", reason)


# ---------------------------------------------------------------- sign-offs

STAGE_ROLE = {"security": "security", "architecture": "architect", "stakeholder": "risk-owner"}


_NOT_CONTENT = {"signoffs", "published", "revision"}
# What each stage's sign-off does not bind: the decisions of later stages.
_LATER_THAN_ARCHITECTURE = {
    "threats": {"__all__": {"acceptance", "escalation"}},
    "mitigations": {"__all__": {"implemented_by", "verified_by"}},
}
_LATER_THAN_SECURITY = {
    "threats": {"__all__": {"acceptance", "escalation"}},
    "mitigations": {"__all__": {"implemented_by", "verified_by", "feasibility", "feasibility_decision"}},
}


def _exclusions(stage: str) -> dict[str, Any]:
    excluded: dict[str, Any] = dict.fromkeys(_NOT_CONTENT, True)
    if stage == "security":
        excluded |= _LATER_THAN_SECURITY
    elif stage == "architecture":
        excluded |= _LATER_THAN_ARCHITECTURE
    return excluded


def stage_view(model: ThreatModel, stage: str) -> dict[str, Any]:
    """What a stage's sign-off binds to: its own decisions and every earlier stage's."""
    return model.model_dump(mode="json", exclude=_exclusions(stage))


def stage_hash(model: ThreatModel, stage: str) -> str:
    # pydantic serialises in Rust and in a fixed field order: deterministic and fast.
    # The serializer's UTF-8 bytes are what model_dump_json decodes to text (and the
    # hash used to encode back): hashed as they come, the same value without two
    # copies of a document of hundreds of megabytes at 10,000 components.
    return hashlib.sha256(model.__pydantic_serializer__.to_json(model, exclude=_exclusions(stage))).hexdigest()


def valid_signoffs(model: ThreatModel) -> dict[str, Signoff]:
    """The latest sign-off of each stage, if it still matches the content it bound to,
    and every earlier stage is validly signed too."""
    valid: dict[str, Signoff] = {}
    for stage in STAGES:
        latest = next((s for s in reversed(model.signoffs) if s.stage == stage), None)
        if latest is None or latest.content_hash != stage_hash(model, stage):
            break
        valid[stage] = latest
    return valid


def gate_problems(model: ThreatModel, stage: str, now: str) -> list[str]:
    problems: list[str] = []
    valid = valid_signoffs(model)
    index = STAGES.index(stage)
    for earlier in STAGES[:index]:
        if earlier not in valid:
            problems.append(f"the {earlier} stage is not signed off on the current content")
    # Open drift items mean the content being signed was written for an architecture that
    # has since changed: each stage's signer resolves its own first (docs/drift.md).
    if stage == "security":
        waiting = [t.id for t in model.threats if t.status == "draft"]
        if waiting:
            problems.append(f"{len(waiting)} threat(s) still in draft: {', '.join(waiting[:5])}")
        drifted = [t.id for t in model.threats if t.drift and t.status not in CLOSED]
        if drifted:
            problems.append(f"{len(drifted)} threat(s) with open drift items, to re-confirm or retire: "
                            f"{', '.join(drifted[:5])}")
    elif stage == "architecture":
        drifted = [m.id for m in model.mitigations if m.drift and m.status not in CLOSED]
        if drifted:
            problems.append(f"{len(drifted)} mitigation(s) with open drift items, to re-confirm: "
                            f"{', '.join(drifted[:5])}")
        for m in model.mitigations:
            if m.status not in APPROVED:
                continue
            if not m.placement:
                problems.append(f"{m.id} has no placement")
            if m.cost is None:
                problems.append(f"{m.id} has no cost estimate")
            if m.feasibility is None:
                problems.append(f"{m.id} has no feasibility verdict from an architect")
    else:
        stale = [t.id for t in model.threats if t.acceptance is not None and t.acceptance.drift and t.status not in CLOSED]
        if stale:
            problems.append(f"{len(stale)} risk acceptance(s) rest on a changed architecture, to renew: "
                            f"{', '.join(stale[:5])}")
        for t, fig in above_appetite(model):
            if not acceptance_valid(t, now) and t.escalation is None:
                state = "expired" if t.acceptance else "not accepted or escalated"
                problems.append(f"{t.id} residual {fig.severity} is above appetite {model.appetite}: {state}")
    return problems


def signoff(model: ThreatModel, team: Team, who: str, now: str, stage: str, note: str = "") -> tuple[ThreatModel, Event]:
    if stage not in STAGES:
        raise WorkflowError(f"stage is one of: {', '.join(STAGES)}")
    role = STAGE_ROLE[stage]
    actor = identify(team, who, role)
    problems = gate_problems(model, stage, now)
    if problems:
        raise WorkflowError(f"cannot sign off {stage}: " + "; ".join(problems))
    new = _copy(model)
    s = Signoff(stage=stage, by=actor.email, at=now, content_hash=stage_hash(new, stage))  # type: ignore[arg-type]
    new.signoffs.append(s)
    return new, Event(f"signoff.{stage}", stage, role, None, s.content_hash, note)


def model_status(model: ThreatModel, now: str, published_hash: str | None = None) -> str:
    valid = valid_signoffs(model)
    if "stakeholder" in valid:
        return "published" if published_hash is not None and published_hash == stage_hash(model, "stakeholder") else "accepted"
    if "architecture" in valid:
        return "architecture-reviewed"
    if "security" in valid:
        return "security-reviewed"
    return "draft"


def void_signoffs(model: ThreatModel) -> list[str]:
    """Stages signed at some point whose sign-off no longer matches the content."""
    valid = valid_signoffs(model)
    return [s for s in STAGES if any(x.stage == s for x in model.signoffs) and s not in valid]


# ---------------------------------------------------------------- architecture drift (docs/drift.md)


def reconfirm(model: ThreatModel, team: Team, who: str, now: str, threat_id: str, reason: str = "") -> tuple[ThreatModel, Event]:
    """Security: the threat stands as written after the architecture change; its drift notes
    are resolved. A drafted threat is confirmed at the same time."""
    actor = identify(team, who, "security")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    if not t.drift:
        raise WorkflowError(f"{t.id} has no drift item to re-confirm; use 'threat confirm' for a drafted threat")
    before = {"status": t.status, "drift": list(t.drift)}
    if t.status == "draft":
        t.status = "confirmed"
    t.drift = []
    t.review = _decision(actor, "security", now, reason or "re-confirmed after an architecture change")
    return new, Event("threat.reconfirm", t.id, "security", before, {"status": t.status, "drift": []}, reason)


def retire(model: ThreatModel, team: Team, who: str, now: str, threat_id: str, reason: str) -> tuple[ThreatModel, Event]:
    """Security: the threat no longer applies to the architecture (it changed); kept, retired."""
    actor = identify(team, who, "security")
    reason = _need(reason, "retiring a threat")
    new = _copy(model)
    t = _threat(new, threat_id)
    _reviewable(t)
    before = {"status": t.status, "drift": list(t.drift)}
    t.status = "retired"
    t.retired_reason = f"retired by {actor.email}: {reason}"
    t.drift = []
    t.review = _decision(actor, "security", now, reason)
    return new, Event("threat.retire", t.id, "security", before, {"status": "retired", "drift": []}, reason)


def reconfirm_mitigation(
    model: ThreatModel, team: Team, who: str, now: str, mid: str, placement: str | None, reason: str,
) -> tuple[ThreatModel, Event]:
    """Architect: after an architecture change, the mitigation stays where it is or moves to
    `placement` (an element of the current architecture); its drift notes are resolved."""
    actor = identify(team, who, "architect")
    reason = _need(reason, "re-confirming a mitigation's placement")
    new = _copy(model)
    m = _mitigation(new, mid)
    if not m.drift:
        raise WorkflowError(f"{mid} has no drift item to re-confirm")
    if m.status == "rejected":
        raise WorkflowError(f"{mid} is rejected; nothing to place")
    before = {"placement": m.placement, "drift": list(m.drift)}
    if placement:
        kind = _element_kind(new, placement)
        if kind is None:
            raise WorkflowError(f"'{placement}' is not a component, flow or zone of the architecture the model was "
                                "drafted from")
        m.placement, m.placement_name, m.placement_kind = placement, placement, kind  # type: ignore[assignment]
    m.drift = []
    m.feasibility_decision = _decision(actor, "architect", now, reason)
    return new, Event("mitigation.reconfirm", mid, "architect", before, {"placement": m.placement, "drift": []}, reason)


def _element_kind(model: ThreatModel, ident: str) -> str | None:
    from threatline.drift.snapshot import stored_snapshot

    try:
        snap = stored_snapshot(model.architecture.snapshot)
    except ValueError:
        snap = None
    if snap is None:
        known = {t.target: t.target_kind for t in model.threats}
        return known.get(ident)
    kind = snap.kind_of(ident)
    return kind if kind in ("component", "flow", "zone") else None
