"""SARIF 2.1.0 output of `check`, for code scanning (e.g. GitHub's upload-sarif).

One result per architecture change, located on the line of the architecture file that
changed, with the change's worst impact as its level and `security-severity`; one per
drift note recorded in the model and not yet resolved, located on its element; one for
a model that is not published on its current content or has no snapshot. Partial
fingerprints hash what a result is about (never a line number), so a result keeps its
identity while the file around it moves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from threatline import __version__
from threatline.drift.impact import LABELS
from threatline.formats.json_text import pretty_json

if TYPE_CHECKING:
    from threatline.drift.diff import Change
    from threatline.drift_service import Analysis

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "threatlineDrift/v1"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}

_MODEL_RULES = {
    "threatline.drift.open-item": ("RecordedDriftItem", "A drift item recorded in the threat model waits for a decision",
                                   "Resolve it in 'threatline review': re-confirm or retire the threat, accept the risk "
                                   "again, or re-confirm the mitigation's placement."),
    "threatline.model.unpublished": ("ModelNotPublished", "The threat model is not published on its current content",
                                     "Sign off the security, architecture and stakeholder stages and run "
                                     "'threatline publish'."),
    "threatline.model.no-snapshot": ("ModelWithoutSnapshot", "The threat model records no architecture snapshot",
                                     "Re-draft the model with 'threatline draft' so that drift can be measured."),
}


def rule_id(change: Change) -> str:
    return f"threatline.drift.{change.element}.{change.kind}"


def _rule_name(change: Change) -> str:
    return f"{change.element.capitalize()}{change.kind.capitalize()}"


def _uri(path: Path) -> str:
    p = path
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return p.resolve().as_uri()
    return quote(p.as_posix(), safe="/._-~")


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _location(uri: str, line: int, message: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": max(1, line)}}}
    if message:
        loc["message"] = {"text": message}
    return loc


def _worst(severities: list[str]) -> str:
    order = ["low", "medium", "high", "critical"]
    return max(severities, key=order.index, default="low")


def render(a: Analysis) -> str:
    return pretty_json(sarif(a))


def sarif(a: Analysis) -> dict[str, Any]:
    arch_uri, model_uri = _uri(a.architecture), _uri(a.model)
    rules: dict[str, dict[str, Any]] = {}
    severities: dict[str, list[str]] = {}
    results: list[dict[str, Any]] = []

    def rule(rid: str, name: str, short: str, full: str) -> None:
        if rid not in rules:
            rules[rid] = {
                "id": rid, "name": name, "shortDescription": {"text": short}, "fullDescription": {"text": full},
                "help": {"text": full, "markdown": full},
                "properties": {"tags": ["security", "threat-model", "drift"], "precision": "high"},
            }

    for ci in a.grouped:
        c = ci.change
        rid = rule_id(c)
        rule(rid, _rule_name(c), f"Architecture drift: {c.element} {c.kind}",
             f"A {c.element} was {c.kind} in the architecture since the threat model was drafted. Record the drift "
             "('threatline drift --record' or 'threatline draft') and resolve its items in 'threatline review'.")
        severities.setdefault(rid, []).append(ci.severity)
        impacts = "; ".join(f"{LABELS[i.kind]} {i.target} ({i.severity})" for i in ci.items[:5])
        more = f" and {len(ci.items) - 5} more" if len(ci.items) > 5 else ""
        text = c.summary() + (f". Impact: {impacts}{more}." if ci.items else ". No threat of the model is affected.")
        attrs = ",".join(x.name for x in c.attributes)
        results.append({
            "ruleId": rid,
            "level": LEVEL[ci.severity],
            "message": {"text": text},
            "locations": [_location(arch_uri, a.line_of_change(c))],
            "partialFingerprints": {FINGERPRINT: _fingerprint(c.kind, c.element, c.old_id or "", c.id, attrs)},
            "properties": {
                "security-severity": SECURITY_SEVERITY[ci.severity],
                "change": c.to_dict(),
                "impact": [i.to_dict() for i in ci.items],
                "rankScore": ci.score,
            },
        })

    for o in a.open_items:
        rid = "threatline.drift.open-item"
        rule(rid, *_MODEL_RULES[rid])
        severities.setdefault(rid, []).append(o.severity)
        results.append({
            "ruleId": rid,
            "level": LEVEL[o.severity],
            "message": {"text": f"{o.target} ({o.title}) waits for the {o.role}: {o.note}"},
            "locations": [_location(arch_uri, a.line_of_element(o.element))],
            "partialFingerprints": {FINGERPRINT: _fingerprint("open", o.target, o.note)},
            "properties": {"security-severity": SECURITY_SEVERITY[o.severity], "role": o.role, "target": o.target},
        })

    if not a.has_snapshot or (not a.published and not a.changes and not a.open_items):
        rid = "threatline.model.no-snapshot" if not a.has_snapshot else "threatline.model.unpublished"
        rule(rid, *_MODEL_RULES[rid])
        severities.setdefault(rid, []).append("medium")
        text = a.reasons()[0] if a.reasons() else _MODEL_RULES[rid][1]
        results.append({
            "ruleId": rid,
            "level": "warning",
            "message": {"text": text},
            "locations": [_location(model_uri, 1)],
            "partialFingerprints": {FINGERPRINT: _fingerprint(rid, str(a.model))},
            "properties": {"security-severity": SECURITY_SEVERITY["medium"], "stage": a.stage},
        })

    ordered = sorted(rules)
    for rid in ordered:
        worst = _worst(severities.get(rid, []))
        rules[rid]["defaultConfiguration"] = {"level": LEVEL[worst]}
        rules[rid]["properties"]["security-severity"] = SECURITY_SEVERITY[worst]
    for r in results:
        r["ruleIndex"] = ordered.index(r["ruleId"])
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "Threatline", "version": __version__, "semanticVersion": __version__,
                                "rules": [rules[rid] for rid in ordered]}},
            "automationDetails": {"id": f"threatline/check/{arch_uri}/"},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"status": a.status, "exitCode": a.exit_code, "stage": a.stage, "model": model_uri},
        }],
    }
