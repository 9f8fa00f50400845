"""Commands of the living threat model: drift, check (the CI gate), scan, and the decisions
that resolve drift (threat reconfirm / retire, mitigation reconfirm). See docs/drift.md.

Exit codes as everywhere: 0 fine, 1 needs review (or a refused decision), 2 bad input.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from threatline import drift_service, service
from threatline.cli import ControlsOpt, RulesOpt, _print_diagnostics, app, err, handle_errors, out
from threatline.drift.impact import ACTIONS, LABELS
from threatline.formats import drift_json, drift_markdown, drift_sarif
from threatline.formats.yamlio import atomic_write
from threatline.identity import current_identity
from threatline.review_cli import (
    AsOpt,
    ModelArg,
    ReasonOpt,
    TeamOpt,
    _ask,
    _decide,
    mitigation_app,
    threat_app,
)
from threatline.workflow import actions

ArchArg = Annotated[Path, typer.Argument(metavar="ARCHITECTURE", help="Architecture YAML file.")]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")]
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
STATUS_STYLE = {"current": "green", "error": "red"}


class CheckFormat(StrEnum):
    text = "text"
    md = "md"
    markdown = "markdown"
    json = "json"
    sarif = "sarif"


class DriftFormat(StrEnum):
    text = "text"
    md = "md"
    markdown = "markdown"
    json = "json"


class ScanFormat(StrEnum):
    table = "table"
    md = "md"
    markdown = "markdown"
    json = "json"


def _emit(text: str, output: Path | None) -> None:
    if output is not None:
        atomic_write(output, text)
        err.print(f"wrote {output}", markup=False, highlight=False)
    else:
        sys.stdout.write(text)


def _summary(a: drift_service.Analysis, limit: int = 20, gate: bool = True) -> None:
    style = STATUS_STYLE.get(a.status, "yellow")
    out.print(f"[{style}]{a.status}[/]: {drift_markdown.STATUS_TEXT[a.status]}" + (f" (exit {a.exit_code})" if gate else ""))
    out.print(f"model: {a.info.system}  stage: {a.stage}  revision {a.info.revision}", markup=False, highlight=False)
    for r in a.reasons():
        out.print(f"  - {r}", markup=False, highlight=False)
    if a.grouped:
        table = Table(title=f"Architecture changes ({len(a.grouped)})")
        for col in ("Severity", "Change", "Line", "Impact"):
            table.add_column(col, overflow="fold")
        for ci in a.grouped[:limit]:
            kinds: dict[str, int] = {}
            for i in ci.items:
                kinds[LABELS[i.kind]] = kinds.get(LABELS[i.kind], 0) + 1
            table.add_row(f"[{SEVERITY_STYLE[ci.severity]}]{ci.severity}[/]", escape(ci.change.summary()),
                          str(a.line_of_change(ci.change)),
                          ", ".join(f"{n} {k}" for k, n in kinds.items()) or "-")
        out.print(table)
        if len(a.grouped) > limit:
            out.print(f"... and {len(a.grouped) - limit} more changes (--format json for all)")
    if a.items:
        table = Table(title=f"To review, most important first ({len(a.items)})")
        for col in ("Severity", "Who", "Item", "What", "Detail", "Decide with"):
            table.add_column(col, overflow="fold", no_wrap=col == "Item", min_width=12 if col == "Item" else None)
        for i in a.items[:limit]:
            table.add_row(f"[{SEVERITY_STYLE[i.severity]}]{i.severity}[/]", i.role, i.target,
                          escape(f"{LABELS[i.kind]}: {i.title}"), escape(i.detail), ACTIONS[i.kind])
        out.print(table)
        if len(a.items) > limit:
            out.print(f"... and {len(a.items) - limit} more items (--format json for all)")
    if a.open_items:
        table = Table(title=f"Recorded drift items waiting for a decision ({len(a.open_items)})")
        for col in ("Severity", "Who", "Item", "Note"):
            table.add_column(col, overflow="fold", no_wrap=col == "Item", min_width=12 if col == "Item" else None)
        for o in a.open_items[:limit]:
            table.add_row(f"[{SEVERITY_STYLE[o.severity]}]{o.severity}[/]", o.role, o.target, escape(o.note))
        out.print(table)
    if a.expiring:
        soonest = a.expiring[0][0].expires
        out.print(f"{len(a.expiring)} risk acceptance(s) end within 30 days (the first on {soonest}): "
                  "see 'threatline review' (risk-owner) or --format json", markup=False, highlight=False)


# ---------------------------------------------------------------- check


@app.command()
@handle_errors
def check(
    architecture: ArchArg,
    model_file: ModelArg,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="text (terminal), md (pull-request comment), json or sarif.")] = CheckFormat.text,
    output: OutputOpt = None,
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
) -> None:
    """CI gate: exit 0 when the model is current (no drift, nothing to review) and published; 1 when drift needs review or the model is not published; 2 on bad input.

    Example: [bold]threatline check architecture.yaml threatmodel.yaml --format sarif -o threatline.sarif[/bold]
    """
    # The report is built from the analysis' objects: no collector passes over them either.
    with drift_service.collector_paused():
        a = drift_service.analyse(architecture, model_file, rules, controls)
        _print_diagnostics(a.warnings)
        if fmt is CheckFormat.text:
            _summary(a)
        elif fmt in (CheckFormat.md, CheckFormat.markdown):
            _emit(drift_markdown.render_analysis(a), output)
        elif fmt is CheckFormat.json:
            _emit(drift_json.render_analysis(a), output)
        else:
            _emit(drift_sarif.render(a), output)
    raise typer.Exit(a.exit_code)


# ---------------------------------------------------------------- drift


@app.command()
@handle_errors
def drift(
    architecture: ArchArg,
    model_file: ModelArg,
    fmt: Annotated[DriftFormat, typer.Option("--format", "-f", help="text, md or json.")] = DriftFormat.text,
    output: OutputOpt = None,
    record: Annotated[bool, typer.Option("--record", help="Re-draft into the model and record each item as a drift note for its role.")] = False,
    who: AsOpt = None,
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
) -> None:
    """What changed in the architecture since the model was drafted, and what it touches (ranked).

    Example: [bold]threatline drift architecture.yaml threatmodel.yaml[/bold]
    Example: [bold]threatline drift architecture.yaml threatmodel.yaml --record[/bold]  (then: threatline review)
    """
    a = drift_service.analyse(architecture, model_file, rules, controls)
    _print_diagnostics(a.warnings)
    if record:
        if not a.changes and a.has_snapshot:
            out.print("no drift: the model already describes this architecture; nothing recorded")
            return
        result = service.draft_file(architecture, rules, controls)
        saved = service.write_outputs(result, model_file.parent, stem=model_file.stem, who=current_identity(who))
        notes = saved.drift.notes if saved.drift is not None else {}
        total = sum(notes.values())
        m = saved.merge
        out.print(f"recorded {len(a.changes)} change(s) into {model_file}: {total} drift note(s)"
                  + (f" ({', '.join(f'{n} {LABELS[k]}' for k, n in sorted(notes.items()))})" if notes else "")
                  + (f"; {len(m.added)} new threat(s) to review, {len(m.retired)} retired" if m else ""),
                  markup=False, highlight=False)
        out.print("next: threatline review " + str(model_file), markup=False, highlight=False)
        return
    with drift_service.collector_paused():  # as in check
        if fmt is DriftFormat.text:
            _summary(a, limit=50, gate=False)
        elif fmt is DriftFormat.json:
            _emit(drift_json.render_analysis(a), output)
        else:
            _emit(drift_markdown.render_analysis(a, title="Threatline drift"), output)


# ---------------------------------------------------------------- scan


@app.command()
@handle_errors
def scan(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Directories to walk for architecture.yaml + threatmodel.yaml, or list files of 'ARCH MODEL' lines.")],
    fmt: Annotated[ScanFormat, typer.Option("--format", "-f", help="table (terminal), md or json.")] = ScanFormat.table,
    output: OutputOpt = None,
    fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help="Exit 1 when any model is not current and published.")] = False,
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
) -> None:
    """Scan many models at once: per model its status, drift items by severity and risk acceptances ending within 30 days.

    Example: [bold]threatline scan ~/src --format md -o weekly.md[/bold]
    """
    pairs = drift_service.find_pairs(paths)
    if not pairs:
        err.print("no architecture.yaml with a threatmodel.yaml beside it was found", style="red")
        raise typer.Exit(2)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("scanning", total=len(pairs))
        entries = drift_service.scan(pairs, rules, controls, progress=lambda e: progress.advance(task))
    if fmt is ScanFormat.json:
        _emit(drift_json.render_scan(entries), output)
    elif fmt in (ScanFormat.md, ScanFormat.markdown):
        _emit(drift_markdown.render_scan(entries), output)
    else:
        table = Table(title=f"Threat models: {len(entries)}")
        for col in ("Model", "System", "Status", "Stage", "Crit", "High", "Med", "Low", "Acceptances ≤30d"):
            table.add_column(col)
        for e in entries:
            if e.analysis is None:
                table.add_row(escape(str(e.model)), "", "[red]error[/]", escape(e.error), "", "", "", "", "")
                continue
            a = e.analysis
            c = a.severity_counts()
            table.add_row(escape(str(e.model)), escape(a.info.system), f"[{STATUS_STYLE.get(a.status, 'yellow')}]{a.status}[/]",
                          a.stage, str(c["critical"]), str(c["high"]), str(c["medium"]), str(c["low"]),
                          str(len(a.expiring)))
        out.print(table)
    if fail_on_drift and any(e.status != "current" for e in entries):
        raise typer.Exit(1)


# ---------------------------------------------------------------- decisions that resolve drift


@threat_app.command("reconfirm")
@handle_errors
def threat_reconfirm(
    model_file: ModelArg,
    threat_ids: Annotated[list[str], typer.Argument(metavar="THREAT...", help="Threats with drift items.")],
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """The threat still stands after the architecture change: resolve its drift items (security).

    Example: [bold]threatline threat reconfirm threatmodel.yaml T-3f9a2c1d0b -r "TLS restored in PR 812"[/bold]
    """
    for tid in threat_ids:
        _decide(model_file, who, team_file, actions.reconfirm, tid, reason)


@threat_app.command("retire")
@handle_errors
def threat_retire(
    model_file: ModelArg,
    threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """The threat no longer applies to the changed architecture: retire it, with a reason (security).

    Example: [bold]threatline threat retire threatmodel.yaml T-3f9a2c1d0b -r "the fraud service was decommissioned"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.retire, threat_id, reason)


@mitigation_app.command("reconfirm")
@handle_errors
def mitigation_reconfirm(
    model_file: ModelArg,
    mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
    placement: Annotated[str | None, typer.Option(help="Move it to this element (component, flow or zone id).")] = None,
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Architect: after an architecture change, keep an approved mitigation where it is or move it.

    Example: [bold]threatline mitigation reconfirm threatmodel.yaml M-84d3c2d49f --placement api-gateway -r "moved to the new edge"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.reconfirm_mitigation, mitigation_id, placement, reason)
