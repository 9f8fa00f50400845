"""Content hashes: what a sign-off binds to, and what names a published version."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from threatline.model.threatmodel import ThreatModel

# Bookkeeping that is not content: who signed, which versions exist, the write counter.
_NOT_CONTENT = {"signoffs", "published", "revision"}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(model: ThreatModel) -> str:
    """Hash of threats, mitigations, their decisions and the model's settings."""
    data = model.model_dump(mode="json", exclude=_NOT_CONTENT)
    return sha256_text(canonical_json(data))
