"""Bundled packs stay on the YAML fast path: every command loads them, so an anchor or a
line indented 50 columns deep (which sends a file to the slower safe loader or to the
nesting measurement) costs each `check` in CI. At 314 rules that was 0.145 s -> 0.05 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatline.formats import yamlio
from threatline.formats.knowledge_packs import bundled_dir

PACKS = sorted((bundled_dir() / "rules").glob("*.yaml")) + sorted(bundled_dir().glob("controls*.yaml"))


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.name)
def test_bundled_pack_loads_on_the_fast_path(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not yamlio._needs_safe_loader(text), f"{path.name}: an anchor, alias, tag or merge key; repeat the list instead"
    assert not yamlio._has_deep_line(text), f"{path.name}: a line indented {yamlio._PREFIX}+ columns; indent less"
