"""Located messages about bad input, shared by every loader."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Diagnostic(BaseModel):
    file: str
    line: int | None = None
    column: int | None = None
    key: str = ""
    message: str
    hint: str = ""
    severity: Literal["error", "warning"] = "error"

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.severity}: "
        if self.key:
            text += f"{self.key}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(Exception):
    """Input that Threatline refuses; carries every located problem found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.render() for d in diagnostics))


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
