"""The native architecture format (YAML, version 1): read, validate, locate errors."""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from threatline.formats.yamlio import Locator, gc_paused, load_yaml, load_yaml_file
from threatline.model.architecture import (
    CLASSIFICATION_SYNONYMS,
    TRUST_SYNONYMS,
    TYPE_SYNONYMS,
    Architecture,
    Authentication,
    Classification,
    ComponentType,
    Protocol,
    StrideCategory,
    Trust,
    check_references,
    did_you_mean,
    read_leniently,
    vocabulary_word,
)
from threatline.model.diagnostics import Diagnostic, InputError, format_path

_ENUM_BY_KEY: dict[str, type[Enum]] = {
    "type": ComponentType,
    "protocol": Protocol,
    "authentication": Authentication,
    "classification": Classification,
    "trust": Trust,
    "mitigates": StrideCategory,
}


# Words people write for MUST values: the hint names the value meant.
_HINT_SYNONYMS: dict[str, dict[str, str]] = {
    "type": TYPE_SYNONYMS, "trust": TRUST_SYNONYMS, "classification": CLASSIFICATION_SYNONYMS,
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as list[Zone] or Selector | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


@functools.cache
def _schema(model: type[BaseModel]) -> tuple[frozenset[str], list[str], dict[str, tuple[type[BaseModel], bool]]]:
    """A model's keys (aliases where set), sorted for hints, and the keys that hold nested
    models (with whether they hold a list of them). Computed once per model, not per element."""
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    nested: dict[str, tuple[type[BaseModel], bool]] = {}
    for key, field in fields.items():
        if key == "properties":
            continue  # free-form by design
        sub = _model_of(field.annotation)
        if sub is not None:
            nested[key] = (sub, typing.get_origin(field.annotation) is list)
    return frozenset(fields), sorted(fields), nested


def _unknown_keys(
    data: Any, model: type[BaseModel], path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str, list[str]]]:
    """Keys the format does not define, with the keys it would accept there."""
    found: list[tuple[tuple[str | int, ...], str, list[str]]] = []
    if not isinstance(data, dict):
        return found
    known, valid, nested = _schema(model)
    if not nested and known.issuperset(data):
        return found  # the common case on large documents: a flat element with known keys only
    for key, value in data.items():
        key_s = str(key)
        if key_s not in known:
            found.append(((*path, key_s), key_s, list(valid)))
            continue
        sub = nested.get(key_s)
        if sub is None:
            continue
        sub_model, is_list = sub
        if is_list:
            # A list of the wrong shape is a validation error, not a place for key warnings.
            for i, item in enumerate(value if isinstance(value, list) else []):
                found.extend(_unknown_keys(item, sub_model, (*path, key_s, i)))
        else:
            found.extend(_unknown_keys(value, sub_model, (*path, key_s)))
    return found


def _diagnostic_for_error(err: Any, name: str, locator: Locator) -> Diagnostic:
    loc = tuple(err["loc"])
    line, col = locator.locate(loc)
    key = format_path(loc)
    etype = err["type"]
    given = err.get("input")
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if etype == "missing":
        return Diagnostic(
            file=name, line=line, column=col, key=key, message="required key is missing",
            hint=f"add '{last}:'",
        )
    if etype == "enum" and last in _ENUM_BY_KEY:
        valid = [m.value for m in _ENUM_BY_KEY[last]]
        what = "component type" if last == "type" else last
        synonyms = _HINT_SYNONYMS.get(last, {})
        meant = synonyms.get(vocabulary_word(given)) if isinstance(given, str) else None
        hint = f"did you mean '{meant}'?" if meant else did_you_mean(str(given), valid)
        hint = (hint + " " if hint else "") + "valid: " + ", ".join(valid)
        return Diagnostic(
            file=name, line=line, column=col, key=key, message=f"unknown {what} '{given}'", hint=hint
        )
    if etype == "string_pattern_mismatch":
        return Diagnostic(
            file=name, line=line, column=col, key=key, message=f"'{given}' is not a valid id",
            hint="ids are slugs: letters, digits, '-', '_', '.', ':'; no spaces",
        )
    msg = err["msg"]
    if etype == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if etype == "literal_error" and loc == ("version",):
        return Diagnostic(
            file=name, line=line, column=col, key=key,
            message=f"unsupported format version {given!r}",
            hint="this Threatline reads 'version: 1'",
        )
    return Diagnostic(file=name, line=line, column=col, key=key, message=msg[0].lower() + msg[1:])


