"""JSON output of `drift` and `check`: the whole analysis, machine-readable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threatline.drift.impact import ACTIONS
from threatline.formats.json_text import pretty_json

if TYPE_CHECKING:
    from threatline.drift_service import Analysis, ScanEntry

REPORT_VERSION = 1


def analysis_dict(a: Analysis, with_lines: bool = True) -> dict[str, Any]:
    changes = []
    for ci in a.grouped:
        entry = ci.change.to_dict() | {"severity": ci.severity, "score": ci.score,
                                       "items": [i.target for i in ci.items]}
        if with_lines:
            entry["line"] = a.line_of_change(ci.change)
        changes.append(entry)
    return {
        "version": REPORT_VERSION,
        "system": a.info.system,
        "architecture": str(a.architecture),
        "model": str(a.model),
        "status": a.status,
        "exit_code": a.exit_code,
        "current": a.current,
        "published": a.published,
        "stage": a.stage,
        "reasons": a.reasons(),
        "counts": a.severity_counts(),
        "changes": changes,
        "items": [i.to_dict() for i in a.items],
        "open_items": [
            {"role": o.role, "target": o.target, "element": o.element, "severity": o.severity, "title": o.title,
             "note": o.note, "action": _open_action(o.role)}
            for o in a.open_items
        ],
        "expiring_acceptances": [
            {"threat": x.threat, "title": x.title, "severity": x.severity, "expires": x.expires, "days_left": left,
             "by": x.by}
            for x, left in a.expiring
        ],
    }


def _open_action(role: str) -> str:
    return {"security": ACTIONS["re-review"], "risk-owner": ACTIONS["acceptance-basis"],
            "architect": ACTIONS["placement-gone"]}[role]


def render_analysis(a: Analysis) -> str:
    return pretty_json(analysis_dict(a))


def scan_dict(entries: list[ScanEntry]) -> dict[str, Any]:
    models = []
    for e in entries:
        if e.analysis is None:
            models.append({"architecture": str(e.architecture), "model": str(e.model), "status": "error",
                           "error": e.error})
        else:
            models.append(analysis_dict(e.analysis, with_lines=False))
    statuses: dict[str, int] = {}
    for e in entries:
        statuses[e.status] = statuses.get(e.status, 0) + 1
    return {"version": REPORT_VERSION, "models": models, "summary": {"models": len(entries), **statuses}}


def render_scan(entries: list[ScanEntry]) -> str:
    return pretty_json(scan_dict(entries))
