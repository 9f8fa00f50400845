"""Review metrics: how much of the machine draft survived each stage, and how long it took."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from threatline.model.threatmodel import ThreatModel
from threatline.workflow.journal import JournalEntry


class ReviewStats(BaseModel):
    drafted: int
    kept_as_is: int
    tightened: int
    rejected: dict[str, int] = Field(default_factory=dict)
    added_by_hand: int
    still_draft: int
    retired: int
    mitigations: dict[str, int] = Field(default_factory=dict)
    decisions_by_stage: dict[str, dict[str, int]] = Field(default_factory=dict)
    first_draft_at: str | None = None
    published_at: str | None = None
    hours_to_publish: float | None = None


_STAGE_OF_ROLE = {"security": "security", "architect": "architecture", "risk-owner": "stakeholder", "author": "author"}


def review_stats(model: ThreatModel, journal: list[JournalEntry]) -> ReviewStats:
    machine = [t for t in model.threats if not t.source.startswith("manual:")]
    by_status = Counter(t.status for t in machine)
    rejected = Counter(t.reject_reason or "unspecified" for t in machine if t.status == "rejected")
    by_stage: dict[str, Counter] = {}
    for e in journal:
        stage = _STAGE_OF_ROLE.get(e.role, e.role)
        by_stage.setdefault(stage, Counter())[e.action] += 1
    first = next((e.at for e in journal if e.action == "draft"), None)
    published = next((e.at for e in journal if e.action == "publish"), None)
    hours = None
    if first and published:
        delta = datetime.fromisoformat(published) - datetime.fromisoformat(first)
        hours = round(delta.total_seconds() / 3600, 2)
    return ReviewStats(
        drafted=len(machine),
        kept_as_is=by_status.get("confirmed", 0),
        tightened=by_status.get("tightened", 0),
        rejected=dict(sorted(rejected.items())),
        added_by_hand=sum(1 for t in model.threats if t.source.startswith("manual:")),
        still_draft=by_status.get("draft", 0),
        retired=by_status.get("retired", 0),
        mitigations=dict(sorted(Counter(m.status for m in model.mitigations).items())),
        decisions_by_stage={k: dict(sorted(v.items())) for k, v in sorted(by_stage.items())},
        first_draft_at=first,
        published_at=published,
        hours_to_publish=hours,
    )
