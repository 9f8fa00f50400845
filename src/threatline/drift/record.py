"""Drift notes: what a re-draft of a changed architecture leaves for people to decide.

`threatline draft` (and `threatline drift --record`) merge a fresh draft into the
reviewed model (workflow.merge); `annotate` then compares the snapshot the model was
drafted from with the new one and writes each impact item as a note on what it is
about: a threat (security re-confirms or retires it), a risk acceptance (the risk
owner accepts again) or a mitigation (the architect re-confirms its placement). A
probable rename carries the decisions of the renamed element's threats and approved
mitigations over to their new ids, with a note asking to re-confirm them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from threatline.drift.affected import Weights, affected
from threatline.drift.diff import RENAMED, Change, diff
from threatline.drift.impact import (
    ACCEPTANCE_BASIS,
    MITIGATION_LOST,
    PLACEMENT_GONE,
    RE_REVIEW,
    RETIRE,
    ImpactItem,
    impact,
)
from threatline.drift.snapshot import stored_snapshot
from threatline.drift.state import ModelInfo
from threatline.model.architecture import Architecture
from threatline.model.threatmodel import Mitigation, Threat, ThreatModel


@dataclass
class RecordReport:
    changes: list[Change] = field(default_factory=list)
    items: list[ImpactItem] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)  # item kind -> notes written

    def summary(self) -> dict[str, int]:
        return {"changes": len(self.changes), **{f"drift.{k}": n for k, n in sorted(self.notes.items())}}


def _note(notes: list[str], text: str) -> bool:
    if text in notes:
        return False
    notes.append(text)
    return True


def annotate(
    prior: ThreatModel, fresh: ThreatModel, merged: ThreatModel, arch: Architecture,
    superseded_by: dict[str, set[str]] | None = None,
) -> tuple[ThreatModel, RecordReport]:
    """Attach drift notes to `merged` (the result of merge(prior, fresh)) for what changed
    between the architecture `prior` was drafted from and `arch`, which `fresh` drafted."""
    report = RecordReport()
    try:
        old = stored_snapshot(prior.architecture.snapshot)
        new = stored_snapshot(fresh.architecture.snapshot)
    except ValueError:
        return merged, report  # an unreadable old snapshot: the re-draft replaces it
    if old is None or new is None:
        return merged, report
    changes = diff(old, new)
    if not changes:
        return merged, report
    weights = Weights(arch)
    scope = affected(changes, arch, weights)
    targets = scope.targets()
    info = ModelInfo.of(prior, content_hash="", stage="")
    items = impact(changes, info, [t for t in fresh.threats if t.target in targets], scope, weights, superseded_by)
    report.changes, report.items = changes, items

    # Copy on write: only the threats and mitigations a note lands on are copied (with the
    # lists and acceptance a note is added to); `merged`, and the fresh draft whose objects
    # it shares, stay as they were. A deep copy of the whole model was most of the cost of
    # a re-draft after an architecture change.
    result = merged.model_copy()
    threats = {t.id: t for t in result.threats}
    mitigations = {m.id: m for m in result.mitigations}
    copied: set[str] = set()

    def own_threat(tid: str) -> Threat:
        if tid not in copied:
            t = threats[tid]
            acceptance = t.acceptance.model_copy(update={"drift": list(t.acceptance.drift)}) if t.acceptance else None
            threats[tid] = t.model_copy(update={"drift": list(t.drift), "acceptance": acceptance})
            copied.add(tid)
        return threats[tid]

    def own_mitigation(mid: str) -> Mitigation:
        if mid not in copied:
            m = mitigations[mid]
            mitigations[mid] = m.model_copy(update={"drift": list(m.drift)})
            copied.add(mid)
        return mitigations[mid]

    renamed = {c.old_id: c for c in changes if c.kind == RENAMED and c.old_id}
    prior_threats = {t.id: t for t in prior.threats}
    for item in items:
        if item.kind == PLACEMENT_GONE:
            if item.target not in mitigations:
                continue
            m = own_mitigation(item.target)
            twin = _mitigation_twin(m, renamed, mitigations)
            if twin is not None:
                twin = own_mitigation(twin.id)
                _carry_mitigation(threats, own_threat, m, twin, mitigations)
                m = twin
            if _note(m.drift, item.note):
                report.notes[item.kind] += 1
            continue
        if item.target not in threats:
            continue
        t = own_threat(item.target)
        if item.kind == ACCEPTANCE_BASIS:
            if t.acceptance is not None and _note(t.acceptance.drift, item.note):
                report.notes[item.kind] += 1
            continue
        heir = own_threat(item.continues_as) if item.continues_as and item.continues_as in threats else None
        if heir is not None:
            if t.target in renamed:
                _carry_threat(prior_threats.get(t.id, t), t, heir)
            else:
                _superseded(t, heir)
            t = heir
        if item.kind == RETIRE and t.status == "retired":
            continue  # the merge already retired it, with the reason
        live = t.status not in ("rejected", "retired")
        if item.kind in (RE_REVIEW, MITIGATION_LOST, RETIRE) and live and _note(t.drift, item.note):
            report.notes[item.kind] += 1
    result.threats = list(threats.values())
    result.mitigations = [mitigations[m.id] for m in result.mitigations if m.id in mitigations]
    return result, report


def _superseded(old: Threat, heir: Threat) -> None:
    """A more specific rule now reports the threat: the old one retires, the notes go to the heir."""
    for note in old.drift:
        _note(heir.drift, note)
    if old.status not in ("rejected", "retired"):
        old.status = "retired"
    old.retired_reason = f"superseded by {heir.id} (rule {heir.rule}) after the architecture changed"
    old.drift = []


def _carry_threat(prior: Threat, old: Threat, twin: Threat) -> None:
    """A renamed element's threat continues under its new id with the decisions made on it."""
    from threatline.workflow.merge import _DECISION_FIELDS, _keep_overrides

    if twin.status == "draft" and prior.status != "draft":
        for name in _DECISION_FIELDS:
            if name != "drift":
                setattr(twin, name, getattr(prior, name))
        if prior.status == "tightened":
            twin.title, twin.description = prior.title, prior.description
        _keep_overrides(prior, twin)
        for note in prior.drift:
            _note(twin.drift, note)
    if old.status not in ("rejected", "retired"):
        old.status = "retired"
    old.retired_reason = f"{old.target} was renamed: the threat continues as {twin.id}"
    old.drift = []


def _mitigation_twin(m: Mitigation, renamed: dict[str, Change], mitigations: dict[str, Mitigation]) -> Mitigation | None:
    ch = renamed.get(m.placement)
    if ch is None:
        return None
    return next((x for x in mitigations.values()
                 if x.placement == ch.id and x.control == m.control and x.id != m.id and x.status == "proposed"), None)


def _carry_mitigation(
    threats: dict[str, Threat], own_threat: Callable[[str], Threat], old: Mitigation, twin: Mitigation,
    mitigations: dict[str, Mitigation],
) -> None:
    """`old` and `twin` are the caller's own copies; threats are copied before they change."""
    from threatline.workflow.merge import _MITIGATION_DECISIONS

    for name in _MITIGATION_DECISIONS:
        setattr(twin, name, getattr(old, name))
    if twin.cost is None:
        twin.cost = old.cost
    for note in old.drift:
        _note(twin.drift, note)
    mitigations.pop(old.id, None)
    for tid in [tid for tid, t in threats.items() if old.id in t.proposed_mitigations]:
        t = own_threat(tid)
        t.proposed_mitigations = list(dict.fromkeys(twin.id if x == old.id else x for x in t.proposed_mitigations))