def parse_architecture(
    data: Any, name: str, locator: Locator, known_controls: set[str]
) -> tuple[Architecture, list[Diagnostic]]:
    """Validate already-parsed data; raises InputError with every problem located."""
    if data is None:
        raise InputError([Diagnostic(file=name, message="empty document", hint="start from 'threatline init'")])
    if not isinstance(data, dict):
        raise InputError(
            [Diagnostic(file=name, line=1, message=f"expected a mapping at the top level, found {type(data).__name__}",
                        hint="an architecture starts with 'version: 1' and 'system:'")]
        )
    if "version" not in data:
        raise InputError([Diagnostic(file=name, line=1, key="version", message="required key is missing",
                                     hint="add 'version: 1' at the top")])
    version = data.get("version")
    if type(version) is not int or version != 1:  # not True, not 1.0: the contract says 1
        line, col = locator.locate(("version",))
        raise InputError([Diagnostic(file=name, line=line, column=col, key="version",
                                     message=f"unsupported format version {data.get('version')!r}",
                                     hint="this Threatline reads 'version: 1'")])

    warnings: list[Diagnostic] = []
    for path, key, valid in _unknown_keys(data, Architecture, ()):
        line, col = locator.locate(path)
        hint = did_you_mean(key, valid) or ("known keys: " + ", ".join(valid))
        warnings.append(Diagnostic(file=name, line=line, column=col, key=format_path(path),
                                   message=f"unknown key '{key}' is ignored", hint=hint, severity="warning"))

    for note in read_leniently(data, known_controls):
        line, col = locator.locate(note.path)
        warnings.append(Diagnostic(file=name, line=line, column=col, key=format_path(note.path),
                                   message=note.message, hint=note.hint, severity="warning"))

    try:
        arch = Architecture.model_validate(data)
    except ValidationError as exc:
        errors = [_diagnostic_for_error(e, name, locator) for e in exc.errors()]
        raise InputError(errors + warnings) from None

    problems = check_references(arch, known_controls)
    errors = []
    for p in problems:
        line, col = locator.locate(p.path)
        errors.append(Diagnostic(file=name, line=line, column=col, key=format_path(p.path),
                                 message=p.message, hint=p.hint, severity=p.severity))
    if errors:
        raise InputError(errors + warnings)
    return arch, warnings


def load_architecture(path: Path, known_controls: set[str]) -> tuple[Architecture, list[Diagnostic]]:
    # Loading builds hundreds of thousands of objects and no garbage cycles: without the
    # collector's passes over them a 10,000-component architecture loads in half the time.
    with gc_paused():
        data, locator = load_yaml_file(path)
        return parse_architecture(data, str(path), locator, known_controls)


def start_loading_architecture(path: Path) -> Callable[[set[str]], tuple[Architecture, list[Diagnostic]]]:
    """Read and parse the file on a second thread, so that it overlaps with what the caller
    does next (loading rule packs, a model's index): the YAML parser releases the
    interpreter lock while it parses. The returned function takes the known control ids
    and gives what load_architecture() gives, raising its errors."""
    # The parsed document is handed over through a list, not kept as the job's result: once
    # validated it is garbage (tens of MB on a large file), and a finished job would hold it.
    parsed: list[tuple[Any, Locator]] = []
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="architecture")
    job = pool.submit(lambda: parsed.append(load_yaml_file(path)))
    pool.shutdown(wait=False)

    def finish(known_controls: set[str]) -> tuple[Architecture, list[Diagnostic]]:
        try:
            job.result()  # raises the parser's error, if any
        finally:
            pool.shutdown(wait=True)  # the thread gone, not just done: a later fork() wants no other thread
        with gc_paused():
            data, locator = parsed.pop()
            return parse_architecture(data, str(path), locator, known_controls)

    return finish


def load_architecture_text(text: str, name: str, known_controls: set[str]) -> tuple[Architecture, list[Diagnostic]]:
    with gc_paused():
        data, locator = load_yaml(text, name)
        return parse_architecture(data, name, locator, known_controls)
