"""Markdown report: summary, data-flow diagram (Mermaid), the threat table, details."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from threatline.formats.interface import Exporter
from threatline.model.architecture import Architecture, StrideCategory
from threatline.model.threatmodel import SEVERITY_ORDER, ThreatModel

CATEGORY_LABELS = {
    "spoofing": "Spoofing",
    "tampering": "Tampering",
    "repudiation": "Repudiation",
    "information_disclosure": "Information disclosure",
    "denial_of_service": "Denial of service",
    "elevation_of_privilege": "Elevation of privilege",
}

_SHAPES = {
    "database": ('[("', '")]'),
    "object-store": ('[("', '")]'),
    "file-store": ('[("', '")]'),
    "cache": ('[("', '")]'),
    "search-index": ('[("', '")]'),
    "vector-store": ('[("', '")]'),
    "queue": ('[/"', '"/]'),
    "actor": ('(["', '"])'),
    "browser": ('(["', '"])'),
    "mobile-app": ('(["', '"])'),
    "desktop-app": ('(["', '"])'),
    "device": ('(["', '"])'),
    "external-service": ('[["', '"]]'),
}


def md_escape(value: object) -> object:
    """Autoescape for Markdown: nothing from the architecture can break a table or inject HTML."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
        return text
    return value


def _mermaid_id(ident: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", ident)


def _mermaid_label(text: str) -> str:
    return re.sub(r'["<>`\[\]{}|]', "'", text)


def mermaid(arch: Architecture) -> str:
    children: dict[str | None, list[str]] = {}
    for z in sorted(arch.zones, key=lambda z: z.id):
        parent = z.parent if z.parent in {x.id for x in arch.zones} else None
        children.setdefault(parent, []).append(z.id)
    zones = {z.id: z for z in arch.zones}
    members: dict[str, list] = {}
    for c in sorted(arch.components, key=lambda c: c.id):
        members.setdefault(c.zone, []).append(c)
    lines = ["flowchart LR"]

    def emit(zone_id: str, depth: int, seen: set[str]) -> None:
        if zone_id in seen:
            return
        seen.add(zone_id)
        pad = "  " * depth
        z = zones[zone_id]
        lines.append(f'{pad}subgraph {_mermaid_id("zone_" + zone_id)}["{_mermaid_label(z.label)} ({z.trust.value})"]')
        for c in members.get(zone_id, []):
            left, right = _SHAPES.get(c.type.value, ('["', '"]'))
            lines.append(f"{pad}  {_mermaid_id(c.id)}{left}{_mermaid_label(c.label)}{right}")
        for child in children.get(zone_id, []):
            emit(child, depth + 1, seen)
        lines.append(f"{pad}end")

    seen: set[str] = set()
    for root in children.get(None, []):
        emit(root, 1, seen)
    for f in sorted(arch.flows, key=lambda f: f.id):
        arrow = "<-->" if f.bidirectional else "-->"
        label = f.protocol.value + ("" if f.is_encrypted else " (plaintext)")
        lines.append(f'  {_mermaid_id(f.source)} {arrow}|"{_mermaid_label(f.label)}: {label}"| {_mermaid_id(f.target)}')
    return "\n".join(lines)


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("threatline", "formats/templates"),
            autoescape=False,
            finalize=md_escape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        _ENV.filters["category"] = lambda c: CATEGORY_LABELS.get(str(c), str(c))
    return _ENV


class MarkdownExporter(Exporter):
    name = "markdown"
    suffix = ".md"

    def __init__(self, appetite: str = "medium", stats: Any = None):
        self.appetite = appetite
        # Review metrics from the journal (workflow.stats.ReviewStats), when there is one.
        self.stats = stats

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        from threatline.engine.plan import plan
        from threatline.formats.plan_output import plan_summary

        names = {c.id: c.label for c in arch.components}
        names.update({f.id: f.label for f in arch.flows})
        names.update({z.id: z.label for z in arch.zones})
        by_cat = Counter(t.category.value for t in model.threats)
        by_sev = Counter(t.severity for t in model.threats)
        matrix = {
            c.value: Counter(t.severity for t in model.threats if t.category == c) for c in StrideCategory
        }
        mitigations = {m.id: m for m in model.mitigations}
        figures = {
            name: Counter(getattr(t, name).severity for t in model.threats if getattr(t, name) is not None)
            for name in ("inherent", "current", "residual")
        }
        the_plan = plan(model.threats, model.mitigations, self.appetite)
        from threatline.workflow.actions import valid_signoffs

        statuses = Counter(t.status for t in model.threats)
        machine = [t for t in model.threats if not t.source.startswith("manual:")]
        line = (
            f"Drafted by rules: {len(machine)}; kept as-is: {statuses['confirmed']}; tightened: {statuses['tightened']}; "
            f"rejected: {statuses['rejected']}; added by hand: {len(model.threats) - len(machine)}; "
            f"still in draft: {statuses['draft']}; retired: {statuses['retired']}."
        )
        return environment().get_template("report.md.j2").render(
            figures=figures,
            review={"line": line, "valid": valid_signoffs(model), "stats": self.stats},
            plan=plan_summary(the_plan, model),
            model=model,
            arch=arch,
            names=names,
            categories=[c.value for c in StrideCategory],
            severities=list(reversed(SEVERITY_ORDER)),
            by_cat=by_cat,
            by_sev=by_sev,
            matrix=matrix,
            mitigated=sum(1 for t in model.threats if t.coverage == "mitigated"),
            mitigations=mitigations,
            diagram=Markup(mermaid(arch)),
        )
