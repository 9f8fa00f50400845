"""Command line: parse arguments, call the use cases, render with rich. No logic here."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from threatline import __version__, service
from threatline.engine.scoring import override_factor
from threatline.formats.knowledge_packs import load_knowledge, load_knowledge_with_sources
from threatline.formats.markdown import CATEGORY_LABELS, DETAIL_CAP, FULL_REPORT_MAX_THREATS
from threatline.formats.threatmodel_yaml import load_plan_view
from threatline.formats.yamlio import atomic_write
from threatline.identity import current_identity
from threatline.model.architecture import did_you_mean
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import SEVERITY_ORDER
from threatline.store.directory import ModelStore
from threatline.workflow.actions import Event

app = typer.Typer(
    name="threatline",
    help="Turn an architecture description into a reviewed, versioned STRIDE threat model.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
rules_app = typer.Typer(help="List and check threat rule packs.", no_args_is_help=True)
controls_app = typer.Typer(help="The controls catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(controls_app, name="controls")

out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="A directory of your own rule packs (repeatable).", show_default=False),
]
ControlsOpt = Annotated[
    list[Path] | None,
    typer.Option("--controls", help="Your own controls catalogue file (repeatable).", show_default=False),
]

LIST_ROWS = 20  # lines of a list (latency notes, threats left) at a terminal
TABLE_ROWS = 60  # a terminal table beyond this is unreadable (and slow to lay out)
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}


def _print_diagnostics(diags: list[Diagnostic]) -> None:
    for d in diags:
        style = "red" if d.severity == "error" else "yellow"
        err.print(d.render(), style=style, markup=False, highlight=False, emoji=False, soft_wrap=True)


def handle_errors(func: F) -> F:
    """Bad input ends with located messages and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _print_diagnostics(exc.diagnostics)
            errors = sum(1 for d in exc.diagnostics if d.severity == "error")
            err.print(f"{errors} error(s); nothing was written.", style="red")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if _state["debug"]:
                raise
            err.print(f"error: {exc.strerror or exc}: {exc.filename or ''}", style="red", markup=False)
            raise typer.Exit(2) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            err.print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)",
                      style="red", markup=False)
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        out.print(f"threatline {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    _state["debug"] = debug


# ---------------------------------------------------------------- init


@app.command()
@handle_errors
def init(
    directory: Annotated[Path | None, typer.Argument(help="Where to write architecture.yaml (default examples/NAME/).")] = None,
    example: Annotated[str, typer.Option("--example", "-e", help="Bundled example to start from.")] = "payments",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a bundled example architecture to start from.

    Example: [bold]threatline init --example payments[/bold]  (writes examples/payments/architecture.yaml)
    """
    text = service.read_example(example)
    target_dir = directory if directory is not None else Path("examples") / example
    target = target_dir / "architecture.yaml"
    if target.exists() and not force:
        raise InputError([Diagnostic(file=str(target), message="already exists", hint="use --force to overwrite")])
    atomic_write(target, text)
    out.print(f"wrote {target}")
    out.print(f"next: threatline draft {target}")


# ---------------------------------------------------------------- validate


@app.command()
@handle_errors
def validate(
    architecture: Annotated[Path, typer.Argument(help="Architecture YAML file.")],
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
) -> None:
    """Check an architecture file against the format; exit 2 with located errors.

    Example: [bold]threatline validate architecture.yaml[/bold]
    """
    knowledge = load_knowledge(rules, controls)
    arch, warnings = service.validate_file(architecture, knowledge)
    _print_diagnostics(warnings)
    out.print(
        f"ok: {len(arch.components)} components, {len(arch.flows)} flows, {len(arch.zones)} zones, "
        f"{len(arch.data)} data assets, {len(arch.baseline)} baseline controls"
        + (f" ({len(warnings)} warning(s))" if warnings else "")
    )


# ---------------------------------------------------------------- draft


class DraftFormat(StrEnum):
    files = "files"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"


@app.command()
@handle_errors
def draft(
    architecture: Annotated[Path, typer.Argument(help="Architecture YAML file.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Directory for threatmodel.yaml and threatmodel.md (default: beside the architecture).")] = None,
    fmt: Annotated[DraftFormat, typer.Option("--format", "-f", help="'files' writes threatmodel.yaml + .md; json/yaml/markdown print to stdout and write nothing.")] = DraftFormat.files,
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table, just the summary line.")] = False,
) -> None:
    """Draft a STRIDE threat model from an architecture file (offline rule engine).

    Example: [bold]threatline draft examples/payments/architecture.yaml[/bold]
    Example: [bold]threatline draft architecture.yaml --format json > threatmodel.json[/bold]
    """
    result = service.draft_file(architecture, rules, controls)
    if fmt is not DraftFormat.files:
        _print_diagnostics(result.warnings)
        sys.stdout.flush()
        for chunk in service.OUTPUTS[fmt.value].render_chunks(result.model, result.arch):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    _print_diagnostics(result.warnings)
    saved = service.write_outputs(result, output if output is not None else architecture.parent, who=current_identity(None))
    written = saved.paths
    model = saved.model
    if saved.merge is not None:
        m = saved.merge
        out.print(f"merged into the existing model: {len(m.added)} new, {len(m.kept)} kept with their decisions, "
                  f"{len(m.retired)} retired, {len(m.revived)} back to review"
                  + ("" if saved.changed else " (no change)"))
    if saved.drift is not None and saved.drift.changes:
        notes = sum(saved.drift.notes.values())
        out.print(f"the architecture changed since the last draft: {len(saved.drift.changes)} change(s), "
                  f"{notes} drift note(s) for review (threatline review {written[0]})", markup=False, highlight=False)
    if not quiet:
        _threat_table(model, {c.id: c.label for c in result.arch.components} | {f.id: f.label for f in result.arch.flows} | {z.id: z.label for z in result.arch.zones})
    sev: Counter[str] = Counter()
    cats: set[str] = set()
    mitigated = 0
    for t in model.threats:  # one pass: a large model has tens of thousands of threats
        sev[t.severity] += 1
        cats.add(t.category.value)
        mitigated += t.coverage == "mitigated"
    out.print(
        f"{len(model.threats)} threats ("
        + ", ".join(f"{sev[s]} {s}" for s in reversed(SEVERITY_ORDER))
        + f") in {len(cats)}/6 STRIDE categories; {mitigated} mitigated by controls in place"
    )
    if len(model.threats) > FULL_REPORT_MAX_THREATS:
        out.print(f"the report summarises a model this large (over {FULL_REPORT_MAX_THREATS} threats): "
                  f"the {DETAIL_CAP} most severe threats in full and a one-line index of all of them")
    for path in written:
        out.print(f"wrote {path}")


def _threat_table(model: Any, names: dict[str, str]) -> None:
    table = Table(title=f"Threat model: {model.system}", show_lines=False, expand=False)
    table.add_column("Id", style="dim", no_wrap=True)
    table.add_column("Element")
    table.add_column("Category")
    table.add_column("Threat")
    table.add_column("Severity")
    table.add_column("Current")
    # Only the most severe threats can make the table: group by severity in one cheap
    # pass, then rank just the groups that fill it rather than every threat.
    by_severity: dict[str, list[Any]] = {s: [] for s in SEVERITY_ORDER}
    for t in model.threats:
        by_severity[t.severity].append(t)
    candidates: list[Any] = []
    for severity in reversed(SEVERITY_ORDER):
        if len(candidates) >= TABLE_ROWS:
            break
        candidates += by_severity[severity]
    severity_rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    # (a StrEnum category sorts as its value)
    ranked = sorted(candidates, key=lambda t: (-severity_rank[t.severity], t.target, t.category))[:TABLE_ROWS]
    if len(model.threats) > TABLE_ROWS:
        table.caption = f"the {TABLE_ROWS} most severe of {len(model.threats)} threats; all are in the report"
    for t in ranked:
        table.add_row(
            t.id,
            names.get(t.target, t.target),
            CATEGORY_LABELS[t.category.value],
            t.title,
            f"[{SEVERITY_STYLE[t.severity]}]{t.severity}[/]",
            ", ".join(t.current_mitigations) or "-",
        )
    out.print(table)


# ---------------------------------------------------------------- plan


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class PlanMethod(StrEnum):
    auto = "auto"
    exact = "exact"
    greedy = "greedy"


@app.command()
@handle_errors
def plan(
    model_file: Annotated[Path, typer.Argument(metavar="MODEL", help="threatmodel.yaml written by 'draft'.")],
    appetite: Annotated[str, typer.Option(help="Highest severity you accept: low, medium, high or critical.")] = "medium",
    budget: Annotated[str | None, typer.Option(help="Person-day budget (30d, 6w): maximise risk removed within it.")] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", "-f", help="text, json or markdown.")] = PlanFormat.text,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")] = None,
    method: Annotated[PlanMethod, typer.Option(help="auto: exact when small, greedy beyond.")] = PlanMethod.auto,
) -> None:
    """Choose the proposed mitigations that bring every threat to your risk appetite at least effort.

    Example: [bold]threatline plan examples/payments/threatmodel.yaml --appetite medium --budget 30d[/bold]
    """
    if appetite not in SEVERITY_ORDER:
        raise InputError([Diagnostic(file="--appetite", message=f"unknown severity '{appetite}'",
                                     hint="one of " + ", ".join(SEVERITY_ORDER))])
    # Imported here: only this command plans (every command pays for the CLI's imports).
    from threatline.engine.plan import plan as compute_plan
    from threatline.formats.plan_output import parse_budget, plan_json, plan_markdown

    model = load_plan_view(model_file)  # only the fields a plan reads
    days = parse_budget(budget) if budget is not None else None
    result = compute_plan(model.threats, model.mitigations, appetite, days, method.value)
    if fmt is PlanFormat.json:
        text = plan_json(result, model)
    elif fmt is PlanFormat.markdown:
        text = plan_markdown(result, model)
    else:
        _plan_table(result, model)
        return
    if output is not None:
        atomic_write(output, text)
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def _plan_table(result: Any, model: Any) -> None:
    """The plan at a terminal: the mitigations that fix the most threats, then the totals.

    A large plan (tens of thousands of mitigations) is summarised: its table and lists are
    capped, and --format markdown|json gives all of it.
    """
    from threatline.formats.plan_output import plan_summary

    summary = plan_summary(result, model)
    chosen = summary["mitigations"]
    table = Table(title=f"Mitigation plan, appetite {result.appetite}"
                  + (f", budget {result.budget_days:g} person-days" if result.budget_days is not None else ""))
    for col in ("Control", "Placement", "Threats", "Effort (d)", "Latency", "Ops"):
        table.add_column(col)
    shown = chosen if len(chosen) <= TABLE_ROWS else sorted(chosen, key=lambda m: -len(m["threats"]))[:TABLE_ROWS]
    if len(shown) < len(chosen):
        table.caption = (f"the {TABLE_ROWS} of {len(chosen)} mitigations that fix the most threats; "
                         "all of them: --format markdown or json")
    for m in shown:
        effort = f"{m['effort_days'][0]:g}-{m['effort_days'][1]:g}" if m["effort_days"] else "?"
        table.add_row(m["name"], m["placement"], str(len(m["threats"])), effort, str(m["latency"]), str(m["ops"]))
    out.print(table)
    e = summary["effort_days"]
    out.print(f"{len(chosen)} mitigations, {e['low']:g}-{e['high']:g} person-days "
              f"(expected {e['expected']:g}), {result.method} planner")
    out.print("severity now:   " + ", ".join(f"{n} {s}" for s, n in summary["severity_before"].items()))
    out.print("after the plan: " + ", ".join(f"{n} {s}" for s, n in summary["severity_after"].items()))
    latency = list(summary["latency_added"].items())
    for where, items in latency[:LIST_ROWS]:
        out.print(f"latency on {where}: {'; '.join(items)}", markup=False)
    if len(latency) > LIST_ROWS:
        out.print(f"... latency on {len(latency) - LIST_ROWS} more element(s): --format markdown or json lists them")
    ops = summary["ops_burden"]
    out.print(f"ops burden: {ops['high']} high, {ops['medium']} medium, {ops['low']} low")
    left = summary["left_above_appetite"]
    if left:
        out.print(f"[yellow]{len(left)} threat(s) left above appetite:[/yellow]")
        for t in left[:LIST_ROWS]:
            out.print(f"  {t['threat']} {t['title']} ({t['severity']}): {t['why']}", markup=False)
        if len(left) > LIST_ROWS:
            out.print(f"  ... and {len(left) - LIST_ROWS} more: --format markdown or json lists them")
    else:
        out.print("[green]every threat is at or below the appetite after this plan[/green]")


@app.command()
@handle_errors
def override(
    model_file: Annotated[Path, typer.Argument(metavar="MODEL", help="threatmodel.yaml to change.")],
    threat_id: Annotated[str, typer.Argument(metavar="THREAT", help="Threat id, e.g. T-3f9a2c1d0b.")],
    factor: Annotated[str, typer.Argument(metavar="SCORE.FACTOR=DELTA", help="e.g. likelihood.exposure=-1 or impact.data-tags=0")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (required).")] = "",
    who: Annotated[str | None, typer.Option("--as", help="Who overrides (default: git config user.email).")] = None,
) -> None:
    """Override one likelihood or impact factor of a threat, with a reason; every figure is rescored.

    Example: [bold]threatline override threatmodel.yaml T-3f9a2c1d0b likelihood.exposure=-1 -r "only reachable over the VPN"[/bold]
    """
    name, _, delta_text = factor.partition("=")
    score, _, factor_name = name.partition(".")
    if score not in ("likelihood", "impact") or not factor_name or not delta_text.lstrip("+-").isdigit():
        raise InputError([Diagnostic(file=str(model_file), key=factor, message="cannot read the override",
                                     hint="write SCORE.FACTOR=DELTA, e.g. likelihood.exposure=-1")])
    if not reason.strip():
        raise InputError([Diagnostic(file=str(model_file), key=threat_id, message="an override needs a reason",
                                     hint='add --reason "..."')])
    model = ModelStore(model_file).load().model
    index = next((i for i, t in enumerate(model.threats) if t.id == threat_id), None)
    if index is None:
        raise InputError([Diagnostic(file=str(model_file), key=threat_id, message="no such threat",
                                     hint=did_you_mean(threat_id, [t.id for t in model.threats]))])
    before = model.threats[index]
    who = current_identity(who) or "reviewer"
    after = override_factor(before, score, factor_name, int(delta_text), reason, f"reviewer:{who}")
    model.threats[index] = after
    store = ModelStore(model_file)
    loaded = store.load()
    event = Event("threat.override", threat_id, "reviewer", {"factor": name, "severity": before.severity},
                  {"factor": name, "delta": int(delta_text), "severity": after.severity}, reason)
    store.commit(loaded, model, [event], who, service.utc_now())
    out.print(f"{threat_id}: {score} {getattr(before, score).value} -> {getattr(after, score).value}, "
              f"severity {before.severity} -> {after.severity}")


# ---------------------------------------------------------------- rules


@rules_app.command("list")
@handle_errors
def rules_list(
    rules: RulesOpt = None,
    controls: ControlsOpt = None,
    category: Annotated[str | None, typer.Option(help="Only this STRIDE category.")] = None,
) -> None:
    """List every rule with its pack, category and what it applies to.

    Example: [bold]threatline rules list --rules ./our-rules[/bold]
    """
    _, loaded = load_knowledge_with_sources(rules, controls)
    table = Table(title=f"{len(loaded)} rules")
    for col in ("Id", "Pack", "Category", "Applies to", "Title"):
        table.add_column(col)
    for lr in sorted(loaded, key=lambda lr: lr.rule.id):
        r = lr.rule
        if category and r.category.value != category:
            continue
        table.add_row(r.id, r.pack, r.category.value, r.applies_to, r.title)
    out.print(table)


@rules_app.command("check")
@handle_errors
def rules_check(
    directory: Annotated[Path | None, typer.Argument(help="Rule pack directory (default: the bundled packs).")] = None,
    controls: ControlsOpt = None,
) -> None:
    """Validate rule packs against the schema and run each rule's fixtures.

    Example: [bold]threatline rules check ./our-rules[/bold]
    """
    results = service.check_rules([directory] if directory else [], controls, bundled_only=directory is None)
    failed = [r for r in results if not r.ok]
    without = [r for r in results if r.ok and r.messages]
    for r in failed:
        out.print(f"[red]FAIL[/red] {r.rule_id} ({r.file})")
        for m in r.messages:
            out.print(f"     {m}", markup=False)
    for r in without:
        out.print(f"[yellow]note[/yellow] {r.rule_id}: {', '.join(r.messages)}")
    out.print(f"{len(results) - len(failed)} of {len(results)} rules pass")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- controls


@controls_app.command("list")
@handle_errors
def controls_list(controls: ControlsOpt = None) -> None:
    """List the controls catalogue (ids usable in 'controls:' and 'baseline:').

    Example: [bold]threatline controls list[/bold]
    """
    knowledge = load_knowledge(None, controls)
    table = Table(title=f"{len(knowledge.controls)} controls")
    for col in ("Id", "Name", "Mitigates", "Effort (days)", "Latency", "Ops"):
        table.add_column(col)
    for c in sorted(knowledge.controls.values(), key=lambda c: c.id):
        table.add_row(
            c.id, c.name, ", ".join(m.value for m in c.mitigates),
            f"{c.cost.effort_days[0]:g}-{c.cost.effort_days[1]:g}", c.cost.latency, c.cost.ops,
        )
    out.print(table)


def main() -> None:
    """The console script. It ends the process without the interpreter's teardown, as mypy
    does: freeing one by one the objects of a large model or architecture takes a tenth of a
    second, and a CI gate runs on every push. Every file a command writes is closed before
    it returns; the standard streams are flushed here."""
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (| head): nothing left to say
            stream.flush()
    os._exit(code)


# The review-loop and drift commands register themselves on `app`.
from threatline import drift_cli, review_cli  # noqa: E402, F401

if __name__ == "__main__":
    main()
