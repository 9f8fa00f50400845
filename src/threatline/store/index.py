"""The model index: what drift and `check` need of a threat model, without parsing it all.

`.threatline/<stem>.index.json` beside the model holds a ModelInfo (drift.state): per
threat and mitigation only the fields drift reads, the stored snapshot, the content
hash a published version is named by and the sign-off stage. It is derived data, keyed
by the sha256 of the model file's bytes (and, to skip hashing a very large file, by the
size and modification time `<stem>.index.stat.json` recorded with that sha256, once those
are safely older than the record, as git does for its own index): a stale or missing
index is rebuilt from the model (and rewritten when the directory is writable), so it can
never give a wrong answer, only save time.
ModelStore.commit and `draft` keep it fresh; on a 10,000-component model it turns a
minute of YAML parsing into reading the few threats a change can touch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threatline.drift.state import INFO_VERSION, ModelInfo, ThreatInfo
from threatline.formats.yamlio import atomic_write, gc_paused
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import STAGES, ThreatModel
from threatline.workflow.actions import stage_hash

if TYPE_CHECKING:
    from threatline.store.directory import ModelStore

_STAGE_NAMES = ["draft", "security-reviewed", "architecture-reviewed", "accepted"]


def index_path(model_path: Path) -> Path:
    return model_path.parent / ".threatline" / f"{model_path.stem}.index.json"


def stat_path(model_path: Path) -> Path:
    """Beside the index, a few bytes: the sha256 of the model file and the size and time
    stamp it had when hashed. Vouching for an unchanged model again after a fresh checkout
    rewrites only this, not an index of tens of megabytes."""
    return model_path.parent / ".threatline" / f"{model_path.stem}.index.stat.json"


def _vouch(model_path: Path, file_sha256: str) -> None:
    data = {"model_sha256": file_sha256, "model_stat": _stat(model_path), "indexed_at_ns": time.time_ns()}
    with contextlib.suppress(OSError):
        atomic_write(stat_path(model_path), json.dumps(data, sort_keys=True) + "\n")


def _vouched_sha256(model_path: Path, stat: list[int] | None) -> str | None:
    """The model's sha256 as recorded when it had this size and time stamp, if it has not
    been written since (git's test for its own index)."""
    try:
        data = json.loads(stat_path(model_path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not _unchanged(data, stat):
            return None
    except (OSError, ValueError, TypeError):
        return None
    sha = data.get("model_sha256")
    return sha if isinstance(sha, str) else None


def stage_of(model: ThreatModel, stakeholder_hash: str) -> str:
    """The stage its valid sign-offs give the model (as workflow.actions.model_status,
    without 'published', which depends on the version files)."""
    valid = 0
    for stage in STAGES:
        latest = next((s for s in reversed(model.signoffs) if s.stage == stage), None)
        if latest is None:
            break  # before hashing: a stage hash serialises the whole model
        expected = stakeholder_hash if stage == "stakeholder" else stage_hash(model, stage)
        if latest.content_hash != expected:
            break
        valid += 1
    return _STAGE_NAMES[valid]


def write_index(model_path: Path, model: ThreatModel, file_sha256: str, stakeholder_hash: str | None = None) -> ModelInfo:
    """Index a model just read or written; a directory we may not write to is no error.

    Line 1 is a JSON header (the file's sha256, ModelInfo.header() and, per target, the
    byte ranges of its lines after the header); then one line per threat, `TARGET<TAB>JSON`,
    so a reader decodes and parses only the threats of the targets it needs."""
    content = stakeholder_hash or stage_hash(model, "stakeholder")
    # Hundreds of thousands of small lists beside a model of millions of objects: with
    # the collector running, its full passes over the model cost more than the work.
    with gc_paused():
        info = ModelInfo.of(model, content, stage_of(model, content))
        head = {"model_sha256": file_sha256, "header": _header(info)}
        lines: list[bytes] = []
        spans: dict[str, list[list[int]]] = {}  # target -> [start, end) byte ranges of its lines
        at = 0
        for t in info.all_threats():
            line = f"{t.target}\t{_encode(_fields(t))}\n".encode()
            ranges = spans.setdefault(t.target, [])
            if ranges and ranges[-1][1] == at:
                ranges[-1][1] = at + len(line)
            else:
                ranges.append([at, at + len(line)])
            at += len(line)
            lines.append(line)
        head["targets"] = spans
    with contextlib.suppress(OSError):
        atomic_write(index_path(model_path), [_encode(head).encode(), b"\n", *lines])
        _vouch(model_path, file_sha256)
    return info


def _fields(obj: object) -> dict[str, Any]:
    """A dataclass's fields, for the JSON encoder: what dataclasses.asdict gives, without
    its deep copy of every value (a third of the time of indexing a large model)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        # A plain dataclass's __dict__ holds exactly its fields; one with slots has none.
        return vars(obj) if hasattr(obj, "__dict__") else {f.name: getattr(obj, f.name) for f in fields(obj)}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


# One encoder for every line; the same output as json.dumps(..., separators, sort_keys).
_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=_fields).encode


def _header(info: ModelInfo) -> dict[str, Any]:
    """ModelInfo.header(), with the nested dataclasses left to the encoder (no copies)."""
    public = {f.name: getattr(info, f.name) for f in fields(info) if not f.name.startswith("_")}
    return {"info_version": INFO_VERSION, **public}


def _reader(raw: bytes, body: int, spans: dict[str, list[list[int]]]) -> Callable[[set[str]], list[ThreatInfo]]:
    """Reads the threat lines of some targets (all for an empty set), in file order, from
    the byte ranges the head records for each target: drift needs a few thousand of a large
    model's lines, and decoding only those is most of the time saved."""

    def read(targets: set[str]) -> list[ThreatInfo]:
        wanted = sorted(r for t in targets for r in spans.get(t, ())) if targets else [[0, len(raw) - body]]
        out = []
        for start, end in wanted:
            for line in raw[body + start:body + end].decode("utf-8").splitlines():
                out.append(ThreatInfo(**json.loads(line.partition("\t")[2])))
        return out

    return read


# A file's modification time has the granularity of the kernel clock: a stat recorded
# within this margin of indexing could hide a later write of the same size ("racy git").
_RACY_NS = 2_000_000_000


def _unchanged(data: dict, stat: list[int] | None) -> bool:
    """The model file has not been written since it was indexed (git's test for its index)."""
    return (stat is not None and data.get("model_stat") == stat
            and stat[1] < int(data.get("indexed_at_ns", 0)) - _RACY_NS)


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


# Pieces of 8 MiB: reading into the buffer and hashing it both release the interpreter
# lock, and a thread hashing beside a busy one waits for the lock after each of them
# (up to the 5 ms switch interval): hashlib.file_digest's 256 KiB pieces made that about
# 2,400 waits for a 300 MB model, 40 here.
_HASH_PIECE = 8 << 20


def file_sha256(path: Path) -> str:
    try:
        with open(path, "rb", buffering=0) as fh:
            digest = hashlib.sha256()
            buffer = bytearray(_HASH_PIECE)
            view = memoryview(buffer)
            while size := fh.readinto(buffer):
                digest.update(view[:size])
            return digest.hexdigest()
    except FileNotFoundError:
        raise InputError([Diagnostic(file=str(path), message="file not found",
                                     hint="draft the model first: threatline draft architecture.yaml")]) from None


def start_model_hash(store: ModelStore) -> Callable[[], str] | None:
    """Start hashing the model file on a second thread when its index cannot vouch for it
    by size and time stamp alone (a fresh checkout, a file written moments ago), so the
    hashing overlaps with whatever the caller does next (loading the architecture);
    hashlib and file reads release the interpreter lock. Returns what load_info takes."""
    if (not index_path(store.path).is_file() or not store.path.is_file()
            or _vouched_sha256(store.path, _stat(store.path)) is not None):
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-sha256")
    job = pool.submit(file_sha256, store.path)
    pool.shutdown(wait=False)

    def result() -> str:
        digest = job.result()
        pool.shutdown(wait=True)  # the thread gone, not just done: a later fork() wants no other thread
        return digest

    return result


def load_info(store: ModelStore, model_sha256: Callable[[], str] | None = None) -> ModelInfo:
    """The model's ModelInfo: from the index when it matches the file, else from the model.

    `model_sha256` gives the file's digest when the index must be checked against it
    (start_model_hash); by default it is computed here."""
    if store.path.is_dir():
        raise InputError([Diagnostic(file=str(store.path), message="is a directory, not a threat model file")])
    stat = _stat(store.path)
    if stat is None:
        file_sha256(store.path)  # raises the located 'file not found'
    try:
        raw = index_path(store.path).read_bytes()
        body = raw.index(b"\n") + 1
        data = json.loads(raw[:body])
        info = ModelInfo.from_header(data["header"], _reader(raw, body, data["targets"]))
        indexed = data["model_sha256"]
        if _vouched_sha256(store.path, stat) == indexed:
            return info
        if indexed == (model_sha256() if model_sha256 is not None else file_sha256(store.path)):
            _vouch(store.path, indexed)  # same content (a fresh checkout, a racy time stamp)
            return info
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    loaded = store.load()
    return write_index(store.path, loaded.model, loaded.file_sha)


def version_exists(store: ModelStore, content_hash: str) -> bool:
    return (store.versions_dir / f"{content_hash}.json").exists()


def indexed_content_hash(model_path: Path, file_sha256: str) -> str | None:
    """The stakeholder stage hash the index recorded for the model file with these bytes,
    or None (no index, another file's, an older format): saves serialising the model."""
    try:
        with open(index_path(model_path), encoding="utf-8") as fh:
            head = json.loads(fh.readline())
        if head.get("model_sha256") != file_sha256 or head["header"].get("info_version") != INFO_VERSION:
            return None
        content = head["header"]["content_hash"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return content if isinstance(content, str) and len(content) == 64 else None
