"""The model index: what drift and `check` need of a threat model, without parsing it all.

`.threatline/<stem>.index.json` beside the model holds a ModelInfo (drift.state): per
threat and mitigation only the fields drift reads, the stored snapshot, the content
hash a published version is named by and the sign-off stage. It is derived data, keyed
by the sha256 of the model file's bytes: a stale or missing index is rebuilt from the
model (and rewritten when the directory is writable), so it can never give a wrong
answer, only save time. ModelStore.commit and `draft` keep it fresh; on a 10,000
component model it turns a multi-second YAML parse into a JSON read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from threatline.drift.state import ModelInfo
from threatline.formats.yamlio import atomic_write
from threatline.model.diagnostics import Diagnostic, InputError
from threatline.model.threatmodel import STAGES, ThreatModel
from threatline.workflow.actions import stage_hash

if TYPE_CHECKING:
    from threatline.store.directory import ModelStore

_STAGE_NAMES = ["draft", "security-reviewed", "architecture-reviewed", "accepted"]


def index_path(model_path: Path) -> Path:
    return model_path.parent / ".threatline" / f"{model_path.stem}.index.json"


def stage_of(model: ThreatModel, stakeholder_hash: str) -> str:
    """The stage its valid sign-offs give the model (as workflow.actions.model_status,
    without 'published', which depends on the version files)."""
    valid = 0
    for stage in STAGES:
        latest = next((s for s in reversed(model.signoffs) if s.stage == stage), None)
        expected = stakeholder_hash if stage == "stakeholder" else stage_hash(model, stage)
        if latest is None or latest.content_hash != expected:
            break
        valid += 1
    return _STAGE_NAMES[valid]


def write_index(model_path: Path, model: ThreatModel, file_sha256: str, stakeholder_hash: str | None = None) -> ModelInfo:
    """Index a model just read or written; a directory we may not write to is no error."""
    content = stakeholder_hash or stage_hash(model, "stakeholder")
    info = ModelInfo.of(model, content, stage_of(model, content))
    data = {"model_sha256": file_sha256, **info.to_dict()}
    with contextlib.suppress(OSError):
        atomic_write(index_path(model_path), json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    return info


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise InputError([Diagnostic(file=str(path), message="file not found",
                                     hint="draft the model first: threatline draft architecture.yaml")]) from None


def load_info(store: ModelStore) -> ModelInfo:
    """The model's ModelInfo: from the index when it matches the file, else from the model."""
    if store.path.is_dir():
        raise InputError([Diagnostic(file=str(store.path), message="is a directory, not a threat model file")])
    sha = file_sha256(store.path)
    try:
        data = json.loads(index_path(store.path).read_text(encoding="utf-8"))
        if data.get("model_sha256") == sha:
            return ModelInfo.from_dict({k: v for k, v in data.items() if k != "model_sha256"})
    except (OSError, ValueError, TypeError, KeyError):
        pass
    loaded = store.load()
    return write_index(store.path, loaded.model, loaded.file_sha)


def version_exists(store: ModelStore, content_hash: str) -> bool:
    return (store.versions_dir / f"{content_hash}.json").exists()
