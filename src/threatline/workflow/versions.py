"""Published versions and what changed between two of them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from threatline.model.threatmodel import ThreatModel
from threatline.workflow.journal import JournalEntry


class Version(BaseModel):
    """An immutable, content-addressed snapshot of a published model."""

    id: str
    content_hash: str
    published_at: str
    published_by: str
    journal_head: str
    journal_seq: int
    model: ThreatModel


class ThreatChange(BaseModel):
    id: str
    title: str
    changes: dict[str, tuple[Any, Any]] = Field(default_factory=dict)


class ModelDiff(BaseModel):
    a: str
    b: str
    added: list[ThreatChange] = Field(default_factory=list)
    retired: list[ThreatChange] = Field(default_factory=list)
    changed: list[ThreatChange] = Field(default_factory=list)
    decisions: list[JournalEntry] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.added or self.retired or self.changed or self.decisions)


_COMPARED = ("title", "description", "severity", "status")


def diff_models(a: ThreatModel, b: ThreatModel, a_label: str, b_label: str, decisions: list[JournalEntry]) -> ModelDiff:
    result = ModelDiff(a=a_label, b=b_label, decisions=decisions)
    before = {t.id: t for t in a.threats}
    after = {t.id: t for t in b.threats}
    for tid, t in sorted(after.items()):
        old = before.get(tid)
        if old is None:
            result.added.append(ThreatChange(id=tid, title=t.title, changes={"severity": (None, t.severity)}))
            continue
        changes = {f: (getattr(old, f), getattr(t, f)) for f in _COMPARED if getattr(old, f) != getattr(t, f)}
        if t.status == "retired" and old.status != "retired":
            result.retired.append(ThreatChange(id=tid, title=t.title, changes={"retired_reason": ("", t.retired_reason)}))
        elif changes:
            result.changed.append(ThreatChange(id=tid, title=t.title, changes=changes))
    for tid, t in sorted(before.items()):
        if tid not in after:
            result.retired.append(ThreatChange(id=tid, title=t.title, changes={"removed": (True, False)}))
    return result
