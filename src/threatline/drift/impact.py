"""What a change of the architecture means for the reviewed model, ranked, with who decides.

Each structural change is mapped to the items it touches:

- re-review: a live threat whose target changed, or whose severity or data changed
  because of a change nearby (security);
- retire: a threat whose target is gone or whose rule no longer fires (security);
- new-threat: a threat the engine gives the changed elements that the model lacks (security);
- mitigation-lost: a control the model counts as a current mitigation that is no
  longer in effect, e.g. TLS removed from a flow (security);
- placement-gone: an approved mitigation placed on an element that was removed or
  renamed (architect);
- acceptance-basis: a risk acceptance on a threat whose elements changed or whose
  severity rose (risk owner).

Rank = severity weight x kind weight x change weight (drift.affected.Weights), so a new
crossing from an untrusted zone into restricted data outranks a new internal flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from threatline.drift.affected import Affected, Weights
from threatline.drift.diff import REMOVED, RENAMED, Change
from threatline.drift.state import APPROVED, ModelInfo, ThreatInfo
from threatline.model.threatmodel import SEVERITY_ORDER, Threat

RE_REVIEW, RETIRE, NEW_THREAT = "re-review", "retire", "new-threat"
MITIGATION_LOST, PLACEMENT_GONE, ACCEPTANCE_BASIS = "mitigation-lost", "placement-gone", "acceptance-basis"

LABELS = {
    RE_REVIEW: "re-review",
    RETIRE: "no longer applies",
    NEW_THREAT: "new threat",
    MITIGATION_LOST: "current mitigation no longer true",
    PLACEMENT_GONE: "placement gone",
    ACCEPTANCE_BASIS: "acceptance basis changed",
}
ACTIONS = {
    RE_REVIEW: "threat reconfirm | threat retire",
    RETIRE: "threat retire",
    NEW_THREAT: "threat confirm | tighten | reject",
    MITIGATION_LOST: "threat reconfirm | threat retire",
    PLACEMENT_GONE: "mitigation reconfirm --placement",
    ACCEPTANCE_BASIS: "risk accept (again)",
}
KIND_WEIGHT = {MITIGATION_LOST: 1.5, ACCEPTANCE_BASIS: 1.4, NEW_THREAT: 1.3, PLACEMENT_GONE: 1.2, RE_REVIEW: 1.0, RETIRE: 0.5}
SEVERITY_WEIGHT = {"low": 1, "medium": 2, "high": 4, "critical": 8}


@dataclass
class ImpactItem:
    kind: str
    role: str  # security | architect | risk-owner
    target: str  # threat or mitigation id
    element: str  # the architecture element at stake
    severity: str
    score: float
    title: str
    detail: str
    change: str = ""  # key of the change that caused it
    controls: list[str] = field(default_factory=list)
    continues_as: str = ""  # the threat (or mitigation) that carries it on: rename or a more specific rule

    @property
    def note(self) -> str:
        """The drift note recorded on the model for this item."""
        return f"{LABELS[self.kind]}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "role": self.role, "target": self.target, "element": self.element,
               "severity": self.severity, "score": self.score, "title": self.title, "detail": self.detail,
               "change": self.change, "action": ACTIONS[self.kind]}
        if self.controls:
            out["controls"] = list(self.controls)
        if self.continues_as:
            out["continues_as"] = self.continues_as
        return out


@dataclass
class ChangeImpact:
    """A change with its severity (its worst item), rank and items."""

    change: Change
    severity: str
    score: float
    items: list[ImpactItem]


def _worse(a: str, b: str) -> bool:
    return SEVERITY_ORDER.index(a) > SEVERITY_ORDER.index(b)


def _values(change: Change) -> set[str]:
    """Every id-like value a change mentions (zones, endpoints, data, ...)."""
    found: set[str] = set()
    for side in (change.before or {}, change.after or {}):
        for v in side.values():
            if isinstance(v, str):
                found.add(v)
            elif isinstance(v, list):
                found.update(x for x in v if isinstance(x, str))
            elif isinstance(v, dict):
                found.update(x for x in v.values() if isinstance(x, str))
    return found


def impact(
    changes: list[Change], model: ModelInfo, fresh: list[Threat], scope: Affected, weights: Weights,
    superseded_by: dict[str, set[str]] | None = None,
) -> list[ImpactItem]:
    """The items a set of changes touches. `fresh` holds the threats a draft of the new
    architecture gives the elements in `scope` (drift.rerun, or a full draft);
    `superseded_by` maps a rule to the more specific rules that replace it when they fire."""
    if not changes:
        return []
    superseded_by = superseded_by or {}
    by_key = {c.key: c for c in changes}
    direct = {c.id: c for c in changes if c.kind != REMOVED and c.element in ("component", "flow", "zone")}
    removed = {c.id: c for c in changes if c.kind == REMOVED and c.element in ("component", "flow", "zone")}
    renamed = {c.old_id: c for c in changes if c.kind == RENAMED and c.old_id}
    renamed_to = {c.id: c.old_id for c in changes if c.kind == RENAMED and c.old_id}
    # Reviewers judged each threat knowing the data at stake: reclassified data is a new basis.
    data_changed = {c.id: c for c in changes if c.element == "data" and c.kind == "changed"}
    mentions: dict[str, set[str]] = {}
    targets = scope.targets()
    # Only threats on elements a change can reach can be touched (all of them for a full re-run).
    threats = model.threats_on(targets | set(removed) | set(renamed))
    stored = {t.id: t for t in threats}
    fresh_by_id = {t.id: t for t in fresh}
    fresh_by_rule = {(t.target, t.rule): t for t in fresh}
    fresh_on: dict[str, list[Threat]] = {}
    for f in fresh:
        fresh_on.setdefault(f.target, []).append(f)
    continued: set[str] = set()  # fresh threats that carry on a stored one
    items: list[ImpactItem] = []

    def cause(element: str, related: list[str]) -> Change | None:
        for e in (element, *related):
            found = direct.get(e) or removed.get(e) or renamed.get(e)
            if found is not None:
                return found
        keys = scope.causes(element)
        for key in keys:
            ch = by_key[key]
            seen = mentions.get(key)
            if seen is None:
                seen = mentions[key] = _values(ch)
            if element in seen or any(r in seen for r in related):
                return ch
        return by_key[keys[0]] if keys else None

    def add(kind: str, role: str, target: str, element: str, severity: str, title: str, detail: str,
            related: list[str] | None = None, controls: list[str] | None = None, continues_as: str = "") -> None:
        ch = cause(element, related or [])
        score = SEVERITY_WEIGHT[severity] * KIND_WEIGHT[kind] * (weights.of(ch) if ch else 1.0)
        items.append(ImpactItem(kind, role, target, element, severity, round(score, 2), title, detail,
                                ch.key if ch else "", list(controls or []), continues_as))

    def because(element: str, related: list[str]) -> str:
        ch = cause(element, related)
        return f" ({ch.summary()})" if ch else ""

    for t in threats:
        if not t.live:
            continue
        tgt = t.target
        if tgt in renamed:
            ch = renamed[tgt]
            twin = fresh_by_rule.get((ch.id, t.rule)) if t.rule else None
            if twin is not None:
                continued.add(twin.id)
            follow = (f"; '{t.title}' ({t.id}) continues as {twin.id}: re-confirm it" if twin
                      else "; re-confirm or retire it")
            add(RE_REVIEW, "security", t.id, ch.id, twin.severity if twin else t.severity, t.title,
                f"{ch.element} {tgt} renamed to {ch.id} (probable rename){follow}", continues_as=twin.id if twin else "")
            continue
        if tgt in removed:
            add(RETIRE, "security", t.id, tgt, t.severity, t.title,
                f"{removed[tgt].element} {tgt} was removed from the architecture")
            continue
        if tgt not in targets:
            continue
        f = fresh_by_id.get(t.id)
        own = direct.get(tgt)
        if f is None:
            if t.manual:
                if own is not None:
                    add(RE_REVIEW, "security", t.id, tgt, t.severity, t.title, f"its target changed: {own.summary()}",
                        t.elements)
                continue
            stronger = superseded_by.get(t.rule or "", set())
            heir = next((x for x in sorted(fresh_on.get(tgt, []), key=lambda x: x.id) if x.rule in stronger), None)
            if heir is None:
                add(RETIRE, "security", t.id, tgt, t.severity, t.title,
                    f"rule {t.rule} no longer fires on {tgt}{because(tgt, t.elements)}", t.elements)
                continue
            continued.add(heir.id)
            lost = [c for c in t.current_mitigations if c not in heir.current_mitigations]
            follow = (f"'{t.title}' ({t.id}) is now reported as {heir.id} '{heir.title}' ({heir.severity}, "
                      f"rule {heir.rule}): re-confirm it")
            if lost:
                add(MITIGATION_LOST, "security", t.id, tgt, heir.severity, t.title,
                    f"{', '.join(lost)} no longer in effect on {t.target_kind} {tgt}; {follow}"
                    f"{because(tgt, t.elements)}", t.elements, lost, heir.id)
            else:
                add(RE_REVIEW, "security", t.id, tgt, heir.severity, t.title, f"{follow}{because(tgt, t.elements)}",
                    t.elements, continues_as=heir.id)
            continue
        lost = [c for c in t.current_mitigations if c not in f.current_mitigations]
        if lost:
            add(MITIGATION_LOST, "security", t.id, tgt, f.severity, t.title,
                f"{', '.join(lost)} no longer in effect on {t.target_kind} {tgt}, severity {t.severity} → {f.severity}"
                f"{because(tgt, t.elements)}", t.elements, lost)
        else:
            reasons = []
            if own is not None:
                reasons.append(f"its target changed: {own.summary()}")
            data = [data_changed[d].summary() for d in t.data if d in data_changed]
            reasons += data
            if f.severity != t.severity:
                quiet = own is not None or data
                reasons.append(f"severity {t.severity} → {f.severity}" + ("" if quiet else because(tgt, t.elements)))
            elif own is None and sorted(f.data) != sorted(t.data):
                reasons.append(f"data at stake now {', '.join(f.data) or 'none'}" + because(tgt, t.elements))
            if reasons:
                related = [*t.elements, *(d for d in t.data if d in data_changed)]
                add(RE_REVIEW, "security", t.id, tgt, f.severity, t.title, "; ".join(reasons), related)
        if t.acceptance is not None:
            _acceptance(t, f, direct, data_changed, add)

    for f in sorted(fresh, key=lambda x: x.id):
        prior = stored.get(f.id)
        if f.id in continued or (prior is not None and prior.status != "retired"):
            continue
        old = renamed_to.get(f.target)
        if old is not None and any(s.target == old and s.rule == f.rule and s.live for s in threats):
            continue  # the renamed element's threat, already a re-review item
        again = "; its rule fires again" if prior is not None else ""
        add(NEW_THREAT, "security", f.id, f.target, f.severity, f.title,
            f"{f.category.value.replace('_', ' ')} threat ({f.severity}) on {f.target_kind} {f.target}{again}"
            f"{because(f.target, f.elements)}", f.elements)

    for m in model.mitigations:
        if m.status not in APPROVED:
            continue
        worst = m.worst
        if m.placement in removed:
            add(PLACEMENT_GONE, "architect", m.id, m.placement, worst, m.name,
                f"{m.name} ({m.status}) is placed on {m.placement_kind} {m.placement}, which was removed: "
                "place it elsewhere or drop it")
        elif m.placement in renamed:
            ch = renamed[m.placement]
            add(PLACEMENT_GONE, "architect", m.id, ch.id, worst, m.name,
                f"{m.name} ({m.status}) is placed on {m.placement_kind} {m.placement}, renamed to {ch.id}: "
                f"re-confirm it there")

    items.sort(key=lambda i: (-i.score, -SEVERITY_ORDER.index(i.severity), i.kind, i.target))
    return items


def _acceptance(t: ThreatInfo, f: Threat, direct: dict[str, Change], data_changed: dict[str, Change], add: Any) -> None:
    acc = t.acceptance or {}
    changed = [direct[e] for e in dict.fromkeys([t.target, *t.elements]) if e in direct]
    changed += [data_changed[d] for d in t.data if d in data_changed]
    reasons = [c.summary() for c in changed]
    if _worse(f.severity, t.severity):
        reasons.append(f"severity rose {t.severity} → {f.severity}")
    if reasons:
        add(ACCEPTANCE_BASIS, "risk-owner", t.id, t.target, f.severity, t.title,
            f"accepted at {acc.get('severity')} by {acc.get('by')} until {acc.get('expires')}; since then: "
            + "; ".join(reasons), [*t.elements, *(d for d in t.data if d in data_changed)])


def superseders(rules: Any) -> dict[str, set[str]]:
    """rule id -> the rules that supersede it (engine.knowledge.Rule.supersedes, inverted)."""
    out: dict[str, set[str]] = {}
    for r in rules:
        for weaker in r.supersedes:
            out.setdefault(weaker, set()).add(r.id)
    return out


def by_change(changes: list[Change], items: list[ImpactItem], weights: Weights) -> list[ChangeImpact]:
    """Each change with its items; its severity is its worst item's (low without items)."""
    grouped: dict[str, list[ImpactItem]] = {c.key: [] for c in changes}
    for i in items:
        if i.change in grouped:
            grouped[i.change].append(i)
    out = []
    for c in changes:
        its = grouped[c.key]
        severity = max((i.severity for i in its), key=SEVERITY_ORDER.index, default="low")
        score = max((i.score for i in its), default=round(weights.of(c), 2))
        out.append(ChangeImpact(c, severity, score, its))
    out.sort(key=lambda ci: (-ci.score, ci.change.key))
    return out
