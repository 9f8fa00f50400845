"""Writing and reading threatmodel.yaml: block YAML for ordinary models, JSON syntax
above JSON_SYNTAX_THRESHOLD threats (docs/format.md, "Large threat models").

Both syntaxes must read back to exactly the model written, through our JSON fast path
and through any YAML reader; a damaged JSON-syntax file gives a located InputError.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pytest
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from threatline import service
from threatline.drift.state import ModelInfo
from threatline.formats import threatmodel_yaml
from threatline.formats.threatmodel_yaml import (
    HEADER,
    load_threat_model,
    load_threat_model_and_sha,
    render_threat_model,
)
from threatline.formats.yamlio import load_yaml
from threatline.model.diagnostics import InputError
from threatline.model.threatmodel import ThreatModel
from threatline.store import index
from threatline.store.directory import ModelStore
from threatline.workflow.actions import stage_hash

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "payments" / "architecture.yaml"

ODD_STRINGS = [
    'say "hi" and \'bye\'', "line one\nline two\n", "tab\there", "  leading and trailing  ",
    "yes", "no", "on", "null", "~", "1e3", "0x1F", "012", "1_000", "true", "2024-01-01", "",
    "unicode: é ü 漢字 😀", "control \x01\x07\x1b chars", "del \x7f and c1 \x85\x9f",
    "separators \u2028 \u2029", "bom \ufeff inside", "noncharacters \ufffe \uffff", "back\\slash",
    "# not a comment", "key: value", "- not a list", "{not: json}", "[1, 2]", "&anchor *alias !tag",
    "carriage\rreturn", "crlf\r\nend", "---", "...", "%YAML",
]


@functools.cache
def _drafted() -> ThreatModel:
    return service.draft_file(EXAMPLE).model


def _model_with(strings: list[str]) -> ThreatModel:
    """The example model with odd strings in free-text fields of its threats."""
    model = _drafted().model_copy(deep=True)
    assert len(strings) <= 2 * len(model.threats), "more odd strings than fields to hold them"
    for i, text in enumerate(strings):
        # the title of one threat, or, past the number of threats, the description of another
        threat = model.threats[i % len(model.threats)]
        if i < len(model.threats):
            threat.title = text
        threat.description = text + " / " + text
    return model


def _write(tmp_path: Path, model: ThreatModel, json_syntax: bool, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", -1 if json_syntax else 10**9)
    path = tmp_path / "threatmodel.yaml"
    path.write_bytes(render_threat_model(model).encode("utf-8"))
    return path


def _body(path: Path) -> str:
    return path.read_text(encoding="utf-8").removeprefix(HEADER)


@pytest.mark.parametrize("json_syntax", [False, True], ids=["block", "json"])
def test_round_trip_with_odd_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_syntax: bool) -> None:
    model = _model_with(ODD_STRINGS)
    path = _write(tmp_path, model, json_syntax, monkeypatch)
    assert _body(path).startswith("{") is json_syntax
    assert load_threat_model(path) == model


@pytest.mark.parametrize("json_syntax", [False, True], ids=["block", "json"])
def test_any_yaml_reader_reads_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_syntax: bool) -> None:
    model = _model_with(ODD_STRINGS)
    path = _write(tmp_path, model, json_syntax, monkeypatch)
    text = path.read_text(encoding="utf-8")
    expected = model.model_dump(mode="json")
    assert load_yaml(text, "x")[0] == expected  # our YAML loader (yaml-rs or the safe loader)
    assert yaml_rs.loads(text, parse_datetime=False) == expected
    assert YAML(typ="safe", pure=True).load(text) == expected


def test_json_syntax_is_one_value_per_line_and_ascii_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _model_with(ODD_STRINGS), True, monkeypatch)
    body = _body(path)
    assert json.loads(body)["threats"][0]["title"] == ODD_STRINGS[0]
    # Characters a YAML reader would fold or refuse are escaped, never written raw.
    for raw in "\x7f\x85\u2028\u2029\ufeff\ufffe\uffff":
        assert raw not in body
    assert "漢字" in body and "😀" in body  # ordinary Unicode stays readable
    assert all(line.count('": ') <= 1 for line in body.splitlines())


def test_threshold_switches_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _drafted()
    count = len(model.threats)
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", count)
    assert render_threat_model(model).removeprefix(HEADER).startswith("version:")
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", count - 1)
    assert render_threat_model(model).removeprefix(HEADER).startswith("{\n")
    assert count - 1 == threatmodel_yaml.JSON_SYNTAX_THRESHOLD


def test_default_threshold_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text(encoding="utf-8")
    monkeypatch_free = threatmodel_yaml.JSON_SYNTAX_THRESHOLD
    assert f"{monkeypatch_free:,}" in docs


def test_sha_is_of_the_file_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for json_syntax in (False, True):
        path = _write(tmp_path, _drafted(), json_syntax, monkeypatch)
        model, sha = load_threat_model_and_sha(path)
        assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
        assert model == _drafted()


def test_json_syntax_edited_into_plain_yaml_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _drafted(), True, monkeypatch)
    text = path.read_text(encoding="utf-8")
    # Unquoted and with a comment: YAML, no longer JSON.
    edited = text.replace('"appetite": "medium",', "appetite: medium,  # agreed with the owner", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    assert load_threat_model(path) == _drafted()


@pytest.mark.parametrize("large", [False, True], ids=["yaml-fallback", "json-error"])
def test_corrupt_json_syntax_gives_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    path = _write(tmp_path, _drafted(), True, monkeypatch)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = next(i for i, line in enumerate(lines) if line.startswith('   "title"'))
    lines[broken] = lines[broken].replace('",', '" oops,', 1)
    path.write_text("".join(lines), encoding="utf-8")
    if large:
        monkeypatch.setattr(threatmodel_yaml, "_YAML_FALLBACK_MAX_CHARS", 0)
    with pytest.raises(InputError) as caught:
        load_threat_model(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.file == str(path)
    assert diagnostic.line == broken + 1
    assert diagnostic.hint


def test_truncated_json_syntax_gives_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _drafted(), True, monkeypatch)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        load_threat_model(path)
    assert caught.value.diagnostics[0].line is not None


def test_invalid_value_in_json_syntax_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, _drafted(), True, monkeypatch)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # The severity of the second threat.
    severities = [i for i, line in enumerate(lines) if line.startswith('   "severity": ')]
    target = severities[1]
    lines[target] = '   "severity": "bogus",\n'
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_threat_model(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.key is not None and "severity" in diagnostic.key and "1" in diagnostic.key
    assert (diagnostic.line, diagnostic.column) == (target + 1, 4)


def test_json_locator_paths() -> None:
    body = '{\n "a": [\n  {"x": 1, "y": [10, 20]},\n  {"x": 2}\n ],\n "b": "q\\"uo"\n}\n'
    locator = threatmodel_yaml._JsonLocator(body, header_lines=2)
    assert locator.locate(("a", 0, "y", 1)) == (5, 22)
    assert locator.locate(("a", 1, "x")) == (6, 4)
    assert locator.locate(("b",)) == (8, 2)
    assert locator.locate(("a", 7, "x")) == (4, 2)  # the deepest part it reaches: the key "a"
    assert locator.locate(("missing",)) == (3, 1)


def test_binary_or_not_utf8_json_syntax(tmp_path: Path) -> None:
    path = tmp_path / "threatmodel.yaml"
    path.write_bytes(HEADER.encode() + b'{"version": 1, "system": "\xff"}\n')
    with pytest.raises(InputError) as caught:
        load_threat_model(path)
    assert "UTF-8" in caught.value.diagnostics[0].message


def test_commit_writes_and_indexes_json_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", -1)
    store = ModelStore(tmp_path / "threatmodel.yaml")
    written = store.commit(None, _drafted(), [], "tester", "2026-01-01T00:00:00+00:00")
    assert _body(store.path).startswith("{")
    loaded = store.load()
    assert loaded.model == written
    assert loaded.file_sha == hashlib.sha256(store.path.read_bytes()).hexdigest()
    # The index holds exactly what ModelInfo would serialise itself.
    content = stage_hash(written, "stakeholder")
    info = ModelInfo.of(written, content, index.stage_of(written, content))
    lines = index.index_path(store.path).read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    assert head["model_sha256"] == loaded.file_sha
    assert json.dumps(head["header"], sort_keys=True) == json.dumps(info.header(), sort_keys=True)
    expected = [f"{target}\t{json.dumps(record, separators=(',', ':'), sort_keys=True)}"
                for target, record in info.threat_records()]
    assert lines[1:] == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(strings=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30), min_size=1, max_size=6),
       json_syntax=st.booleans())
def test_round_trip_property(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strings: list[str], json_syntax: bool) -> None:
    model = _model_with(strings)
    path = _write(tmp_path, model, json_syntax, monkeypatch)
    assert load_threat_model(path) == model
    assert load_yaml(path.read_text(encoding="utf-8"), "x")[0] == model.model_dump(mode="json")


def test_json_syntax_is_pydantic_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without characters to escape, the body is exactly model_dump_json(indent=1)."""
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", -1)
    model = _model_with(["plain", "unicode é — 漢字 · °"])
    assert render_threat_model(model) == HEADER + model.model_dump_json(indent=1) + "\n"
    assert threatmodel_yaml.render_threat_model_bytes(model) == render_threat_model(model).encode("utf-8")


