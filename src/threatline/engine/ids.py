"""Stable identifiers: a hash of what an item is about, never of where it sits."""

from __future__ import annotations

import hashlib


def stable_id(prefix: str, *parts: str, length: int = 10) -> str:
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:length]}"
