"""Commands of the review loop: queue, decisions, sign-offs, versions, audit, metrics.

Each decision command is scriptable with flags and asks for what is missing when a
person runs it at a terminal. The rules themselves live in workflow/actions.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from threatline.cli import app, err, handle_errors, out
from threatline.formats.team_toml import team_for
from threatline.identity import current_identity
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.service import utc_now
from threatline.store.directory import ModelStore
from threatline.workflow import actions
from threatline.workflow.actions import WorkflowError
from threatline.workflow.queue import queue
from threatline.workflow.stats import review_stats
from threatline.workflow.versions import ModelDiff, diff_models

threat_app = typer.Typer(help="Review drafted threats: confirm, tighten, reject, add, re-score.", no_args_is_help=True)
mitigation_app = typer.Typer(help="Decide on mitigations: approve, reject, adjust, feasibility, progress.", no_args_is_help=True)
risk_app = typer.Typer(help="Accept or escalate residual risk above the appetite.", no_args_is_help=True)
app.add_typer(threat_app, name="threat")
app.add_typer(mitigation_app, name="mitigation")
app.add_typer(risk_app, name="risk")

ModelArg = Annotated[Path, typer.Argument(metavar="MODEL", help="threatmodel.yaml")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Act as this identity (default: git config user.email).")]
TeamOpt = Annotated[Path | None, typer.Option("--team", help="threatline.toml to use (default: nearest one).")]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why.")]


def _ask(value: str, prompt: str, required: bool = True) -> str:
    """Ask a person at a terminal for what the flags did not give; scripts must pass flags."""
    if value or not required:
        return value
    if sys.stdin.isatty():
        return typer.prompt(prompt)
    return value


def _who(explicit: str | None) -> str:
    who = current_identity(explicit)
    if not who:
        raise InputError([Diagnostic(file="identity", message="cannot tell who you are",
                                     hint="pass --as EMAIL or set git config user.email")])
    return who


def _decide(model_file: Path, who_opt: str | None, team_opt: Path | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
    team, _ = team_for(model_file, team_opt)
    who = _who(who_opt)
    store = ModelStore(model_file)
    loaded = store.load()
    now = utc_now()
    try:
        new, event = fn(loaded.model, team, who, now, *args, **kwargs)
    except WorkflowError as exc:
        err.print(f"refused: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    saved = store.commit(loaded, new, [event], who, now)
    out.print(f"{event.action} {event.target} by {who} ({event.role}) recorded", markup=False)
    voided = actions.void_signoffs(saved)
    if voided:
        out.print(f"[yellow]note:[/yellow] sign-offs now void (content changed): {', '.join(voided)}")
    return saved


# ---------------------------------------------------------------- queue and status


@app.command()
@handle_errors
def review(
    model_file: ModelArg,
    role: Annotated[str | None, typer.Option(help="Only this role's queue (default: your roles).")] = None,
    who: AsOpt = None,
    team_file: TeamOpt = None,
    all_roles: Annotated[bool, typer.Option("--all", help="Every role's queue.")] = False,
) -> None:
    """Show what waits for you: most severe and oldest first.

    Example: [bold]threatline review threatmodel.yaml --as ana@example.com[/bold]
    """
    team, _ = team_for(model_file, team_file)
    model = ModelStore(model_file).load().model
    roles: list[str] | None = None
    if role:
        roles = [role]
    elif not all_roles:
        member = team.member(current_identity(who) or "")
        roles = list(member.roles) if member else None
    items = [i for i in queue(model, utc_now()) if roles is None or i.role in roles]
    table = Table(title=f"Review queue ({', '.join(roles) if roles else 'all roles'}): {len(items)} item(s)")
    for col in ("Role", "Kind", "Target", "Severity", "What", "Action"):
        table.add_column(col)
    for i in items:
        table.add_row(i.role, i.kind, i.target, i.severity, i.title, i.detail)
    out.print(table)


@app.command()
@handle_errors
def status(model_file: ModelArg) -> None:
    """Stage of the model, sign-offs (valid or void) and review progress.

    Example: [bold]threatline status threatmodel.yaml[/bold]
    """
    store = ModelStore(model_file)
    model = store.load().model
    published = store.versions()
    latest = published[-1].content_hash if published else None
    stage = actions.model_status(model, utc_now(), latest)
    out.print(f"model: {model.system}  stage: [bold]{stage}[/bold]  revision {model.revision}")
    valid = actions.valid_signoffs(model)
    for s in model.signoffs:
        state = "valid" if valid.get(s.stage) is s else "void (content changed since)"
        out.print(f"  sign-off {s.stage} by {s.by} at {s.at}: {state}", markup=False)
    counts: dict[str, int] = {}
    for t in model.threats:
        counts[t.status] = counts.get(t.status, 0) + 1
    out.print("threats: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for stage_name in ("security", "architecture", "stakeholder"):
        if stage_name not in valid:
            problems = actions.gate_problems(model, stage_name, utc_now())
            if problems:
                out.print(f"next gate ({stage_name}): " + "; ".join(problems[:3]), markup=False)
            else:
                out.print(f"next: sign off {stage_name}")
            break


# ---------------------------------------------------------------- threats


@threat_app.command("show")
@handle_errors
def threat_show(
    model_file: ModelArg,
    threat_id: Annotated[str, typer.Argument(metavar="THREAT", help="A threat id.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
) -> None:
    """Everything about one threat: why it was drafted, how it is scored, what covers it
    now and the mitigations proposed for it, with their cost and residual risk.

    Example: [bold]threatline threat show threatmodel.yaml T-3f9a2c1d0b[/bold]
    """
    if fmt not in ("text", "json"):
        raise InputError([Diagnostic(file=str(model_file), key="--format", message=f"unknown format {fmt!r}",
                                     hint="use text or json")])
    model = ModelStore(model_file).load().model
    threat = next((t for t in model.threats if t.id == threat_id), None)
    if threat is None:
        raise InputError([Diagnostic(file=str(model_file), key=threat_id, message="no threat with this id",
                                     hint="ids are listed in threatmodel.md and by 'threatline review'")])
    wanted = set(threat.proposed_mitigations)
    mitigations = [m for m in model.mitigations if m.id in wanted or threat.id in m.threats]
    if fmt == "json":
        doc = {"threat": threat.model_dump(mode="json"), "mitigations": [m.model_dump(mode="json") for m in mitigations]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    line = lambda text: out.print(text, markup=False, highlight=False)  # noqa: E731 - user text, never markup
    line(f"{threat.id}  {threat.severity.upper()}  {threat.category}  [{threat.status}]")
    line(threat.title)
    line(f"target: {threat.target} ({threat.target_kind})  source: {threat.source}")
    line("")
    line(threat.description)
    line("")
    for name, score in (("likelihood", threat.likelihood), ("impact", threat.impact)):
        parts = "; ".join(f"{f.delta:+d} {f.reason}" if f.delta else f.reason for f in score.factors)
        line(f"{name} {score.value} (base {score.base}): {parts}")
    figures = [("inherent", threat.inherent), ("current", threat.current), ("residual", threat.residual)]
    line("risk: " + ", ".join(f"{label} {fig.severity} ({fig.likelihood}x{fig.impact})" for label, fig in figures if fig))
    if threat.severity_reason:
        line(f"why: {threat.severity_reason}")
    if threat.mitigation_details:
        line("in place: " + ", ".join(f"{d.control} ({d.via}{', partial' if d.partial else ''})" for d in threat.mitigation_details))
    for m in mitigations:
        cost = ""
        if m.cost is not None:
            low, high = m.cost.effort_days
            cost = f"; {low:g}-{high:g} person-days, latency {m.cost.latency}, ops {m.cost.ops}"
        outcome = next((o for o in m.outcomes if o.threat == threat.id), None)
        after = f"; leaves {outcome.after.severity}" if outcome else ""
        line(f"mitigation {m.id} [{m.status}]: {m.name or m.control} at {m.placement_name or m.placement}{cost}{after}")
        if m.rationale:
            line(f"    {m.rationale}")
    if threat.review is not None:
        line(f"review: {threat.status} by {threat.review.by} at {threat.review.at}" + (f": {threat.review.reason}" if threat.review.reason else ""))
    for note in threat.drift:
        line(f"drift: {note}")


@threat_app.command("confirm")
@handle_errors
def threat_confirm(
    model_file: ModelArg,
    threat_ids: Annotated[list[str], typer.Argument(metavar="THREAT...", help="One or more threat ids.")],
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Keep drafted threats as they are (security engineer).

    Example: [bold]threatline threat confirm threatmodel.yaml T-3f9a2c1d0b T-1b2c3d4e5f[/bold]
    """
    for tid in threat_ids:
        _decide(model_file, who, team_file, actions.confirm, tid, reason)


