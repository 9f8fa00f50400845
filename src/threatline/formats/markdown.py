"""Markdown report: summary, data-flow diagram (Mermaid), the threat table, details.

Two layouts. Up to `FULL_REPORT_MAX_THREATS` threats the report lists everything:
every threat in a table and in full detail, every mitigation, the whole plan. Beyond
that nobody reads it (a 10,000-component system has ~76,000 threats, which made a
164 MB report), so the report summarises instead: the same summary figures, the
elements carrying the most severe threats, the plan's top items with its totals,
the `DETAIL_CAP` most severe threats in full and a one-line index of every threat,
so that nothing is missing and everything else can be looked up in threatmodel.yaml.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from threatline.engine.facts import encrypted_in_transit
from threatline.formats.interface import Exporter
from threatline.formats.yamlio import gc_paused
from threatline.model.architecture import Architecture, StrideCategory
from threatline.model.threatmodel import SEVERITY_ORDER, Threat, ThreatModel

if TYPE_CHECKING:
    from jinja2 import Environment

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


def _escape_text(text: str) -> str:
    # Most text has nothing to escape, and six substring tests are cheaper than six copies.
    if not ("&" in text or "<" in text or ">" in text or "|" in text or "\n" in text or "\r" in text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_escape(value: object) -> object:
    """Autoescape for Markdown: nothing from the architecture can break a table or inject HTML."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return _escape_text(value)
    return value


def plan_rows(mitigations: list[dict[str, Any]]) -> Markup:
    """The plan's table rows, one line per chosen mitigation, each cell escaped as the
    templates escape values. Built here rather than in a template loop: a 10,000-component
    plan has tens of thousands of rows."""
    esc = _escape_text
    lines = []
    for m in mitigations:
        effort = f"{m['effort_days'][0]}-{m['effort_days'][1]}" if m["effort_days"] else "?"
        lines.append(f"| {esc(str(m['name']))} (`{esc(str(m['control']))}`) | {esc(str(m['placement']))}"
                     f" ({esc(str(m['placement_kind']))}) | {len(m['threats'])} | {effort}"
                     f" | {esc(str(m['latency']))} | {esc(str(m['ops']))} |\n")
    return Markup("".join(lines))