def test_stage_of_without_signoffs_hashes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(index, "stage_hash", lambda model, stage: calls.append(stage) or "x")
    assert index.stage_of(_drafted(), "content") == "draft"
    assert calls == []


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff"])
def test_each_yaml_unsafe_character_alone_is_escaped(char: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", -1)
    model = _model_with([f"a — {char} b"])  # with an ordinary non-ASCII character beside it
    text = render_threat_model(model)
    assert char not in text and f"\\u{ord(char):04x}" in text
    assert yaml_rs.loads(text, parse_datetime=False) == model.model_dump(mode="json")


@pytest.mark.parametrize("large", [False, True], ids=["yaml-fallback", "json-error"])
def test_deeply_nested_json_syntax_is_refused_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    path = tmp_path / "threatmodel.yaml"
    path.write_text(HEADER + '{"version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    if large:
        monkeypatch.setattr(threatmodel_yaml, "_YAML_FALLBACK_MAX_CHARS", 0)
    with pytest.raises(InputError) as caught:
        load_threat_model(path)
    message = caught.value.diagnostics[0].message
    assert "nests deeper" in message or "recursion limit" in message


def test_loading_leaves_the_collector_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    path = _write(tmp_path, _drafted(), True, monkeypatch)
    assert gc.isenabled()
    load_threat_model(path)
    assert gc.isenabled()
    path.write_text(HEADER + '{"version": "not a number"}\n', encoding="utf-8")
    with pytest.raises(InputError):
        load_threat_model(path)
    assert gc.isenabled()


def test_large_model_pieces_are_the_file_and_its_hash(tmp_path, monkeypatch):
    """The store writes and hashes the JSON-syntax model piece by piece: the same bytes
    as the joined rendering, and the index records their sha256."""
    from threatline.service import draft_file, write_outputs
    from threatline.store.index import index_path as _index_path

    monkeypatch.setattr(threatmodel_yaml, "JSON_SYNTAX_THRESHOLD", 1)
    arch = tmp_path / "architecture.yaml"
    arch.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    saved = write_outputs(draft_file(arch), tmp_path, who="dev@example.com", now="2026-11-27T09:00:00+00:00")
    written = (tmp_path / "threatmodel.yaml").read_bytes()
    pieces = threatmodel_yaml.render_threat_model_chunks(saved.model)
    assert len(pieces) > 1 and b"".join(pieces) == written
    assert written.removeprefix(threatmodel_yaml._HEADER_BYTES).startswith(b"{")
    head = json.loads(_index_path(tmp_path / "threatmodel.yaml").read_text(encoding="utf-8").splitlines()[0])
    assert head["model_sha256"] == hashlib.sha256(written).hexdigest()