@threat_app.command("tighten")
@handle_errors
def threat_tighten(
    model_file: ModelArg,
    threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Rewrite a threat more precisely; the old text is kept in its history.

    Example: [bold]threatline threat tighten threatmodel.yaml T-3f9a2c1d0b --title "..." -r "names the real endpoint"[/bold]
    """
    if not title and not description and sys.stdin.isatty():
        description = typer.prompt("New description")
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.tighten, threat_id, title, description, reason)


@threat_app.command("reject")
@handle_errors
def threat_reject(
    model_file: ModelArg,
    threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    why: Annotated[str, typer.Option("--why", help="false-positive | mitigated-elsewhere | not-applicable | duplicate-of")] = "",
    duplicate_of: Annotated[str | None, typer.Option("--duplicate-of", help="The threat this one duplicates.")] = None,
    note: Annotated[str, typer.Option("--note", "-r", "--reason", help="Details.")] = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Reject a drafted threat with a reason; a rejected threat never comes back on re-draft.

    Example: [bold]threatline threat reject threatmodel.yaml T-3f9a2c1d0b --why mitigated-elsewhere --note "WAF at CDN"[/bold]
    """
    why = _ask(why, "Reason (false-positive/mitigated-elsewhere/not-applicable/duplicate-of)")
    _decide(model_file, who, team_file, actions.reject, threat_id, why, note, duplicate_of)


@threat_app.command("add")
@handle_errors
def threat_add(
    model_file: ModelArg,
    target: Annotated[str, typer.Option(help="Component, flow or zone id.")] = "",
    category: Annotated[str, typer.Option(help="STRIDE category, e.g. tampering.")] = "",
    title: Annotated[str, typer.Option(help="Title.")] = "",
    description: Annotated[str, typer.Option(help="Description.")] = "",
    likelihood: Annotated[int, typer.Option(help="1-5.")] = 3,
    impact: Annotated[int, typer.Option(help="1-5.")] = 3,
    kind: Annotated[str, typer.Option("--kind", help="component, flow or zone.")] = "component",
    role: Annotated[str, typer.Option(help="security or architect.")] = "security",
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Add a threat the draft missed (source manual:<you>).

    Example: [bold]threatline threat add threatmodel.yaml --target payment-api --category repudiation --title "..." --description "..." -r "seen in incident 42"[/bold]
    """
    target = _ask(target, "Target element id")
    category = _ask(category, "STRIDE category")
    title = _ask(title, "Title")
    description = _ask(description, "Description")
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.add_threat, role=role, target=target, target_kind=kind,
            category=category, title=title, description=description, likelihood=likelihood, impact=impact,
            reason=reason)


@threat_app.command("severity")
@handle_errors
def threat_severity(
    model_file: ModelArg,
    threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    likelihood: Annotated[int | None, typer.Option(help="New likelihood 1-5.")] = None,
    impact: Annotated[int | None, typer.Option(help="New impact 1-5.")] = None,
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Change a threat's likelihood and/or impact (a reviewer factor, with a reason).

    Example: [bold]threatline threat severity threatmodel.yaml T-3f9a2c1d0b --likelihood 2 -r "VPN only"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.set_severity, threat_id, likelihood, impact, reason)


# ---------------------------------------------------------------- mitigations


@mitigation_app.command("approve")
@handle_errors
def mitigation_approve(
    model_file: ModelArg,
    mitigation_ids: Annotated[list[str], typer.Argument(metavar="MITIGATION...")],
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Approve proposed mitigations (security engineer; never your own proposal).

    Example: [bold]threatline mitigation approve threatmodel.yaml M-84d3c2d49f[/bold]
    """
    for mid in mitigation_ids:
        _decide(model_file, who, team_file, actions.approve, mid, reason)


@mitigation_app.command("reject")
@handle_errors
def mitigation_reject(
    model_file: ModelArg, mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
    reason: ReasonOpt = "", who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Reject a proposed mitigation, with a reason.

    Example: [bold]threatline mitigation reject threatmodel.yaml M-84d3c2d49f -r "covered by the service mesh"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.reject_mitigation, mitigation_id, reason)


@mitigation_app.command("adjust")
@handle_errors
def mitigation_adjust(
    model_file: ModelArg, mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
    placement: Annotated[str | None, typer.Option(help="New placement (element id).")] = None,
    reason: ReasonOpt = "", who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Approve a mitigation with a change (e.g. another placement).

    Example: [bold]threatline mitigation adjust threatmodel.yaml M-84d3c2d49f --placement api-gateway -r "terminate at the edge"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.adjust, mitigation_id, placement, reason)


@mitigation_app.command("add")
@handle_errors
def mitigation_add(
    model_file: ModelArg,
    control: Annotated[str, typer.Option(help="Control id (catalogue or your own).")] = "",
    placement: Annotated[str, typer.Option(help="Element id where it goes.")] = "",
    threats: Annotated[list[str] | None, typer.Option("--threat", help="Threat it addresses (repeatable).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="component, flow or zone.")] = "component",
    effort: Annotated[str | None, typer.Option(help="Person-days as LOW-HIGH, e.g. 2-5.")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[str, typer.Option(help="security or architect.")] = "security",
    reason: ReasonOpt = "",
    who: AsOpt = None,
    team_file: TeamOpt = None,
) -> None:
    """Propose a mitigation by hand (someone else must approve it).

    Example: [bold]threatline mitigation add threatmodel.yaml --control tokenization --placement payment-api --threat T-1 --effort 10-20 -r "PCI scope"[/bold]
    """
    control = _ask(control, "Control id")
    placement = _ask(placement, "Placement element id")
    reason = _ask(reason, "Reason")
    effort_days = None
    if effort:
        lo, _, hi = effort.partition("-")
        try:
            effort_days = (float(lo), float(hi or lo))
        except ValueError:
            raise InputError([Diagnostic(file="--effort", message=f"cannot read '{effort}'", hint="write LOW-HIGH person-days, e.g. 2-5")]) from None
    _decide(model_file, who, team_file, actions.propose_mitigation, role=role, control=control, name=name,
            placement=placement, placement_kind=kind, threats=threats or [], effort_days=effort_days, reason=reason)


@mitigation_app.command("feasible")
@handle_errors
def mitigation_feasible(
    model_file: ModelArg, mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
    note: Annotated[str, typer.Option("--note", "-r", help="Optional note.")] = "",
    who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Architect: the approved mitigation fits the architecture as proposed.

    Example: [bold]threatline mitigation feasible threatmodel.yaml M-84d3c2d49f[/bold]
    """
    _decide(model_file, who, team_file, actions.feasibility, mitigation_id, "feasible", note)


@mitigation_app.command("changed")
@handle_errors
def mitigation_changed(
    model_file: ModelArg, mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
    note: Annotated[str, typer.Option("--note", "-r", help="What changes (required).")] = "",
    who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Architect: feasible with a change to the architecture (say which).

    Example: [bold]threatline mitigation changed threatmodel.yaml M-84d3c2d49f --note "needs a sidecar"[/bold]
    """
    note = _ask(note, "What changes")
    _decide(model_file, who, team_file, actions.feasibility, mitigation_id, "changed", note)


def _progress_command(state: str, role_text: str) -> None:
    @mitigation_app.command(state, help=f"{role_text}: mark a mitigation {state}.\n\nExample: threatline mitigation {state} threatmodel.yaml M-84d3c2d49f")
    @handle_errors
    def command(
        model_file: ModelArg, mitigation_id: Annotated[str, typer.Argument(metavar="MITIGATION")],
        reason: ReasonOpt = "", who: AsOpt = None, team_file: TeamOpt = None,
    ) -> None:
        _decide(model_file, who, team_file, actions.progress, mitigation_id, state, reason)


_progress_command("planned", "Architect")
_progress_command("implemented", "Author (engineer)")
_progress_command("verified", "Security engineer, not the implementer")


# ---------------------------------------------------------------- risk


@risk_app.command("accept")
@handle_errors
def risk_accept(
    model_file: ModelArg, threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    justification: Annotated[str, typer.Option("--justification", "-j", help="Why the business accepts it.")] = "",
    expires: Annotated[str, typer.Option(help="ISO date, within your band's maximum (critical 1 month ... low 12).")] = "",
    who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Risk owner: accept a residual risk above appetite until a date.

    Example: [bold]threatline risk accept threatmodel.yaml T-3f9a2c1d0b -j "compensated by fraud monitoring" --expires 2027-02-28[/bold]
    """
    justification = _ask(justification, "Justification")
    expires = _ask(expires, "Expires (YYYY-MM-DD)")
    _decide(model_file, who, team_file, actions.accept_risk, threat_id, justification, expires)


@risk_app.command("escalate")
@handle_errors
def risk_escalate(
    model_file: ModelArg, threat_id: Annotated[str, typer.Argument(metavar="THREAT")],
    reason: ReasonOpt = "", who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Risk owner: escalate a residual risk you may not or will not accept.

    Example: [bold]threatline risk escalate threatmodel.yaml T-3f9a2c1d0b -r "needs CISO decision"[/bold]
    """
    reason = _ask(reason, "Reason")
    _decide(model_file, who, team_file, actions.escalate, threat_id, reason)


# ---------------------------------------------------------------- sign-off, publish, versions


@app.command()
@handle_errors
def signoff(
    model_file: ModelArg,
    stage: Annotated[str, typer.Option(help="security | architecture | stakeholder")] = "",
    note: Annotated[str, typer.Option("--note", "-r", help="Optional note.")] = "",
    who: AsOpt = None, team_file: TeamOpt = None,
) -> None:
    """Sign off a review stage; binds to the current content and needs the stage's gate.

    Example: [bold]threatline signoff threatmodel.yaml --stage security[/bold]
    """
    stage = _ask(stage, "Stage (security/architecture/stakeholder)")
    _decide(model_file, who, team_file, actions.signoff, stage, note)


@app.command()
@handle_errors
def publish(model_file: ModelArg, who: AsOpt = None, team_file: TeamOpt = None) -> None:
    """Publish an immutable, content-addressed version (all three stages signed on the current content).

    Example: [bold]threatline publish threatmodel.yaml[/bold]
    """
    team, _ = team_for(model_file, team_file)
    actor = _who(who)
    if team.member(actor) is None:
        err.print(f"refused: unknown identity '{actor}'", style="red", markup=False)
        raise typer.Exit(1)
    store = ModelStore(model_file)
    loaded = store.load()
    valid = actions.valid_signoffs(loaded.model)
    missing = [s for s in ("security", "architecture", "stakeholder") if s not in valid]
    if missing:
        err.print(f"refused: not signed on the current content: {', '.join(missing)}", style="red", markup=False)
        raise typer.Exit(1)
    now = utc_now()
    version = actions.stage_hash(loaded.model, "stakeholder")
    model = loaded.model.model_copy(deep=True)
    model.published.append("V-" + version[:12])
    saved = store.commit(loaded, model, [actions.Event("publish", "V-" + version[:12], "author", None, version)], actor, now)
    v = store.publish(saved, actor, now)
    out.print(f"published {v.id} ({v.content_hash}) by {actor}")


@app.command()
@handle_errors
def versions(model_file: ModelArg) -> None:
    """List published versions.

    Example: [bold]threatline versions threatmodel.yaml[/bold]
    """
    table = Table(title="Published versions")
    for col in ("Version", "Published", "By", "Threats", "Journal entry"):
        table.add_column(col)
    for v in ModelStore(model_file).versions():
        table.add_row(v.id, v.published_at, v.published_by, str(len(v.model.threats)), str(v.journal_seq))
    out.print(table)


@app.command()
@handle_errors
def diff(
    model_file: ModelArg,
    a: Annotated[str, typer.Argument(help="Version id (V-...) or 'current'.")],
    b: Annotated[str, typer.Argument(help="Version id (V-...) or 'current'.")] = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, markdown or json.")] = "text",
) -> None:
    """What changed between two versions: threats added, retired, changed, and decisions made.

    Example: [bold]threatline diff threatmodel.yaml V-1a2b3c4d5e6f current --format markdown[/bold]
    """
    store = ModelStore(model_file)
    journal = store.journal()

    def resolve(ref: str) -> tuple[Any, int]:
        if ref == "current":
            return store.load().model, journal[-1].seq if journal else 0
        v = store.version(ref)
        return v.model, v.journal_seq

    (ma, sa), (mb, sb) = resolve(a), resolve(b)
    lo, hi = sorted((sa, sb))
    decisions = [e for e in journal if lo < e.seq <= hi and e.action not in ("draft", "publish")]
    result = diff_models(ma, mb, a, b, decisions)
    if fmt == "json":
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(_diff_markdown(result))
    else:
        out.print(_diff_markdown(result), markup=False, highlight=False)


def _diff_markdown(d: ModelDiff) -> str:
    from threatline.formats.markdown import environment

    return environment().get_template("diff.md.j2").render(d=d)


@app.command()
@handle_errors
def verify(model_file: ModelArg) -> None:
    """Prove the audit journal's hash chain and every published version intact.

    Example: [bold]threatline verify threatmodel.yaml[/bold]
    """
    report, problems = ModelStore(model_file).verify()
    if report.ok and not problems:
        out.print(f"ok: {report.entries} journal entries chained, head {report.head[:12]}; versions intact")
        return
    if not report.ok:
        err.print(f"journal broken at line {report.first_bad_line}: {report.problem}", style="red", markup=False)
    for p in problems:
        err.print(p, style="red", markup=False)
    raise typer.Exit(1)


@app.command()
@handle_errors
def stats(
    model_file: ModelArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Review metrics: drafted threats kept, tightened, rejected (by reason), added by hand; time to publish.

    Example: [bold]threatline stats threatmodel.yaml[/bold]
    """
    store = ModelStore(model_file)
    s = review_stats(store.load().model, store.journal())
    if fmt == "json":
        sys.stdout.write(json.dumps(s.model_dump(mode="json"), indent=2) + "\n")
        return
    out.print(f"drafted by rules: {s.drafted}; kept as-is: {s.kept_as_is}; tightened: {s.tightened}; "
              f"rejected: {sum(s.rejected.values())} {s.rejected or ''}; added by hand: {s.added_by_hand}; "
              f"still draft: {s.still_draft}; retired: {s.retired}", markup=False)
    out.print(f"mitigations: {s.mitigations}", markup=False)
    for stage, counts in s.decisions_by_stage.items():
        out.print(f"  {stage}: {counts}", markup=False)
    if s.hours_to_publish is not None:
        out.print(f"first draft {s.first_draft_at} -> published {s.published_at}: {s.hours_to_publish} h")
