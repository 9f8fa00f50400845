"""Exporters stream the same document as render() gives, as UTF-8 bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatline import service

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"


@pytest.fixture(scope="module")
def drafted():
    return service.draft_file(EXAMPLE)


@pytest.mark.parametrize("name", sorted(service.OUTPUTS))
def test_chunks_are_the_rendered_text(drafted, name):
    exporter = service.OUTPUTS[name]
    text = exporter.render(drafted.model, drafted.arch)
    chunks = list(exporter.render_chunks(drafted.model, drafted.arch))
    assert all(isinstance(c, bytes) for c in chunks)
    assert b"".join(chunks).decode("utf-8") == text


def test_default_chunks_split_long_text_on_character_boundaries(drafted, monkeypatch):
    exporter = service.OUTPUTS["markdown"]
    long_text = "é" * ((1 << 20) + 5)  # two-byte characters across the slice boundary
    monkeypatch.setattr(type(exporter), "render", lambda self, model, arch: long_text)
    chunks = list(exporter.render_chunks(drafted.model, drafted.arch))
    assert len(chunks) == 2
    assert b"".join(chunks).decode("utf-8") == long_text
