"""`threatline draft` over an existing model says when the architecture moved on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from threatline.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()


def test_redraft_of_a_changed_architecture_prints_the_drift_notes(tmp_path, monkeypatch):
    monkeypatch.setenv("THREATLINE_USER", "dev@example.com")
    arch = tmp_path / "architecture.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    arch.write_text(text, encoding="utf-8")
    first = runner.invoke(app, ["draft", str(arch), "-q"])
    assert first.exit_code == 0, first.output
    assert "drift note" not in first.output
    assert "protocol: https" in text
    arch.write_text(text.replace("protocol: https", "protocol: http", 1), encoding="utf-8")
    second = runner.invoke(app, ["draft", str(arch), "-q"])
    assert second.exit_code == 0, second.output
    flat = " ".join(second.output.split())
    assert "the architecture changed since the last draft: 1 change(s)" in flat
    assert "drift note(s) for review" in flat
    again = runner.invoke(app, ["draft", str(arch), "-q"])
    assert "architecture changed" not in " ".join(again.output.split())
