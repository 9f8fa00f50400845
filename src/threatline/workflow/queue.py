"""What waits for whom: the review queue, most severe and oldest first."""

from __future__ import annotations

from dataclasses import dataclass

from threatline.model.threatmodel import SEVERITY_ORDER, ThreatModel
from threatline.workflow.actions import (
    APPROVED,
    above_appetite,
    acceptance_valid,
    gate_problems,
    valid_signoffs,
)


@dataclass
class QueueItem:
    role: str
    kind: str  # threat-review | mitigation-approval | feasibility | risk-acceptance | drift | signoff | verify
    target: str
    severity: str
    title: str
    since: str = ""
    detail: str = ""


def queue(model: ThreatModel, now: str, role: str | None = None) -> list[QueueItem]:
    items: list[QueueItem] = []
    for t in model.threats:
        if t.status == "draft":
            items.append(QueueItem("security", "threat-review", t.id, t.severity, t.title,
                                   detail="confirm, tighten or reject"))
        for note in t.drift:
            if t.status not in ("rejected", "retired"):
                items.append(QueueItem("security", "drift", t.id, t.severity, t.title, detail=note))
        if t.acceptance is not None and t.status not in ("rejected", "retired"):
            # The architecture an acceptance rested on changed: the risk owner accepts again or escalates.
            for note in t.acceptance.drift:
                items.append(QueueItem("risk-owner", "drift", t.id, t.severity, t.title, detail=note))
    for m in model.mitigations:
        worst = _worst(model, m.threats)
        if m.status == "proposed" and any(
            t.id in m.threats and t.status not in ("rejected", "retired") and SEVERITY_ORDER.index(t.severity) >= 1
            for t in model.threats
        ):
            items.append(QueueItem("security", "mitigation-approval", m.id, worst,
                                   f"{m.name} on {m.placement_name or m.placement}", detail="approve, adjust or reject"))
        if m.status in APPROVED and m.feasibility is None:
            items.append(QueueItem("architect", "feasibility", m.id, worst,
                                   f"{m.name} on {m.placement_name or m.placement}", detail="feasible or changed"))
        if m.status != "rejected":
            # e.g. the element an approved mitigation is placed on was removed: the architect re-places it.
            for note in m.drift:
                items.append(QueueItem("architect", "drift", m.id, worst, f"{m.name} on {m.placement_name or m.placement}",
                                       detail=note))
        if m.status == "implemented":
            items.append(QueueItem("security", "verify", m.id, worst, f"{m.name} on {m.placement_name or m.placement}",
                                   detail=f"implemented by {m.implemented_by}; verify"))
    for t, fig in above_appetite(model):
        if acceptance_valid(t, now) or t.escalation is not None:
            continue
        detail = f"residual {fig.severity} above appetite {model.appetite}"
        if t.acceptance is not None:
            detail += f"; acceptance by {t.acceptance.by} expired {t.acceptance.expires}"
        items.append(QueueItem("risk-owner", "risk-acceptance", t.id, fig.severity, t.title,
                               since=t.acceptance.expires if t.acceptance else "", detail=detail))
    valid = valid_signoffs(model)
    for stage, who in (("security", "security"), ("architecture", "architect"), ("stakeholder", "risk-owner")):
        if stage not in valid and not gate_problems(model, stage, now):
            items.append(QueueItem(who, "signoff", stage, "low", f"sign off the {stage} stage"))
            break
    items.sort(key=lambda i: (-SEVERITY_ORDER.index(i.severity), i.since or "~", i.kind, i.target))
    if role is not None:
        items = [i for i in items if i.role == role]
    return items


def _worst(model: ThreatModel, threat_ids: list[str]) -> str:
    sev = [t.severity for t in model.threats if t.id in threat_ids and t.status not in ("rejected", "retired")]
    return max(sev, key=SEVERITY_ORDER.index, default="low")
