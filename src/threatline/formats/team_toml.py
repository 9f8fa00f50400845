"""threatline.toml: the team, their roles, the risk appetite and acceptance limits.

    [team]
    appetite = "medium"
    acceptance_months = { critical = 1, high = 3, medium = 6, low = 12 }

    [[team.members]]
    email = "ana@example.com"
    name = "Ana"
    roles = ["security"]

    [[team.members]]
    email = "raj@example.com"
    roles = ["risk-owner"]
    max_accept = "high"
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from threatline.model.diagnostics import Diagnostic, InputError, format_path
from threatline.workflow.team import Team

FILENAME = "threatline.toml"


def find_team_file(start: Path) -> Path | None:
    """The nearest threatline.toml in the model's directory or above it."""
    here = start.resolve()
    for directory in [here, *here.parents]:
        candidate = directory / FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_team(path: Path) -> Team:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError([Diagnostic(file=str(path), line=line, message=f"not valid TOML: {exc}")]) from None
    except UnicodeDecodeError:
        raise InputError([Diagnostic(file=str(path), message="not UTF-8 text")]) from None
    section = data.get("team")
    if not isinstance(section, dict):
        raise InputError([Diagnostic(file=str(path), key="team", message="missing [team] section",
                                     hint="see docs/review.md for the format")])
    try:
        return Team.model_validate(section)
    except ValidationError as exc:
        raise InputError([
            Diagnostic(file=str(path), key="team." + format_path(tuple(e["loc"])), message=e["msg"])
            for e in exc.errors()
        ]) from None


def team_for(model_path: Path, explicit: Path | None = None) -> tuple[Team, Path]:
    path = explicit or find_team_file(model_path.parent)
    if path is None:
        raise InputError([Diagnostic(
            file=str(model_path), message=f"no {FILENAME} found beside the model or above it",
            hint="create one listing reviewers and roles; see docs/review.md")])
    return load_team(path), path
