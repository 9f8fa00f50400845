"""Shared, generic fixtures. Keep this small: anything specific belongs in its test file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatline.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PATH = ROOT / "examples" / "payments" / "architecture.yaml"


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the `threatline` CLI in-process: cli("validate", path) -> typer.testing.Result.

    Result.output holds stdout and stderr together; Result.stdout only stdout.
    """
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    return run


@pytest.fixture(scope="session")
def knowledge():
    """The bundled rule packs and controls catalogue, loaded once (nothing mutates them)."""
    from threatline.formats.knowledge_packs import load_knowledge

    return load_knowledge()


@pytest.fixture(scope="session")
def example_text() -> str:
    """The bundled example architecture (examples/payments/architecture.yaml)."""
    return EXAMPLE_PATH.read_text(encoding="utf-8")


@pytest.fixture
def drafted_model(tmp_path: Path, example_text: str) -> Path:
    """threatmodel.yaml drafted from the bundled example into tmp_path (beside its
    architecture.yaml), as `threatline draft` writes it."""
    from threatline.service import draft_file, write_outputs

    arch = tmp_path / "architecture.yaml"
    arch.write_text(example_text, encoding="utf-8")
    write_outputs(draft_file(arch), tmp_path, who="dev@example.com", now="2026-11-27T09:00:00+00:00")
    return tmp_path / "threatmodel.yaml"
