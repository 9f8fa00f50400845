"""Use cases wired from the core and the adapters; the CLI (and later the web UI) call these."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from threatline.drift.impact import superseders
from threatline.drift.record import RecordReport, annotate
from threatline.drift.snapshot import snapshot_doc
from threatline.engine.draft import draft
from threatline.engine.facts import ArchitectureView
from threatline.engine.knowledge import Knowledge
from threatline.formats.architecture_yaml import load_architecture, parse_architecture
from threatline.formats.json_format import JsonExporter
from threatline.formats.knowledge_packs import (
    LoadedRule,
    load_knowledge,
    load_knowledge_with_sources,
)
from threatline.formats.markdown import MarkdownExporter
from threatline.formats.threatmodel_yaml import YamlExporter, render_threat_model_bytes
from threatline.formats.yamlio import atomic_write, gc_paused, load_yaml_file, read_text
from threatline.model.architecture import Architecture
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import ThreatModel
from threatline.store.directory import ModelStore
from threatline.store.index import indexed_content_hash
from threatline.workflow.actions import Event, stage_hash
from threatline.workflow.merge import MergeReport, merge
from threatline.workflow.stats import review_stats


@dataclass
class DraftResult:
    arch: Architecture
    model: ThreatModel
    warnings: list[Diagnostic]
    knowledge: Knowledge


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def validate_file(path: Path, knowledge: Knowledge) -> tuple[Architecture, list[Diagnostic]]:
    return load_architecture(path, knowledge.control_ids())


def draft_file(path: Path, rule_dirs: list[Path] | None = None, control_files: list[Path] | None = None) -> DraftResult:
    knowledge = load_knowledge(rule_dirs, control_files)
    arch, warnings = validate_file(path, knowledge)
    # The snapshot too is built beside the drafted model: with the collector on, its
    # full passes over the model cost 1.6 s at 10,000 components (the snapshot 0.25 s).
    # The model lives as long as the command: out of the collector's sight afterwards
    # too (gc.freeze), or the first collection after the pause walks all of it.
    with gc_paused(keep_built=True):
        model = draft(arch, knowledge, source_file=path.name, source_sha256=file_sha256(path))
        # What the model was drafted from, so that drift can be measured later (docs/drift.md).
        model.architecture.snapshot = snapshot_doc(arch)
    return DraftResult(arch, model, warnings, knowledge)


OUTPUTS = {"yaml": YamlExporter(), "json": JsonExporter(), "markdown": MarkdownExporter()}


@dataclass
class SavedDraft:
    model: ThreatModel
    paths: list[Path]
    merge: MergeReport | None
    changed: bool
    drift: RecordReport | None = None


def write_outputs(
    result: DraftResult, out_dir: Path, stem: str = "threatmodel", who: str | None = None, now: str | None = None
) -> SavedDraft:
    """Write threatmodel.yaml (merged into an existing, reviewed one) and the report.

    Everything is rendered before anything is written, each file is written
    atomically, and a model whose content did not change is not rewritten, so the
    same draft gives the same bytes and no spurious journal entry.
    """
    # Merging, hashing and rendering build only acyclic data beside a model of millions
    # of objects: the collector's full passes over it would find nothing to collect.
    # The merged model is the command's result: frozen out of later passes as well.
    with gc_paused(keep_built=True):
        return _write_outputs(result, out_dir, stem, who, now)


def _write_outputs(result: DraftResult, out_dir: Path, stem: str, who: str | None, now: str | None) -> SavedDraft:
    store = ModelStore(out_dir / f"{stem}.yaml")
    loaded = store.load() if store.exists() else None
    report: MergeReport | None = None
    model = result.model
    drift: RecordReport | None = None
    content: str | None = None
    changed = True
    if loaded is not None:
        model, report = merge(loaded.model, result.model)
        model, drift = annotate(loaded.model, result.model, model, result.arch, superseders(result.knowledge.rules))
        # The stakeholder stage hash binds everything but the bookkeeping, as content_hash
        # does, and is serialised in Rust: a fraction of content_hash's cost at 10,000
        # components (it follows field and key order, which a model read back keeps).
        # The old model's is in the index the last commit wrote beside it, when that
        # index is of these very bytes.
        content = stage_hash(model, "stakeholder")
        before = indexed_content_hash(store.path, loaded.file_sha) or stage_hash(loaded.model, "stakeholder")
        changed = content != before
    if changed:
        summary = {"threats": len(model.threats), "mitigations": len(model.mitigations)}
        if report is not None:
            summary |= {"added": len(report.added), "retired": len(report.retired), "revived": len(report.revived)}
        if drift is not None and drift.changes:
            summary |= drift.summary()
        event = Event("draft", result.arch.system.name, "author", None, summary,
                      f"drafted from {result.model.architecture.file} ({result.model.architecture.sha256[:12]})")
        model = store.commit(loaded, model, [event], who or "unknown", now or utc_now(), content_hash=content)
    # The model read from disk is no longer needed: free it before the report is built.
    del loaded
    stats = review_stats(model, store.journal())
    markdown = MarkdownExporter(model.appetite, stats).render(model, result.arch)
    md_path = out_dir / f"{stem}.md"
    atomic_write(md_path, markdown)
    del markdown
    return SavedDraft(model, [store.path, md_path], report, changed, drift)


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def save_model(model: ThreatModel, path: Path) -> None:
    """Rewrite a threatmodel.yaml in place, atomically."""
    atomic_write(path, render_threat_model_bytes(model))


# ---------------------------------------------------------------- rules check


@dataclass
class RuleCheck:
    rule_id: str
    file: str
    ok: bool
    messages: list[str] = field(default_factory=list)


def check_rules(rule_dirs: list[Path], control_files: list[Path] | None = None, bundled_only: bool = False) -> list[RuleCheck]:
    """Schema (by loading) plus each rule's own fixtures."""
    knowledge, loaded = load_knowledge_with_sources(None if bundled_only else rule_dirs, control_files)
    wanted_dirs = {d.resolve() for d in rule_dirs}
    results: list[RuleCheck] = []
    cache: dict[Path, ThreatModel] = {}
    for lr in loaded:
        if not bundled_only and lr.file.resolve().parent not in wanted_dirs and lr.file.resolve() not in wanted_dirs:
            continue
        results.append(_check_one(lr, knowledge, cache))
    return results


