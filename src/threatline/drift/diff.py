"""Structural difference of two snapshots: what was added, removed, changed or renamed.

Elements are compared by fingerprint, so only changed elements are decoded. A removed
id and an added id of the same kind with identical fingerprints are one probable
rename, not a removal and an addition; references to a renamed element (a component's
zone, a flow's endpoints, a baseline selector, ...) are followed before comparing, so
the rename of a zone is one change, not one per component in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from threatline.drift.snapshot import KINDS, Element, Snapshot, baseline_key, make_element

ADDED, REMOVED, CHANGED, RENAMED = "added", "removed", "changed", "renamed"
_KIND_ORDER = {REMOVED: 0, RENAMED: 1, CHANGED: 2, ADDED: 3}

# How attributes read and in which order they are listed.
_ATTRIBUTE_ORDER = [
    "zone", "trust", "type", "classification", "protocol", "encrypted", "authentication", "from", "to",
    "data", "stores", "controls", "tags", "parent", "bidirectional", "tech", "mitigates", "control",
    "applies_to",
]
_LIST_ATTRIBUTES = {"data", "stores", "controls", "tags", "mitigates"}


@dataclass(frozen=True)
class AttrChange:
    name: str
    before: Any
    after: Any

    def describe(self) -> str:
        if isinstance(self.before, list) and isinstance(self.after, list):
            gone = [x for x in self.before if x not in self.after]
            new = [x for x in self.after if x not in self.before]
            parts = []
            if new:
                parts.append("+" + ", +".join(map(str, new)))
            if gone:
                parts.append("-" + ", -".join(map(str, gone)))
            return f"{self.name} {' '.join(parts)}"
        return f"{self.name} {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "{}"
    return str(value)


@dataclass
class Change:
    kind: str  # added | removed | changed | renamed
    element: str  # control | data | zone | component | flow | baseline
    id: str  # the id in the new architecture (the old one for a removal)
    old_id: str | None = None  # a rename's previous id
    attributes: list[AttrChange] = field(default_factory=list)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.element}:{self.id}"

    def attribute(self, name: str) -> AttrChange | None:
        return next((a for a in self.attributes if a.name == name), None)

    def summary(self) -> str:
        what = f"{self.element} {self.id}"
        if self.kind == RENAMED:
            return f"{self.element} {self.old_id} renamed to {self.id} (same content: probable rename)"
        if self.kind == ADDED:
            return f"{what} added"
        if self.kind == REMOVED:
            return f"{what} removed"
        return f"{what}: " + "; ".join(a.describe() for a in self.attributes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "element": self.element, "id": self.id}
        if self.old_id is not None:
            out["old_id"] = self.old_id
        if self.attributes:
            out["attributes"] = [{"name": a.name, "before": a.before, "after": a.after} for a in self.attributes]
        out["summary"] = self.summary()
        return out


def _attr_rank(name: str) -> tuple[int, str]:
    base = name.split(".", 1)[0]
    return (_ATTRIBUTE_ORDER.index(base) if base in _ATTRIBUTE_ORDER else len(_ATTRIBUTE_ORDER), name)


def attribute_changes(before: dict[str, Any], after: dict[str, Any]) -> list[AttrChange]:
    out: list[AttrChange] = []
    for name in set(before) | set(after):
        if name == "properties":
            b, a = before.get(name) or {}, after.get(name) or {}
            for key in set(b) | set(a):
                if b.get(key) != a.get(key):
                    out.append(AttrChange(f"properties.{key}", b.get(key), a.get(key)))
            continue
        default: Any = [] if name in _LIST_ATTRIBUTES else None
        b, a = before.get(name, default), after.get(name, default)
        if b != a:
            out.append(AttrChange(name, b, a))
    return sorted(out, key=lambda c: _attr_rank(c.name))


# References to other elements, by the kind they refer to: (kind holding it, attribute path).
_REFERENCES: dict[str, list[tuple[str, str]]] = {
    "control": [("component", "controls"), ("flow", "controls"), ("baseline", "control")],
    "data": [("component", "stores"), ("flow", "data")],
    "zone": [("zone", "parent"), ("component", "zone"), ("baseline", "applies_to.zone")],
    "component": [("flow", "from"), ("flow", "to"), ("baseline", "applies_to.component")],
    "flow": [("baseline", "applies_to.flow")],
}


def _rewrite(attrs: dict[str, Any], path: str, names: dict[str, str]) -> bool:
    """Replace renamed ids at one attribute path; True when something changed."""
    holder: Any = attrs
    *parents, leaf = path.split(".")
    for p in parents:
        holder = holder.get(p) if isinstance(holder, dict) else None
    if not isinstance(holder, dict) or leaf not in holder:
        return False
    value = holder[leaf]
    if isinstance(value, list):
        new = sorted({names.get(v, v) for v in value})
        if new != value:
            holder[leaf] = new
            return True
    elif isinstance(value, str) and value in names:
        holder[leaf] = names[value]
        return True
    return False


def _follow_renames(kind: str, elements: dict[str, Element], renames: dict[str, dict[str, str]]) -> dict[str, Element]:
    """The old elements of one kind with references to renamed elements updated."""
    paths = [(referred, path) for referred, refs in _REFERENCES.items() for holder, path in refs
             if holder == kind and renames.get(referred)]
    if not paths:
        return elements
    out: dict[str, Element] = {}
    for ident, e in elements.items():
        attrs = e.attrs
        touched = False
        for referred, path in paths:
            touched |= _rewrite(attrs, path, renames[referred])
        if not touched:
            out[ident] = e
            continue
        if kind == "baseline":
            ident = baseline_key(attrs)
        out[ident] = make_element(kind, ident, attrs)
    return out


def diff(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every difference between two snapshots, in a stable order (kind of element, then
    removed / renamed / changed / added, then id). Empty exactly when the snapshots hold
    the same elements with the same canonical attributes (when the digests match)."""
    changes: list[Change] = []
    renames: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        before = _follow_renames(kind, old.of(kind), renames)
        after = new.of(kind)
        removed = sorted(i for i in before if i not in after)
        added = sorted(i for i in after if i not in before)
        found: dict[str, str] = {}
        if kind != "baseline" and removed and added:
            by_fp: dict[str, list[str]] = defaultdict(list)
            for i in added:
                by_fp[after[i].fingerprint].append(i)
            for i in removed:
                candidates = by_fp.get(before[i].fingerprint)
                if candidates:
                    found[i] = candidates.pop(0)
        renames[kind] = found
        taken = set(found.values())
        for i in removed:
            if i in found:
                changes.append(Change(RENAMED, kind, found[i], old_id=i, before=before[i].attrs, after=after[found[i]].attrs))
            else:
                changes.append(Change(REMOVED, kind, i, before=before[i].attrs))
        for i in added:
            if i not in taken:
                changes.append(Change(ADDED, kind, i, after=after[i].attrs))
        for i, e in before.items():
            other = after.get(i)
            # Equal canonical texts <=> equal fingerprints; comparing the texts needs no hashing.
            if other is not None and other.attrs_json != e.attrs_json:
                b, a = e.attrs, other.attrs
                changes.append(Change(CHANGED, kind, i, attributes=attribute_changes(b, a), before=b, after=a))
    changes.sort(key=lambda c: (KINDS.index(c.element), _KIND_ORDER[c.kind], c.id))
    return changes


def renames_of(changes: list[Change]) -> dict[str, str]:
    """old id -> new id for every probable rename."""
    return {c.old_id: c.id for c in changes if c.kind == RENAMED and c.old_id is not None}
