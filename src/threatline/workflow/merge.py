"""Re-drafting keeps human decisions: merge a fresh draft into the reviewed model.

Decisions hang on stable ids. A threat the rules still produce keeps its review
(and a tightened text keeps the reviewer's words); a rejected threat stays
rejected; a threat whose rule no longer fires is retired with the reason, never
deleted; a manual threat is kept as it is; new threats arrive as draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from threatline.model.threatmodel import Mitigation, Threat, ThreatModel, share_fields_set

# Drift notes (docs/drift.md) wait for a person's decision like the rest, so they survive a re-draft.
_DECISION_FIELDS = ("status", "review", "reject_reason", "duplicate_of", "history", "acceptance", "escalation", "drift")
_MITIGATION_DECISIONS = ("status", "decision", "feasibility", "feasibility_decision", "implemented_by", "verified_by",
                         "drift")


@dataclass
class MergeReport:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)


def merge(old: ThreatModel, fresh: ThreatModel) -> tuple[ThreatModel, MergeReport]:
    """The merged model shares what it did not change with `old` and `fresh`.

    Nothing is deep-copied (at 10,000 components a deep copy of every threat cost
    more than drafting them): a threat or mitigation that needs a change is a shallow
    copy with that change, so neither input is altered, and the values they share
    are frozen (model/threatmodel.py) or lists nobody edits in place here.
    """
    report = MergeReport()
    old_threats = {t.id: t for t in old.threats}
    merged: list[Threat] = []
    # Threats built here (shallow copies) may be edited below; the others belong to an input.
    own: set[int] = set()
    for t in fresh.threats:
        prior = old_threats.pop(t.id, None)
        if prior is None:
            report.added.append(t.id)
            merged.append(t)
            continue
        decisions = {name: getattr(prior, name) for name in _DECISION_FIELDS}
        if prior.status == "tightened":
            decisions["title"], decisions["description"] = prior.title, prior.description
        if prior.status == "retired":
            # The rule fires again: back to review, with the history of why it had retired.
            decisions["status"] = "draft"
            decisions["retired_reason"] = ""
            report.revived.append(t.id)
        else:
            report.kept.append(t.id)
        updated = share_fields_set(t.model_copy(update=decisions))
        _keep_overrides(prior, updated)
        own.add(id(updated))
        merged.append(updated)
    for prior in old_threats.values():
        if prior.source.startswith("manual:") or prior.status == "retired":
            merged.append(prior)
            continue
        gone = prior.model_copy(update={
            "status": prior.status if prior.status == "rejected" else "retired",
            "retired_reason": (
                f"rule {prior.rule} no longer fires on {prior.target}: the architecture changed"
                if prior.rule else "no longer produced by the draft"
            ),
        })
        own.add(id(gone))
        report.retired.append(prior.id)
        merged.append(gone)

    fresh_mitigations = {m.id: m for m in fresh.mitigations}
    mitigations: list[Mitigation] = []
    for prior in old.mitigations:
        now = fresh_mitigations.pop(prior.id, None)
        if now is None:
            # Keep what a human decided on or proposed; drop untouched machine proposals.
            if prior.status != "proposed" or prior.source.startswith("manual:"):
                mitigations.append(prior)
            continue
        decisions = {name: getattr(prior, name) for name in _MITIGATION_DECISIONS}
        if prior.status == "adjusted":
            decisions["placement"], decisions["placement_name"] = prior.placement, prior.placement_name
        mitigations.append(share_fields_set(now.model_copy(update=decisions)))
    mitigations.extend(fresh_mitigations.values())
    kept_mids = {m.id for m in mitigations}
    for i, t in enumerate(merged):
        prior_ids = [mid for mid in t.proposed_mitigations if mid in kept_mids]
        if len(prior_ids) == len(t.proposed_mitigations):
            continue  # nothing dropped: leave the list (and an input's threat) as it is
        if id(t) in own:
            t.proposed_mitigations = prior_ids
        else:
            merged[i] = t.model_copy(update={"proposed_mitigations": prior_ids})

    result = fresh.model_copy(update={
        "threats": sorted(merged, key=_order),
        "mitigations": sorted(mitigations, key=lambda m: (m.placement, m.control, m.id)),
        "signoffs": list(old.signoffs),
        "published": list(old.published),
        "revision": old.revision,
        "appetite": old.appetite,
    })
    return result, report


def _keep_overrides(prior: Threat, updated: Threat) -> None:
    """Reviewer-set factors survive a re-draft (the rule's own factors are refreshed)."""
    from threatline.engine.scoring import override_factor

    result = updated
    for score in ("likelihood", "impact"):
        for f in getattr(prior, score).factors:
            if f.source.startswith("reviewer:"):
                result = override_factor(result, score, f.name, f.delta, f.reason, f.source)
    if result is not updated:
        for name in ("likelihood", "impact", "inherent", "current", "residual", "severity", "severity_reason"):
            setattr(updated, name, getattr(result, name))


def _order(t: Threat) -> tuple:
    from threatline.engine.draft import CATEGORY_ORDER

    return (t.target_kind != "component", t.target, CATEGORY_ORDER.index(t.category.value), t.rule or "~", t.id)
