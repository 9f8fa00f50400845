"""The git-friendly store: threatmodel.yaml, its journal and its published versions.

Layout beside the model file:

    threatmodel.yaml                    the working document
    threatmodel.journal.jsonl           append-only, hash-chained decisions
    .threatline/versions/threatmodel/   one immutable file per published version,
                                        named by its content hash

Writes are guarded twice: an exclusive lock while writing, and a check that the
file is still the one the command read (its hash), so two reviewers acting at
once cannot overwrite each other; the loser is told to re-run. The model is
written to a temporary file and renamed, so a crash leaves the previous file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from threatline.formats.threatmodel_yaml import (
    load_threat_model_and_sha,
    render_threat_model_chunks,
)
from threatline.formats.yamlio import atomic_write
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import ThreatModel
from threatline.store.index import write_index
from threatline.workflow.actions import Event, stage_hash
from threatline.workflow.journal import ChainReport, JournalEntry, seal, to_line, verify_chain
from threatline.workflow.versions import Version


class ConcurrentUpdate(InputError):
    pass


@dataclass
class Loaded:
    model: ThreatModel
    file_sha: str


def render_model(model: ThreatModel) -> list[bytes]:
    """The bytes of threatmodel.yaml, in pieces (formats/threatmodel_yaml.py)."""
    return render_threat_model_chunks(model)


class ModelStore:
    def __init__(self, model_path: Path):
        self.path = model_path
        self.journal_path = model_path.with_name(model_path.stem + ".journal.jsonl")
        self.versions_dir = model_path.parent / ".threatline" / "versions" / model_path.stem
        self.lock_path = model_path.parent / ".threatline" / f"{model_path.stem}.lock"
        # The journal's last hash, kept apart from the model so that the model file
        # stays a pure function of its content (same draft, same bytes).
        self.head_path = model_path.parent / ".threatline" / f"{model_path.stem}.journal-head"

    # ------------------------------------------------------------ model
    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Loaded:
        return Loaded(*load_threat_model_and_sha(self.path))

    @contextmanager
    def _locked(self, timeout: float = 10.0) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ConcurrentUpdate([Diagnostic(
                            file=str(self.path), message="another reviewer is writing this model",
                            hint="try again in a moment")]) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def commit(self, loaded: Loaded | None, model: ThreatModel, events: list[Event], actor: str, now: str,
               content_hash: str | None = None) -> ThreatModel:
        """Journal the events, then write the model; refuse if the file changed since it was read.

        `content_hash`: the model's stage_hash(model, "stakeholder") if the caller has it
        already (the revision set here is not part of it).
        """
        with self._locked():
            current_sha = _sha(self.path) if self.path.exists() else None
            expected = loaded.file_sha if loaded else None
            if current_sha != expected:
                raise ConcurrentUpdate([Diagnostic(
                    file=str(self.path),
                    message="the model changed on disk since this command read it (someone else saved a decision)",
                    hint="nothing was written; run the command again on the new version")])
            previous = self._last_entry()
            model = model.model_copy()  # shallow: only the revision changes below
            model.revision = (loaded.model.revision if loaded else 0) + 1
            content = content_hash or stage_hash(model, "stakeholder")
            lines = []
            for ev in events:
                entry = seal(
                    previous, at=now, actor=actor, role=ev.role, action=ev.action, target=ev.target,
                    before=ev.before, after=ev.after, reason=ev.reason, model_hash=content,
                )
                lines.append(to_line(entry))
                previous = entry
            if lines:
                with open(self.journal_path, "a", encoding="utf-8") as fh:
                    fh.writelines(lines)
                    fh.flush()
                    os.fsync(fh.fileno())
                atomic_write(self.head_path, (previous.hash if previous else "") + "\n")
            # Encoded once: the same bytes are written and hashed.
            pieces = render_model(model)
            atomic_write(self.path, pieces)
            digest = hashlib.sha256()
            for piece in pieces:
                digest.update(piece)
            file_sha = digest.hexdigest()
            del pieces  # hundreds of megabytes at 10,000 components: not kept through the indexing
            # Keep the drift index (store/index.py) in step, so `check` need not parse the model.
            write_index(self.path, model, file_sha, content)
            return model

    # ------------------------------------------------------------ journal
    def journal_lines(self) -> list[str]:
        if not self.journal_path.exists():
            return []
        return [line for line in self.journal_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def journal(self) -> list[JournalEntry]:
        return [JournalEntry.model_validate(json.loads(line)) for line in self.journal_lines()]

    def _last_entry(self) -> JournalEntry | None:
        lines = self.journal_lines()
        return JournalEntry.model_validate(json.loads(lines[-1])) if lines else None

    # ------------------------------------------------------------ versions
    def publish(self, model: ThreatModel, who: str, now: str) -> Version:
        content = stage_hash(model, "stakeholder")
        head = self._last_entry()
        version = Version(
            id="V-" + content[:12], content_hash=content, published_at=now, published_by=who,
            journal_head=head.hash if head else "", journal_seq=head.seq if head else 0, model=model,
        )
        path = self.versions_dir / f"{content}.json"
        if path.exists():
            raise InputError([Diagnostic(file=str(path), message=f"version {version.id} is already published")])
        # Field order as the model defines it: the content hash is computed the same way.
        text = version.model_dump_json(indent=1) + "\n"
        atomic_write(path, text)
        path.chmod(0o444)
        return version

    def versions(self) -> list[Version]:
        if not self.versions_dir.exists():
            return []
        found = [Version.model_validate_json(p.read_text(encoding="utf-8")) for p in self.versions_dir.glob("*.json")]
        return sorted(found, key=lambda v: (v.published_at, v.id))

    def version(self, ref: str) -> Version:
        matches = [v for v in self.versions() if v.id == ref or v.content_hash.startswith(ref.removeprefix("V-"))]
        if len(matches) != 1:
            known = ", ".join(v.id for v in self.versions()) or "none published"
            raise InputError([Diagnostic(file=str(self.versions_dir), key=ref,
                                         message="no such version" if not matches else "ambiguous version",
                                         hint=f"versions: {known}")])
        return matches[0]

    # ------------------------------------------------------------ verify
    def verify(self) -> tuple[ChainReport, list[str]]:
        """The journal chain, and each version's content against its name and the chain."""
        head = self.head_path.read_text(encoding="utf-8").strip() if self.head_path.exists() else None
        report = verify_chain(self.journal_lines(), expected_head=head or None)
        problems: list[str] = []
        chain = {}
        for line in self.journal_lines():
            try:
                entry = json.loads(line)
                chain[entry.get("hash")] = entry.get("seq")
            except ValueError:
                continue
        if self.versions_dir.exists():
            for p in sorted(self.versions_dir.glob("*.json")):
                try:
                    v = Version.model_validate_json(p.read_text(encoding="utf-8"))
                except ValueError:
                    problems.append(f"{p.name}: not a version file")
                    continue
                actual = stage_hash(v.model, "stakeholder")
                if actual != p.stem or v.content_hash != p.stem:
                    problems.append(f"version {v.id} ({p.name}) was modified: its content hash is {actual[:12]}")
                if v.journal_head and v.journal_head not in chain:
                    problems.append(f"version {v.id} records journal entry {v.journal_seq}, which is not in the journal")
        return report, problems


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