def _fixture_model(path: Path, knowledge: Knowledge, cache: dict[Path, ThreatModel]) -> ThreatModel:
    if path not in cache:
        data, locator = load_yaml_file(path)
        arch, _ = parse_architecture(data, str(path), locator, knowledge.control_ids())
        cache[path] = draft(arch, knowledge)
    return cache[path]


def _check_one(lr: LoadedRule, knowledge: Knowledge, cache: dict[Path, ThreatModel]) -> RuleCheck:
    rule = lr.rule
    check = RuleCheck(rule.id, str(lr.file), ok=True)
    fx = rule.fixtures
    if not (fx.fires or fx.mitigated or fx.silent):
        check.messages.append("no fixtures")
        return check
    for expectation, refs in (("fires", fx.fires), ("mitigated", fx.mitigated), ("silent", fx.silent)):
        for ref in refs:
            file_part, _, element = ref.partition("#")
            path = (lr.file.parent / file_part).resolve()
            try:
                model = _fixture_model(path, knowledge, cache)
            except InputError as exc:
                check.ok = False
                check.messages.append(f"fixture {file_part}: {exc.diagnostics[0].render()}")
                continue
            hits = [t for t in model.threats if t.rule == rule.id and (not element or t.target == element)]
            if expectation == "silent" and hits:
                check.ok = False
                check.messages.append(f"expected silent on {ref}, fired: {hits[0].title}")
            elif expectation in ("fires", "mitigated") and not hits:
                check.ok = False
                check.messages.append(f"expected to fire on {ref}, did not")
            elif expectation == "mitigated" and any(t.coverage != "mitigated" for t in hits):
                check.ok = False
                check.messages.append(f"expected mitigated on {ref}, coverage is {hits[0].coverage}")
    return check


def read_example(name: str) -> str:
    from importlib import resources

    base = Path(str(resources.files("threatline") / "examples"))
    path = base / name / "architecture.yaml"
    if not path.exists():
        available = sorted(p.name for p in base.iterdir() if p.is_dir())
        raise InputError([Diagnostic(file=name, message=f"no bundled example '{name}'",
                                     hint="available: " + ", ".join(available))])
    return read_text(path)


def examples() -> list[str]:
    from importlib import resources

    base = Path(str(resources.files("threatline") / "examples"))
    return sorted(p.name for p in base.iterdir() if p.is_dir() and (p / "architecture.yaml").exists())


__all__ = ["ArchitectureView", "DraftResult", "check_rules", "draft_file", "examples", "write_outputs"]
