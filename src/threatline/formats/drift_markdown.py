"""Markdown output of `drift`, `check` (a pull-request comment) and `scan` (the weekly queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threatline.drift.impact import ACTIONS, LABELS
from threatline.formats.markdown import md_escape

if TYPE_CHECKING:
    from threatline.drift_service import Analysis, ScanEntry

STATUS_TEXT = {
    "current": "current and published",
    "drift": "the architecture drifted from the threat model",
    "needs-review": "drift items wait for review",
    "unpublished": "current, but not published",
    "no-snapshot": "no architecture snapshot in the model",
    "error": "could not be analysed",
}
ICON = {"current": "✅", "drift": "⚠️", "needs-review": "⚠️", "unpublished": "⚠️", "no-snapshot": "⚠️", "error": "❌"}
LIMIT = 50


def _e(value: object) -> str:
    return str(md_escape(str(value)))


def _code(value: object) -> str:
    return "`" + str(value).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _counts(a: Analysis) -> str:
    counts = a.severity_counts()
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"


def render_analysis(a: Analysis, title: str = "Threatline check") -> str:
    status = a.status
    out = [f"## {ICON[status]} {title}: {_e(a.info.system)}", ""]
    out.append(f"**{STATUS_TEXT[status]}** (exit {a.exit_code}) · model stage: **{a.stage}** · "
               f"items by severity: {_counts(a)}")
    out.append("")
    out.append(f"Architecture {_code(a.architecture)}, model {_code(a.model)}.")
    out.append("")
    for r in a.reasons():
        out.append(f"- {_e(r)}")
    if a.reasons():
        out.append("")
    if a.grouped:
        out += [f"### Changes ({len(a.grouped)})", "", "| Severity | Change | Line | Impact |", "|---|---|---:|---|"]
        for ci in a.grouped[:LIMIT]:
            kinds: dict[str, int] = {}
            for i in ci.items:
                kinds[LABELS[i.kind]] = kinds.get(LABELS[i.kind], 0) + 1
            what = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "no threat affected"
            out.append(f"| {ci.severity} | {_e(ci.change.summary())} | {a.line_of_change(ci.change)} | {_e(what)} |")
        if len(a.grouped) > LIMIT:
            out.append(f"| | … and {len(a.grouped) - LIMIT} more (see the JSON or SARIF output) | | |")
        out.append("")
    if a.items:
        out += [f"### To review, most important first ({len(a.items)})", "",
                "| # | Severity | Who | Item | What | Detail | Decide with |", "|---:|---|---|---|---|---|---|"]
        for n, i in enumerate(a.items[:LIMIT], start=1):
            out.append(f"| {n} | {i.severity} | {i.role} | {_code(i.target)} | {_e(LABELS[i.kind])}: {_e(i.title)} | "
                       f"{_e(i.detail)} | {_code(ACTIONS[i.kind])} |")
        if len(a.items) > LIMIT:
            out.append(f"| | | | | … and {len(a.items) - LIMIT} more | | |")
        out.append("")
    if a.open_items:
        out += [f"### Recorded drift items waiting for a decision ({len(a.open_items)})", "",
                "| Severity | Who | Item | Note |", "|---|---|---|---|"]
        for o in a.open_items[:LIMIT]:
            out.append(f"| {o.severity} | {o.role} | {_code(o.target)} | {_e(o.note)} |")
        out.append("")
    if a.expiring:
        out += ["### Risk acceptances ending within 30 days", "", "| Threat | Expires | Days left | Accepted by |",
                "|---|---|---:|---|"]
        for x, left in a.expiring:
            out.append(f"| {_code(x.threat)} {_e(x.title)} | {x.expires} | {left} | {_e(x.by)} |")
        out.append("")
    if status == "current":
        out += ["The threat model describes this architecture and its latest published version is current.", ""]
    return "\n".join(out)


def render_scan(entries: list[ScanEntry]) -> str:
    out = ["# Threatline scan: threat models and their review queue", ""]
    needs = [e for e in entries if e.status != "current"]
    out.append(f"{len(entries)} model(s); {len(entries) - len(needs)} current and published, {len(needs)} need attention.")
    out += ["", "| Model | Status | Stage | Critical | High | Medium | Low | Acceptances ending ≤ 30 days |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for e in entries:
        if e.analysis is None:
            out.append(f"| {_code(e.model)} | error | | | | | | |")
            continue
        a = e.analysis
        c = a.severity_counts()
        out.append(f"| {_code(e.model)} ({_e(a.info.system)}) | {a.status} | {a.stage} | {c['critical']} | "
                   f"{c['high']} | {c['medium']} | {c['low']} | {len(a.expiring)} |")
    out.append("")
    for e in entries:
        if e.analysis is None:
            out += [f"## {_e(e.model)}", "", f"Could not be analysed: {_e(e.error)}", ""]
            continue
        a = e.analysis
        if a.status == "current" and not a.expiring:
            continue
        out.append(render_analysis(a, title=str(e.model)).replace("## ", "## ", 1))
    return "\n".join(out) + "\n"
