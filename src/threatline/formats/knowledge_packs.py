"""Reads rule packs and control catalogues from disk into a compiled Knowledge.

The bundled packs live in src/threatline/knowledge/. Organisations add their
own with `--rules DIR` (every *.yaml in it is a rule pack) and `--controls FILE`
(a catalogue whose entries add to, or replace by id, the bundled controls). A
rule in an organisation pack with the id of a bundled rule replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from threatline.engine.conditions import ConditionError
from threatline.engine.knowledge import (
    Control,
    ControlCatalogue,
    Knowledge,
    Rule,
    RulePack,
    resolve_when_from,
)
from threatline.formats.yamlio import MAX_BYTES, Locator, load_yaml_file
from threatline.model.architecture import did_you_mean
from threatline.model.diagnostics import Diagnostic, InputError, format_path


def bundled_dir() -> Path:
    return Path(str(resources.files("threatline") / "knowledge"))


@dataclass
class LoadedRule:
    rule: Rule
    file: Path
    index: int


def _validation_errors(exc: ValidationError, name: str, locator: Locator, prefix: tuple) -> list[Diagnostic]:
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        line, col = locator.locate(loc)
        msg = err["msg"]
        out.append(Diagnostic(file=name, line=line, column=col, key=format_path(loc), message=msg))
    return out


def load_controls(files: list[Path], bundled: int = 1) -> tuple[dict[str, Control], dict[str, str]]:
    """The first `bundled` files are Threatline's own (an id may appear once across
    them); later files are an organisation's, whose entries add or replace by id."""
    controls: dict[str, Control] = {}
    # Where each control is defined, located only for an error message: locating composes
    # the file's node tree, which costs more than the rest of loading the catalogue.
    where: dict[str, tuple[Path, Locator, int]] = {}
    errors: list[Diagnostic] = []

    def origin(control_id: str) -> str:
        path, locator, i = where[control_id]
        return f"{path.name}:{locator.locate(('controls', i, 'id'))[0]}"

    for n, path in enumerate(files):
        data, locator = load_yaml_file(path, max_bytes=MAX_BYTES)
        if isinstance(data, list):
            data = {"controls": data}
        try:
            catalogue = ControlCatalogue.model_validate(data)
        except ValidationError as exc:
            errors += _validation_errors(exc, str(path), locator, ())
            continue
        for i, control in enumerate(catalogue.controls):
            try:
                control.compile()
            except ConditionError as exc:
                line, col = locator.locate(("controls", i, *exc.path.split(".")))
                errors.append(Diagnostic(file=str(path), line=line, column=col,
                                         key=f"controls[{i}].{exc.path}", message=str(exc)))
                continue
            if n < bundled and control.id in controls:
                line, col = locator.locate(("controls", i, "id"))
                errors.append(Diagnostic(file=str(path), line=line, column=col, key=f"controls[{i}].id",
                                         message=f"control '{control.id}' is already defined in {origin(control.id)}"))
                continue
            controls[control.id] = control
            where[control.id] = (path, locator, i)
    aliases: dict[str, str] = {}
    for control in controls.values():
        for alias in control.aliases:
            if alias in controls:
                errors.append(Diagnostic(file=origin(control.id), key=f"{control.id}.aliases",
                                         message=f"alias '{alias}' is also a control id (defined at {origin(alias)})"))
            elif alias in aliases and aliases[alias] != control.id:
                errors.append(Diagnostic(file=origin(control.id), key=f"{control.id}.aliases",
                                         message=f"alias '{alias}' is also an alias of '{aliases[alias]}'"))
            aliases[alias] = control.id
    if errors:
        raise InputError(errors)
    return controls, aliases


def _rule_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise InputError([Diagnostic(file=str(directory), message="rule pack directory not found")])
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_rules(dirs: list[Path], controls: dict[str, Control], aliases: dict[str, str]) -> tuple[list[LoadedRule], list[str]]:
    loaded: dict[str, LoadedRule] = {}
    packs: list[str] = []
    errors: list[Diagnostic] = []
    known = set(controls) | set(aliases)
    for directory in dirs:
        for path in _rule_files(directory):
            data, locator = load_yaml_file(path, max_bytes=MAX_BYTES)
            if isinstance(data, list):
                data = {"rules": data}
            if not isinstance(data, dict):
                errors.append(Diagnostic(file=str(path), line=1, message="a rule pack is a mapping with 'rules:'"))
                continue
            try:
                pack = RulePack.model_validate(data)
            except ValidationError as exc:
                errors += _validation_errors(exc, str(path), locator, ())
                continue
            pack_name = pack.pack or path.stem
            packs.append(pack_name)
            for i, rule in enumerate(pack.rules):
                rule.pack = pack_name
                try:
                    rule.compile()
                except ConditionError as exc:
                    parts = tuple(p for p in exc.path.replace("[", ".").replace("]", "").split(".") if p)
                    parts = tuple(int(p) if p.isdigit() else p for p in parts)
                    line, col = locator.locate(("rules", i, *parts))
                    errors.append(Diagnostic(file=str(path), line=line, column=col,
                                             key=f"rules[{i}].{exc.path}", message=str(exc).split(": ", 1)[-1]))
                    continue
                for j, ab in enumerate(rule.addressed_by):
                    if ab.control not in known:
                        line, col = locator.locate(("rules", i, "addressed_by", j))
                        errors.append(Diagnostic(
                            file=str(path), line=line, column=col, key=f"rules[{i}].addressed_by[{j}]",
                            message=f"unknown control '{ab.control}' in rule {rule.id}",
                            hint=did_you_mean(ab.control, known) or "add it to the controls catalogue",
                        ))
                previous = loaded.get(rule.id)
                if previous is not None and previous.file.parent == path.parent:
                    line, col = locator.locate(("rules", i, "id"))
                    errors.append(Diagnostic(file=str(path), line=line, column=col, key=f"rules[{i}].id",
                                             message=f"duplicate rule id '{rule.id}' (also in {previous.file.name})"))
                    continue
                loaded[rule.id] = LoadedRule(rule, path, i)
    for rule, problem in resolve_when_from({lr.rule.id: lr.rule for lr in loaded.values()}):
        lr = loaded[rule.id]
        _, locator = load_yaml_file(lr.file, max_bytes=MAX_BYTES)  # read again only to locate the error
        line, col = locator.locate(("rules", lr.index, "when_from"))
        errors.append(Diagnostic(file=str(lr.file), line=line, column=col, key=f"rules[{lr.index}].when_from",
                                 message=problem, hint="name a rule of the same kind that writes its own 'when'"))
    if errors:
        raise InputError(errors)
    return list(loaded.values()), packs


def load_knowledge_with_sources(
    rule_dirs: list[Path] | None = None, control_files: list[Path] | None = None
) -> tuple[Knowledge, list[LoadedRule]]:
    base = bundled_dir()
    bundled = [base / "controls.yaml", *sorted(base.glob("controls-*.yaml"))]
    controls, aliases = load_controls([*bundled, *(control_files or [])], bundled=len(bundled))
    loaded, packs = load_rules([base / "rules", *(rule_dirs or [])], controls, aliases)
    knowledge = Knowledge(rules=[lr.rule for lr in loaded], controls=controls, aliases=aliases, packs=packs)
    return knowledge, loaded


def load_knowledge(rule_dirs: list[Path] | None = None, control_files: list[Path] | None = None) -> Knowledge:
    return load_knowledge_with_sources(rule_dirs, control_files)[0]
