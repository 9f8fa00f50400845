"""threatmodel.yaml: the working document that review decisions are added to.

Ordinary models are written as block-style YAML. Models with more than
JSON_SYNTAX_THRESHOLD threats are written in JSON syntax (one value per line), which
is still YAML 1.2 that any YAML reader accepts, but renders and loads an order of
magnitude faster (docs/format.md, "Large threat models"). Reading takes the JSON fast
path whenever the document (after its comment header) opens with '{', and falls back
to the YAML loader for everything else, or when the JSON parser refuses the text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import field
from pathlib import Path
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticSerializationError

from threatline.formats.interface import Exporter
from threatline.formats.yamlio import check_file, dump_yaml, gc_paused, load_yaml, read_text
from threatline.model.architecture import Architecture
from threatline.model.diagnostics import Diagnostic, InputError, format_path
from threatline.model.threatmodel import (
    MitigationStatus,
    Severity,
    TargetKind,
    ThreatModel,
    ThreatStatus,
)

HEADER = (
    "# Threat model drafted by Threatline. Review decisions are recorded in this file;\n"
    "# re-running 'threatline draft' keeps them attached to the stable threat ids.\n"
)

# Above this many threats the model is written in JSON syntax rather than block YAML:
# about 40 MB of block YAML, where rendering and parsing it take seconds (the JSON
# syntax is ~10x faster both ways and reads back exactly, with no check needed).
JSON_SYNTAX_THRESHOLD = 5_000

# Threat models are Threatline's own output and grow with the system; they get a
# larger ceiling than hand-written architecture files.
MODEL_MAX_BYTES = 2 * 1024 * 1024 * 1024

# A JSON-syntax model that the JSON parser refuses is handed to the YAML loader (it
# may have been edited into valid YAML that is not JSON) only up to this size: the
# located error of the YAML safe loader costs minutes on hundreds of megabytes. Larger
# files get the JSON parser's own line and column.
_YAML_FALLBACK_MAX_CHARS = 32 * 1024 * 1024

_HINT = "is this a threatmodel.yaml written by 'threatline draft'?"


class YamlExporter(Exporter):
    name = "yaml"
    suffix = ".yaml"

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        return render_threat_model(model)


# Characters JSON leaves raw that a YAML reader would not carry through a
# double-quoted scalar: non-printable ones (DEL, C1 controls, U+FFFE/U+FFFF), the ones
# it folds into line breaks (NEL, U+2028, U+2029) and the BOM. JSON escapes the C0
# controls, quotes and backslashes itself. Matched in the UTF-8 bytes, where each of
# them is a byte sequence that can only start a character.
_JSON_NOT_YAML = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]")
# Looked for first by lead byte: `in` on bytes is a memchr-speed scan, and a pattern
# that opens with a literal byte is scanned for almost as fast; one alternation over
# hundreds of megabytes is ten times slower.
_JSON_NOT_YAML_BY_LEAD: tuple[tuple[bytes, re.Pattern[bytes] | None], ...] = (
    (b"\x7f", None),
    (b"\xc2", re.compile(rb"\xc2[\x80-\x9f]")),
    (b"\xe2", re.compile(rb"\xe2\x80[\xa8\xa9]")),
    (b"\xef", re.compile(rb"\xef(?:\xbb\xbf|\xbf[\xbe\xbf])")),
)


def _escape(match: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(match.group().decode("utf-8"))


def _yaml_safe_json(body: bytes) -> bytes:
    """JSON text with the characters YAML would not read back escaped (only inside
    strings can they occur: JSON's structure is ASCII, so escaping them is exact)."""
    if body.isascii():
        return body
    for lead, pattern in _JSON_NOT_YAML_BY_LEAD:
        if lead in body and (pattern is None or pattern.search(body)):
            return _JSON_NOT_YAML.sub(_escape, body)
    return body


def render_threat_model(model: ThreatModel) -> str:
    """The text of threatmodel.yaml: comment header, then block YAML or, for large
    models, JSON syntax (JSON_SYNTAX_THRESHOLD)."""
    return render_threat_model_bytes(model).decode("utf-8")


def render_threat_model_bytes(model: ThreatModel) -> bytes:
    """render_threat_model as the UTF-8 bytes to write (a large model never becomes a str)."""
    return b"".join(render_threat_model_chunks(model))


def render_threat_model_chunks(model: ThreatModel) -> list[bytes]:
    """The same bytes in pieces to write and hash one after the other: joined, the JSON
    syntax of a 10,000-component model would be a second copy of a few hundred megabytes."""
    if len(model.threats) > JSON_SYNTAX_THRESHOLD:
        try:
            # What model_dump_json(indent=1) returns, before it is decoded into a str.
            body = model.__pydantic_serializer__.to_json(model, indent=1)
        except PydanticSerializationError:
            pass  # a lone surrogate cannot be UTF-8 encoded; the YAML writer escapes it
        else:
            return [_HEADER_BYTES, _yaml_safe_json(body), b"\n"]
    return [(HEADER + dump_yaml(model.model_dump(mode="json"))).encode("utf-8")]


_HEADER_BYTES = HEADER.encode("utf-8")


def load_threat_model(path: Path) -> ThreatModel:
    return load_threat_model_and_sha(path)[0]


def load_threat_model_and_sha(path: Path) -> tuple[ThreatModel, str]:
    """The model and the sha256 of the file's bytes, from a single read of the file."""
    name = str(path)
    size = check_file(path, MODEL_MAX_BYTES)  # not found, a directory, over the limit
    raw = bytearray(size)
    with open(path, "rb") as fh:
        del raw[fh.readinto(raw):]
        raw += fh.read()  # if the file grew since its size was taken
    sha = hashlib.sha256(raw).hexdigest()
    start = _json_body_start(raw)
    if start is not None and b"\x00" not in raw[:65536]:
        header_lines = raw.count(b"\n", 0, start)
        # Dropping the header from the front of a bytearray does not copy the file.
        del raw[:start]
        try:
            with gc_paused(keep_built=True):
                return ThreatModel.model_validate_json(raw), sha
        except ValidationError as exc:
            syntax = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
            if syntax is None:
                body = raw.decode("utf-8")
                raise _validation_error(name, exc, _JsonLocator(body, header_lines)) from None
            if len(raw) > _YAML_FALLBACK_MAX_CHARS:
                raise _json_syntax_error(name, syntax["msg"], header_lines) from None
    del raw
    # Block YAML, or JSON syntax the JSON parser refused (it may be YAML that is not JSON).
    with gc_paused():
        data, locator = load_yaml(read_text(path, MODEL_MAX_BYTES), name)
    try:
        with gc_paused(keep_built=True):
            return ThreatModel.model_validate(data), sha
    except ValidationError as exc:
        raise _validation_error(name, exc, locator) from None


# The light view 'threatline plan' reads: only the fields the planner and its output
# use, typed as in ThreatModel. The rest of each threat and mitigation (scores, factors,
# history, rationale...) is skipped by the JSON parser instead of being built, and the
# parts are slotted dataclasses rather than models: at 10,000 components this loads in
# about half the time and memory of the full model.
_PLAN_VIEW = ConfigDict(extra="ignore")
_Scale = Annotated[int, Field(ge=1, le=5)]  # as RiskFigure's


@dataclass(config=_PLAN_VIEW, slots=True, frozen=True)
class PlanViewFigure:
    likelihood: _Scale
    impact: _Scale
    severity: Severity


@dataclass(config=_PLAN_VIEW, slots=True, frozen=True)
class PlanViewOutcome:
    threat: str
    after: PlanViewFigure


@dataclass(config=_PLAN_VIEW, slots=True, frozen=True)
class PlanViewCost:
    effort_days: tuple[float, float]
    latency: str = "none"
    latency_note: str = ""
    ops: str = "none"
    ops_note: str = ""

    @property
    def effort_mid(self) -> float:
        return (self.effort_days[0] + self.effort_days[1]) / 2


@dataclass(config=_PLAN_VIEW, slots=True, frozen=True)
class PlanViewThreat:
    id: str
    title: str
    current: PlanViewFigure
    status: ThreatStatus = "draft"


@dataclass(config=_PLAN_VIEW, slots=True, frozen=True)
class PlanViewMitigation:
    id: str
    control: str
    placement: str
    placement_kind: TargetKind
    name: str = ""
    placement_name: str = ""
    threats: list[str] = field(default_factory=list)
    status: MitigationStatus = "proposed"
    cost: PlanViewCost | None = None
    outcomes: list[PlanViewOutcome] = field(default_factory=list)


class PlanView(BaseModel):
    """What 'threatline plan' reads of a threat model."""

    model_config = _PLAN_VIEW

    threats: list[PlanViewThreat] = Field(default_factory=list)
    mitigations: list[PlanViewMitigation] = Field(default_factory=list)


def load_plan_view(path: Path) -> PlanView | ThreatModel:
    """The threats and mitigations of a model for planning, read light from a
    JSON-syntax model (large ones are written so); anything else, and any file the
    light read refuses, goes through load_threat_model, which gives its located errors.

    The light read checks only the fields it reads: a large model broken elsewhere
    (say in a threat's history) still plans; every other command reports it.
    """
    size = check_file(path, MODEL_MAX_BYTES)
    raw = bytearray(size)
    with open(path, "rb") as fh:
        del raw[fh.readinto(raw):]
        raw += fh.read()
    start = _json_body_start(raw)
    if start is not None and b"\x00" not in raw[:65536]:
        del raw[:start]
        try:
            with gc_paused(keep_built=True):
                return PlanView.model_validate_json(raw)
        except ValidationError:
            pass
    del raw
    return load_threat_model(path)


def _json_body_start(raw: bytes | bytearray) -> int | None:
    """Offset of the '{' that opens a JSON-syntax document after blank and '#' comment
    lines (and a BOM), or None for anything else."""
    pos = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    end = len(raw)
    while pos < end:
        byte = raw[pos]
        if byte in b" \t\r\n":
            pos += 1
        elif byte == ord("#"):
            newline = raw.find(b"\n", pos)
            if newline < 0:
                return None
            pos = newline + 1
        else:
            return pos if byte == ord("{") else None
    return None


_JSON_POSITION = re.compile(r"^(.*?)(?: at line (\d+) column (\d+))?$", re.DOTALL)


def _json_syntax_error(name: str, message: str, header_lines: int) -> InputError:
    found = _JSON_POSITION.match(message.removeprefix("Invalid JSON: "))
    assert found is not None  # the pattern matches any text
    problem, line, column = found.group(1), found.group(2), found.group(3)
    return InputError([Diagnostic(
        file=name,
        line=int(line) + header_lines if line else None,
        column=int(column) if column else None,
        message=f"invalid JSON syntax: {problem}",
        hint="this large model is written in JSON syntax; fix the JSON at that point, or draft it again",
    )])


class _Locating(Protocol):
    def locate(self, path: tuple[str | int, ...]) -> tuple[int | None, int | None]: ...


def _validation_error(name: str, exc: ValidationError, locator: _Locating) -> InputError:
    errors = []
    for err in exc.errors():
        path = tuple(err["loc"])
        line, col = locator.locate(path)
        errors.append(Diagnostic(file=name, line=line, column=col, key=format_path(path),
                                 message=err["msg"], hint=_HINT))
    return InputError(errors)


_SPACE = re.compile(r"[ \t\r\n]*")


class _JsonLocator:
    """Line and column of a key path (('threats', 3, 'severity')) in JSON text.

    Walks down the path, stepping over the values before it with the C JSON decoder,
    so it is fast even deep into a large file. Only used to locate a validation error:
    a good file never pays for it. Stops at the deepest part of the path it can reach.
    """

    def __init__(self, body: str, header_lines: int):
        self._body = body
        self._header_lines = header_lines  # the comment lines before the JSON

    def locate(self, path: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        try:
            position = self._find(path)
        except (ValueError, IndexError):
            return None, None
        line = self._body.count("\n", 0, position) + 1
        column = position - (self._body.rfind("\n", 0, position) + 1) + 1
        return line + self._header_lines, column

    def _skip_space(self, pos: int) -> int:
        match = _SPACE.match(self._body, pos)
        return match.end() if match else pos

    def _find(self, path: tuple[str | int, ...]) -> int:
        body, decode = self._body, _DECODER.raw_decode
        pos = self._skip_space(0)
        found = pos
        for part in path:
            opener = body[pos]
            if opener == "{":
                pos = self._skip_space(pos + 1)
                while body[pos] == '"':
                    key, after = decode(body, pos)
                    value = self._skip_space(self._skip_space(after) + 1)  # past ':'
                    if key == str(part):
                        found = pos
                        pos = value
                        break
                    _, pos = decode(body, value)
                    pos = self._skip_space(pos)
                    if body[pos] == ",":
                        pos = self._skip_space(pos + 1)
                else:
                    return found
            elif opener == "[" and isinstance(part, int):
                pos = self._skip_space(pos + 1)
                for _ in range(part):
                    _, pos = decode(body, pos)
                    pos = self._skip_space(pos)
                    if body[pos] != ",":
                        return found
                    pos = self._skip_space(pos + 1)
                if body[pos] == "]":
                    return found
                found = pos
            else:
                return found
        return found


_DECODER = json.JSONDecoder()
