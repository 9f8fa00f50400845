"""Use cases of the living threat model: drift, check and scan (the CLI calls these).

`analyse` compares an architecture with the snapshot its model was drafted from, maps
each change to what it touches in the reviewed model (re-running the rules only on the
elements a change can reach), adds the drift notes already recorded and not resolved,
and says whether the model is current and published, which is what `check` gates on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from threatline.drift.affected import Affected, Weights, affected
from threatline.drift.diff import Change, diff
from threatline.drift.impact import ChangeImpact, ImpactItem, by_change, impact, superseders
from threatline.drift.rerun import (
    narrowed,
    previous_facts,
    rerun_cost,
    split_in_two,
    threats_for,
    view_for,
)
from threatline.drift.snapshot import Snapshot, baseline_attrs, baseline_key, stored_snapshot
from threatline.drift.state import AcceptanceInfo, ModelInfo, OpenItem
from threatline.engine.facts import ReachMap, reach_map
from threatline.engine.knowledge import Knowledge
from threatline.formats.arch_lines import ElementLines
from threatline.formats.architecture_yaml import start_loading_architecture
from threatline.formats.knowledge_packs import load_knowledge
from threatline.formats.yamlio import gc_paused, read_text
from threatline.model.architecture import Architecture
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import SEVERITY_ORDER, Threat
from threatline.parallel import start_forked
from threatline.store.directory import ModelStore
from threatline.store.index import file_sha256, load_info, start_model_hash, version_exists

T = TypeVar("T")

CURRENT, DRIFT, NEEDS_REVIEW, UNPUBLISHED, NO_SNAPSHOT = "current", "drift", "needs-review", "unpublished", "no-snapshot"


@dataclass
class Analysis:
    architecture: Path
    model: Path
    arch: Architecture
    info: ModelInfo
    changes: list[Change]
    items: list[ImpactItem]
    grouped: list[ChangeImpact]
    open_items: list[OpenItem]
    has_snapshot: bool
    published: bool
    warnings: list[Diagnostic] = field(default_factory=list)
    expiring: list[tuple[AcceptanceInfo, int]] = field(default_factory=list)
    _lines: ElementLines | None = None

    @property
    def lines(self) -> ElementLines:
        """Lines of the elements in the architecture file (read when a format needs them)."""
        if self._lines is None:
            self._lines = ElementLines(read_text(self.architecture, max_bytes=1 << 62))
        return self._lines

    @property
    def current(self) -> bool:
        """The model describes this architecture and no drift note waits for a decision."""
        return self.has_snapshot and not self.changes and not self.open_items

    @property
    def status(self) -> str:
        if not self.has_snapshot:
            return NO_SNAPSHOT
        if self.changes:
            return DRIFT
        if self.open_items:
            return NEEDS_REVIEW
        if not self.published:
            return UNPUBLISHED
        return CURRENT

    @property
    def exit_code(self) -> int:
        return 0 if self.status == CURRENT else 1

    @property
    def stage(self) -> str:
        return "published" if self.published else self.info.stage

    def reasons(self) -> list[str]:
        out: list[str] = []
        if not self.has_snapshot:
            out.append("the model records no architecture snapshot (drafted before drift tracking): "
                       "re-draft it with 'threatline draft' to record one")
        if self.changes:
            out.append(f"the architecture changed since the model was drafted: {len(self.changes)} change(s), "
                       f"{len(self.items)} item(s) to review; record them with 'threatline drift --record' "
                       "(or 'threatline draft') and resolve them in 'threatline review'")
        if self.open_items:
            out.append(f"{len(self.open_items)} drift item(s) recorded in the model wait for a decision "
                       "('threatline review')")
        if not self.published:
            out.append(f"the model is {self.info.stage}, not published on its current content: sign off the "
                       "stages and 'threatline publish'")
        return out

    def severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(reversed(SEVERITY_ORDER), 0)
        for i in self.items:
            counts[i.severity] += 1
        for o in self.open_items:
            counts[o.severity] += 1
        return counts

    # ------------------------------------------------------------ locations in the architecture file
    def baseline_index(self, key: str) -> int | None:
        seen: dict[str, int] = {}
        for i, b in enumerate(self.arch.baseline):
            k = baseline_key(baseline_attrs(b))
            seen[k] = seen.get(k, 0) + 1
            if (k if seen[k] == 1 else f"{k}#{seen[k]}") == key:
                return i
        return None

    def line_of_change(self, c: Change) -> int:
        lines = self.lines
        if c.kind == "removed":
            return lines.section(c.element) or 1
        index = self.baseline_index(c.id) if c.element == "baseline" else None
        if c.kind == "changed" and c.attributes:
            found = lines.attribute(c.element, c.id, c.attributes[0].name, index)
        else:
            found = lines.element(c.element, c.id, index)
        return found or lines.section(c.element) or 1

    def line_of_element(self, ident: str) -> int:
        for kind in ("component", "flow", "zone", "data"):
            found = self.lines.element(kind, ident)
            if found:
                return found
        return 1


def _today(now: str | None) -> str:
    return (now or datetime.now(UTC).isoformat())[:10]


def collector_paused() -> contextlib.AbstractContextManager[None]:
    """An analysis allocates in bursts (the architecture, the snapshot, the re-run's threats)
    and leaves no reference cycles that need collecting before it ends; each burst would
    otherwise start the cyclic collector, which walks every live object (a large
    architecture is hundreds of thousands) again and again. Reference counting still frees
    garbage; the collector resumes, if it was on, when the block ends."""
    return gc_paused()


def analyse(
    architecture: Path, model_path: Path, rule_dirs: list[Path] | None = None,
    control_files: list[Path] | None = None, now: str | None = None, knowledge: Knowledge | None = None,
) -> Analysis:
    with collector_paused():
        return _analyse(architecture, model_path, rule_dirs, control_files, now, knowledge)


# Below this cost (in flows, ~0.3 ms each) a second process costs more than it saves.
FORK_FROM_COST = 500
# Below this size (components and flows) diffing in a second process costs more than it saves.
FORK_FROM_ELEMENTS = 3000


def _here(job: Callable[[], T]) -> Callable[[], T]:
    return job


def _all_zone_threats(arch: Architecture, knowledge: Knowledge) -> list[Threat]:
    """Every zone's threats: a zone's facts read the whole architecture and nothing a
    re-run scope decides, so they can be computed before the changes are known."""
    return threats_for(arch, knowledge, Affected(zones={z.id: [] for z in arch.zones}))


def _changes(old: Snapshot, arch: Architecture) -> tuple[list[Change], Affected]:
    changes = diff(old, Snapshot.from_architecture(arch))
    return changes, (affected(changes, arch, Weights(arch)) if changes else Affected())


def _rerun(arch: Architecture, knowledge: Knowledge, changes: list[Change], touched: Affected,
           zone_threats: list[Threat] | None, reach: ReachMap | None) -> tuple[Affected, list[Threat]]:
    """narrowed(touched) and its threats_for(), spread over two cores when the work is large.

    `zone_threats`, every zone's (narrowing keeps every zone), and `reach`, reach_map(arch),
    when already computed. While this process computes the current facts, a child computes
    the facts as they were (narrowing's other half); then the components and flows left are
    split in two. Each child's result is exactly what this process would compute
    (threatline.parallel), and the parts are joined in threats_for's order: components, flows, zones."""
    fork = start_forked if rerun_cost(arch, touched) >= FORK_FROM_COST else _here
    previous = fork(lambda: previous_facts(touched, changes, arch, knowledge))
    if zone_threats is None:
        zone_threats = threats_for(arch, knowledge, Affected(zones=dict(touched.zones)))
    else:
        zone_threats = [t for t in zone_threats if t.target in touched.zones]
    view = view_for(arch, knowledge, touched, reach)
    scope = narrowed(touched, changes, arch, knowledge, view, previous)
    rest = Affected(components=scope.components, flows=scope.flows)
    if rerun_cost(arch, rest) >= FORK_FROM_COST:
        first, second = split_in_two(arch, rest)
        first_threats = start_forked(lambda: threats_for(arch, knowledge, first, view))
        second_threats = threats_for(arch, knowledge, second, view)
        threats = first_threats() + second_threats
    else:
        threats = threats_for(arch, knowledge, rest, view)
    return scope, threats + zone_threats


def _analyse(
    architecture: Path, model_path: Path, rule_dirs: list[Path] | None,
    control_files: list[Path] | None, now: str | None, knowledge: Knowledge | None,
) -> Analysis:
    store = ModelStore(model_path)
    # The model's hash and the architecture's parsing run on other threads, overlapping with
    # loading the rules and the model's index.
    model_sha256 = start_model_hash(store)
    finish_architecture = start_loading_architecture(architecture)
    knowledge = knowledge or load_knowledge(rule_dirs, control_files)
    model_error: InputError | None = None
    if model_sha256 is None:
        # The index vouches for the model by size and time stamp: read it while the
        # architecture parses. (A model being hashed is read after the architecture is
        # validated, by when the hash is done.)
        try:
            info = load_info(store)
        except InputError as exc:
            model_error = exc
    arch, warnings = finish_architecture(knowledge.control_ids())  # its errors are reported first
    if model_error is not None:
        raise model_error
    if model_sha256 is not None:
        info = load_info(store, model_sha256)
    try:
        old = stored_snapshot(info.snapshot)
    except ValueError as exc:
        raise InputError([Diagnostic(file=str(model_path), key="architecture.snapshot", message=str(exc),
                                     hint="re-draft the model to record a fresh snapshot")]) from None
    changes: list[Change] = []
    items: list[ImpactItem] = []
    grouped: list[ChangeImpact] = []
    # The very file the model was drafted from has the snapshot the model holds.
    same_file = bool(info.architecture_sha256) and info.architecture_sha256 == file_sha256(architecture)
    touched = Affected()
    zone_threats: list[Threat] | None = None
    reach: ReachMap | None = None
    if old is not None and not same_file:
        # On a large architecture the diff runs on a second core while this process drafts
        # the zones and maps what reaches each component, which need no diff.
        large = len(arch.components) + len(arch.flows) >= FORK_FROM_ELEMENTS
        found = (start_forked if large else _here)(lambda: _changes(old, arch))
        if large:
            zone_threats = _all_zone_threats(arch, knowledge)
            reach = reach_map(arch)
        try:
            changes, touched = found()
        except ValueError as exc:  # a hand-edited snapshot line that is not JSON
            raise InputError([Diagnostic(file=str(model_path), key="architecture.snapshot", message=str(exc),
                                         hint="re-draft the model to record a fresh snapshot")]) from None
    if changes:
        weights = Weights(arch)
        scope, fresh = _rerun(arch, knowledge, changes, touched, zone_threats, reach)
        items = impact(changes, info, fresh, scope, weights, superseders(knowledge.rules))
        grouped = by_change(changes, items, weights)
    return Analysis(
        architecture=architecture, model=model_path, arch=arch, info=info, changes=changes, items=items,
        grouped=grouped, open_items=info.open_items(), has_snapshot=old is not None,
        published=info.is_published(version_exists(store, info.content_hash)),
        warnings=warnings, expiring=info.expiring_acceptances(_today(now)),
    )


# ---------------------------------------------------------------- scan

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", ".threatline", "__pycache__", ".tox", ".mypy_cache"}


@dataclass
class ScanEntry:
    architecture: Path
    model: Path
    analysis: Analysis | None = None
    error: str = ""

    @property
    def status(self) -> str:
        return "error" if self.analysis is None else self.analysis.status


def find_pairs(paths: Iterable[Path], arch_name: str = "architecture.yaml", model_name: str = "threatmodel.yaml") -> list[tuple[Path, Path]]:
    """Architecture/model pairs: directories are walked for an architecture file with a
    model beside it; any other file is a list of 'ARCH MODEL' lines (relative to it)."""
    pairs: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                if arch_name in files and model_name in files:
                    pairs.append((Path(root) / arch_name, Path(root) / model_name))
        elif path.is_file():
            pairs += _read_list(path)
        else:
            raise InputError([Diagnostic(file=str(path), message="no such file or directory",
                                         hint="give directories to walk or a list file of 'ARCH MODEL' lines")])
    seen: set[tuple[Path, Path]] = set()
    unique = []
    for pair in pairs:
        if pair not in seen:
            seen.add(pair)
            unique.append(pair)
    return unique


def _read_list(path: Path) -> list[tuple[Path, Path]]:
    out = []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise InputError([Diagnostic(file=str(path), line=number, message=f"cannot read '{raw.strip()}'",
                                         hint="write one 'ARCHITECTURE MODEL' pair a line")])
        out.append(tuple((path.parent / p) if not Path(p).is_absolute() else Path(p) for p in parts))  # type: ignore[arg-type]
    return out


def scan(
    pairs: list[tuple[Path, Path]], rule_dirs: list[Path] | None = None, control_files: list[Path] | None = None,
    now: str | None = None, progress: Callable[[ScanEntry], None] | None = None,
) -> list[ScanEntry]:
    """Analyse each pair; a broken pair is reported as an error, not a failed scan."""
    entries: list[ScanEntry] = []
    knowledge = load_knowledge(rule_dirs, control_files)
    for arch, model in pairs:
        entry = ScanEntry(arch, model)
        try:
            entry.analysis = analyse(arch, model, now=now, knowledge=knowledge)
        except InputError as exc:
            entry.error = exc.diagnostics[0].render() if exc.diagnostics else "invalid input"
        entries.append(entry)
        if progress is not None:
            progress(entry)
    return entries