def _mermaid_id(ident: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", ident)


def _mermaid_label(text: str) -> str:
    return re.sub(r'["<>`\[\]{}|]', "'", text)


def mermaid(arch: Architecture) -> str:
    children: dict[str | None, list[str]] = {}
    zone_ids = {x.id for x in arch.zones}
    for z in sorted(arch.zones, key=lambda z: z.id):
        parent = z.parent if z.parent in zone_ids else None
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
        label = f.protocol.value + ("" if encrypted_in_transit(f) else " (plaintext)")
        lines.append(f'  {_mermaid_id(f.source)} {arrow}|"{_mermaid_label(f.label)}: {label}"| {_mermaid_id(f.target)}')
    return "\n".join(lines)


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        # Imported here: most commands (check, drift, review) never render a template.
        from jinja2 import Environment, PackageLoader, StrictUndefined

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
        _ENV.filters["plan_rows"] = plan_rows
    return _ENV


# Up to this many threats the report lists everything (the layout of every example and
# benchmark case); beyond it, the summarising layout described in the module docstring.
FULL_REPORT_MAX_THREATS = 1000
# Threats shown in full in the summarising layout: every critical and high one while
# they fit, then the next most severe.
DETAIL_CAP = 200
# Rows of each list in the summarising layout: plan items, latency and ops notes,
# threats left above appetite, elements with the most severe threats.
EXCERPT_ROWS = 25
# Mermaid refuses larger diagrams by default (maxEdges 500, maxTextSize 50,000).
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
_DISMISSED = frozenset({"rejected", "retired"})


class _Escaped(dict[str, str]):
    """text -> its escaped form, computed on first use: element names, severities and
    statuses repeat across thousands of index rows and are escaped once each."""

    def __missing__(self, text: str) -> str:
        escaped = self[text] = _escape_text(text)
        return escaped


class _EscapedNames(dict[str, str]):
    """element id -> its escaped name (or the id when it is not in the architecture)."""

    def __init__(self, names: dict[str, str]):
        super().__init__()
        self.names = names

    def __missing__(self, target: str) -> str:
        escaped = self[target] = _escape_text(self.names.get(target, target))
        return escaped


@dataclass
class _Tally:
    """Every figure the report needs, from one pass over the threats: a large model's
    threats are scattered over gigabytes of memory, and each pass over them costs."""

    by_cat: Counter[str] = field(default_factory=Counter)
    by_sev: Counter[str] = field(default_factory=Counter)
    matrix: dict[str, Counter[str]] = field(default_factory=lambda: {c.value: Counter() for c in StrideCategory})
    figures: dict[str, Counter[str]] = field(
        default_factory=lambda: {name: Counter() for name in ("inherent", "current", "residual")})
    statuses: Counter[str] = field(default_factory=Counter)
    mitigated: int = 0
    manual: int = 0
    # The summarising layout only:
    severe: int = 0  # critical and high threats, not rejected or retired
    ranked: list[Threat] = field(default_factory=list)  # most severe first, see _rank
    index_rows: list[str] = field(default_factory=list)  # one escaped table row per threat, in that order
    per_element: dict[str, list[int]] = field(default_factory=dict)  # target -> threats per severity
    kinds: dict[str, str] = field(default_factory=dict)  # target -> component, flow or zone


def _rank(t: Threat) -> int:
    """Sort key, lowest first: most severe first, most likely and damaging first within a
    severity (current likelihood x impact, 1..25); threats a reviewer rejected or retired
    last. A small integer, so that ranking is a bucket sort that keeps the model's order
    within a bucket."""
    severity_steps = len(SEVERITY_ORDER) - 1 - _SEVERITY_RANK[t.severity]  # 0 for critical
    return (t.status in _DISMISSED) * 1000 + severity_steps * 100 + 25 - t.current.likelihood * t.current.impact


# Keys below this are threats still open to review and critical or high.
_SEVERE_BELOW = (len(SEVERITY_ORDER) - _SEVERITY_RANK["high"]) * 100


def _tally(threats: Sequence[Threat], names: dict[str, str], summarise: bool) -> _Tally:
    tally = _Tally()
    # Locals, not attributes, in the loop: it runs once per threat.
    by_cat, by_sev, matrix, statuses = tally.by_cat, tally.by_sev, tally.matrix, tally.statuses
    inherent, current, residual = (tally.figures[k] for k in ("inherent", "current", "residual"))
    per_element, kinds = tally.per_element, tally.kinds
    mitigated = manual = severe = 0
    threat_buckets: dict[int, list[Threat]] = {}
    row_buckets: dict[int, list[str]] = {}
    element_names = _EscapedNames(names)
    escaped = _Escaped()
    labels = {c.value: _escape_text(CATEGORY_LABELS[c.value]) for c in StrideCategory}
    severity_rank = _SEVERITY_RANK
    for t in threats:
        category = t.category.value
        severity = t.severity
        by_cat[category] += 1
        by_sev[severity] += 1
        matrix[category][severity] += 1
        inherent[t.inherent.severity] += 1
        current[t.current.severity] += 1
        if t.residual is not None:
            residual[t.residual.severity] += 1
        statuses[t.status] += 1
        mitigated += t.coverage == "mitigated"
        manual += t.source.startswith("manual:")
        if not summarise:
            continue
        key = _rank(t)
        severe += key < _SEVERE_BELOW
        bucket = threat_buckets.get(key)
        if bucket is None:
            bucket = threat_buckets[key] = []
            row_buckets[key] = []
        bucket.append(t)
        row_buckets[key].append(
            f"| {_escape_text(t.id)} | {escaped[severity]} | {labels[category]} | {element_names[t.target]} "
            f"| {_escape_text(t.title)} | {escaped[t.status]} |"
        )
        counts = per_element.get(t.target)
        if counts is None:
            counts = per_element[t.target] = [0] * len(SEVERITY_ORDER)
            kinds[t.target] = t.target_kind
        counts[severity_rank[severity]] += 1
    tally.mitigated, tally.manual, tally.severe = mitigated, manual, severe
    for key in sorted(threat_buckets):
        tally.ranked += threat_buckets[key]
        tally.index_rows += row_buckets[key]
    return tally


def _top_elements(tally: _Tally, names: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """The elements carrying the most critical, then high, then any threats."""
    top = heapq.nlargest(limit, tally.per_element.items(), key=lambda item: (item[1][::-1], sum(item[1])))
    return [
        {"name": names.get(target, target), "id": target, "kind": tally.kinds[target],
         "counts": {s: counts[_SEVERITY_RANK[s]] for s in SEVERITY_ORDER}, "total": sum(counts)}
        for target, counts in top
    ]


_COST_LEVELS = ("none", "low", "medium", "high")


def _plan_by_control(chosen: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan rolled up by control: a large plan puts the same control on hundreds of
    elements, and the decision a reader makes is per control (do we roll out TLS?)."""
    rows: dict[str, dict[str, Any]] = {}
    for m in chosen:
        row = rows.get(m["control"])
        if row is None:
            row = rows[m["control"]] = {"control": m["control"], "name": m["name"], "placements": 0,
                                        "threats": set(), "low": 0.0, "high": 0.0, "unknown": 0,
                                        "latency": "none", "ops": "none"}
        row["placements"] += 1
        row["threats"].update(m["threats"])
        if m["effort_days"]:
            row["low"] += m["effort_days"][0]
            row["high"] += m["effort_days"][1]
        else:
            row["unknown"] += 1
        for cost in ("latency", "ops"):  # the worst of its placements
            if m[cost] in _COST_LEVELS and _COST_LEVELS.index(m[cost]) > _COST_LEVELS.index(row[cost]):
                row[cost] = m[cost]
    result = []
    for row in rows.values():
        effort = f"{round(row['low'], 1)}-{round(row['high'], 1)}" if row["placements"] > row["unknown"] else "?"
        if row["unknown"] and row["placements"] > row["unknown"]:
            effort += f" (+{row['unknown']} unknown)"
        result.append(row | {"threats": len(row["threats"]), "effort": effort})
    result.sort(key=lambda row: (-row["threats"], row["control"]))
    return result


def _plan_excerpt(p: dict[str, Any], limit: int) -> dict[str, Any]:
    """The plan by control, then the first rows of each of its lists, with how many were left out."""
    latency = list(p["latency_added"].items())
    return {
        "by_control": _plan_by_control(p["mitigations"]),
        # Top items: the plan's mitigations that bring the most threats to the appetite.
        "mitigations": heapq.nlargest(limit, p["mitigations"], key=lambda m: len(m["threats"])),
        "latency_added": dict(latency[:limit]),
        "latency_more": max(0, len(latency) - limit),
        "ops_notes": p["ops_notes"][:limit],
        "ops_more": max(0, len(p["ops_notes"]) - limit),
        "left_above_appetite": p["left_above_appetite"][:limit],
        "left_more": max(0, len(p["left_above_appetite"]) - limit),
    }


class MarkdownExporter(Exporter):
    name = "markdown"
    suffix = ".md"

    def __init__(
        self,
        appetite: str = "medium",
        stats: Any = None,
        full_report_max_threats: int = FULL_REPORT_MAX_THREATS,
        detail_cap: int = DETAIL_CAP,
    ):
        self.appetite = appetite
        # Review metrics from the journal (workflow.stats.ReviewStats), when there is one.
        self.stats = stats
        self.full_report_max_threats = full_report_max_threats
        self.detail_cap = detail_cap

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        # The report builds only acyclic data (counts, strings, the plan's figures), but on
        # a large model the collector's full passes re-walk every threat for nothing.
        with gc_paused():
            return self._render(model, arch)

    def _render(self, model: ThreatModel, arch: Architecture) -> str:
        from threatline.engine.plan import plan
        from threatline.formats.plan_output import plan_summary
        from threatline.workflow.actions import valid_signoffs

        threats = model.threats
        summarise = len(threats) > self.full_report_max_threats
        names = {c.id: c.label for c in arch.components}
        names.update({f.id: f.label for f in arch.flows})
        names.update({z.id: z.label for z in arch.zones})
        tally = _tally(threats, names, summarise)
        line = (
            f"Drafted by rules: {len(threats) - tally.manual}; kept as-is: {tally.statuses['confirmed']}; "
            f"tightened: {tally.statuses['tightened']}; rejected: {tally.statuses['rejected']}; "
            f"added by hand: {tally.manual}; still in draft: {tally.statuses['draft']}; retired: {tally.statuses['retired']}."
        )
        the_plan = plan_summary(plan(threats, model.mitigations, self.appetite), model)
        context: dict[str, Any] = {
            "figures": tally.figures,
            "review": {"line": line, "valid": valid_signoffs(model), "stats": self.stats},
            "plan": the_plan,
            "model": model,
            "arch": arch,
            "names": names,
            "categories": [c.value for c in StrideCategory],
            "severities": list(reversed(SEVERITY_ORDER)),
            "by_cat": tally.by_cat,
            "by_sev": tally.by_sev,
            "matrix": tally.matrix,
            "mitigated": tally.mitigated,
        }
        if summarise:
            context |= self._summary_context(model, arch, names, tally, the_plan)
        else:
            context |= {"summary": None, "details": threats, "diagram": Markup(mermaid(arch)), "plan_excerpt": None,
                        "mitigations": {m.id: m for m in model.mitigations}}
        return environment().get_template("report.md.j2").render(context)

    def _summary_context(
        self, model: ThreatModel, arch: Architecture, names: dict[str, str], tally: _Tally, the_plan: dict[str, Any]
    ) -> dict[str, Any]:
        details = tally.ranked[: self.detail_cap]
        # One pass over the mitigations: their statuses, and the few the details name.
        wanted = {mid for t in details for mid in t.proposed_mitigations}
        mitigations = {}
        statuses: Counter[str] = Counter()
        for m in model.mitigations:
            statuses[m.status] += 1
            if m.id in wanted:
                mitigations[m.id] = m
        diagram = None
        if len(arch.flows) <= MERMAID_MAX_EDGES:
            text = mermaid(arch)
            diagram = Markup(text) if len(text) <= MERMAID_MAX_TEXT else None
        return {
            "summary": {
                "limit": self.full_report_max_threats,
                "detail_cap": self.detail_cap,
                "severe": tally.severe,
                "elements": _top_elements(tally, names, EXCERPT_ROWS),
                "mitigation_statuses": statuses.most_common(),
                "index": Markup("\n".join(tally.index_rows)),
            },
            "details": details,
            "mitigations": mitigations,
            "diagram": diagram,
            "plan_excerpt": _plan_excerpt(the_plan, EXCERPT_ROWS),
        }
