"""Bad input through the CLI: exit 2, a located message, no traceback, nothing written.

Every case runs through `validate`, `draft` (writing beside the input, where a
previous threatmodel.yaml/.md already exist) and `draft -o out`. A failed draft
must leave the directory exactly as it was: no new files, no temporary files,
the old outputs byte-identical.
"""

from __future__ import annotations

import hashlib
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from threatline.formats import yamlio

# Line numbers matter: the tests below point at them.
BASE = """\
version: 1
system:
  name: Shop
data:
  - id: card-data
    classification: restricted
    tags: [pci]
zones:
  - id: internet
    trust: untrusted
  - id: corp
    trust: internal
  - id: cde
    trust: restricted
    parent: corp
components:
  - id: browser
    type: browser
    zone: internet
  - id: payment-api
    type: service
    zone: cde
    stores: [card-data]
    controls: [input-validation]
  - id: payments-db
    type: database
    zone: cde
flows:
  - id: checkout
    from: browser
    to: payment-api
    protocol: https
    data: [card-data]
    controls: [rate-limiting]
  - id: store
    from: payment-api
    to: payments-db
    protocol: sql
baseline:
  - control: waf
    applies_to: {zone: corp}
  - control: encryption-at-rest
    applies_to: {component: payments-db}
  - control: tls
    applies_to: {flow: store}
  - control: audit-logging
    applies_to: {tag: pci}
"""

BASE_LINES = BASE.splitlines()


def flat(text: str) -> str:
    return " ".join(text.split())


def replace_line(lineno: int, old: str, new: str) -> str:
    """BASE with line `lineno` (1-based) changed from `old` to `new` (checked)."""
    lines = list(BASE_LINES)
    assert lines[lineno - 1] == old, f"line {lineno} of BASE is {lines[lineno - 1]!r}"
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


def insert_after(lineno: int, *new: str) -> str:
    lines = list(BASE_LINES)
    lines[lineno:lineno] = list(new)
    return "\n".join(lines) + "\n"


BILLION_LAUGHS = "version: 1\nsystem:\n  name: lol\n" + "".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}" if i else '"lol"'] * 9) + "]\n"
    for i in range(10)
)


@dataclass
class Case:
    name: str
    content: str | bytes | Callable[[Path], None] | None
    expect: list[str]
    line: int | None = None
    column: int | None = None
    key: str | None = None
    extra: dict = field(default_factory=dict)


def _dir_instead_of_file(path: Path) -> None:
    path.mkdir()


def _garbage() -> bytes:
    rng = random.Random(1234)
    data = bytearray(rng.randrange(256) for _ in range(4096))
    data[100] = 0
    return bytes(data)


def _dangling(name, lineno, old, new, missing, closest, what, key) -> Case:
    return Case(
        f"dangling-{name}",
        replace_line(lineno, old, new),
        [f"unknown {what} '{missing}'", f"did you mean '{closest}'?"],
        line=lineno,
        key=key,
    )


CASES = [
    Case("missing-file", None, ["file not found"]),
    Case("directory", _dir_instead_of_file, ["is a directory"]),
    Case(
        "yaml-syntax",
        replace_line(19, "    zone: internet", "    zone: internet: x"),
        ["mapping values are not allowed"],
        line=19,
        column=19,
    ),
    Case("empty-file", "", ["empty document"]),
    Case("only-comments", "# nothing here yet\n\n", ["empty document"]),
    Case("top-level-list", "- version: 1\n- system: x\n", ["expected a mapping at the top level"], line=1),
    Case(
        "wrong-version",
        replace_line(1, "version: 1", "version: 2"),
        ["unsupported format version 2", "reads 'version: 1'"],
        line=1,
        key="version",
    ),
    Case(
        "version-true",
        replace_line(1, "version: 1", "version: true"),
        ["unsupported format version True"],
        line=1,
        key="version",
    ),
    Case(
        "unknown-component-type",
        replace_line(26, "    type: database", "    type: databse"),
        [
            "unknown component type 'databse'",
            "did you mean 'database'?",
            "valid: actor, browser, mobile-app",
            "external-service, other",
        ],
        line=26,
        key="components[2].type",
    ),
    Case(
        "required-key-missing",
        replace_line(21, "    type: service", "    tech: python"),
        ["required key is missing", "add 'type:'"],
        line=20,
        key="components[1].type",
    ),
    Case(
        "wrong-value-type",
        replace_line(22, "    zone: cde", "    zone: [cde]"),
        ["input should be a valid string"],
        line=22,
        key="components[1].zone",
    ),
    _dangling("component-zone", 22, "    zone: cde", "    zone: cdx", "cdx", "cde", "zone", "components[1].zone"),
    _dangling("zone-parent", 15, "    parent: corp", "    parent: crop", "crop", "corp", "zone", "zones[2].parent"),
    _dangling(
        "stores", 23, "    stores: [card-data]", "    stores: [card-dat]", "card-dat", "card-data",
        "data asset", "components[1].stores[0]",
    ),
    _dangling("flow-from", 30, "    from: browser", "    from: browsr", "browsr", "browser", "component", "flows[0].from"),
    _dangling(
        "flow-to", 31, "    to: payment-api", "    to: payment-apl", "payment-apl", "payment-api", "component",
        "flows[0].to",
    ),
    _dangling(
        "flow-data", 33, "    data: [card-data]", "    data: [card-dta]", "card-dta", "card-data", "data asset",
        "flows[0].data[0]",
    ),
    _dangling(
        "component-controls", 24, "    controls: [input-validation]", "    controls: [input-validaton]",
        "input-validaton", "input-validation", "control", "components[1].controls[0]",
    ),
    _dangling(
        "flow-controls", 34, "    controls: [rate-limiting]", "    controls: [rate-limting]", "rate-limting",
        "rate-limiting", "control", "flows[0].controls[0]",
    ),
    _dangling(
        "baseline-control", 42, "  - control: encryption-at-rest", "  - control: encryption-at-rst",
        "encryption-at-rst", "encryption-at-rest", "control", "baseline[1].control",
    ),
    _dangling(
        "selector-zone", 41, "    applies_to: {zone: corp}", "    applies_to: {zone: crop}", "crop", "corp",
        "zone", "baseline[0].applies_to.zone",
    ),
    _dangling(
        "selector-component", 43, "    applies_to: {component: payments-db}",
        "    applies_to: {component: payments-bd}", "payments-bd", "payments-db", "component",
        "baseline[1].applies_to.component",
    ),
    _dangling(
        "selector-flow", 45, "    applies_to: {flow: store}", "    applies_to: {flow: stor}", "stor", "store",
        "flow", "baseline[2].applies_to.flow",
    ),
    _dangling(
        "selector-tag", 47, "    applies_to: {tag: pci}", "    applies_to: {tag: pcii}", "pcii", "pci",
        "data tag", "baseline[3].applies_to.tag",
    ),
    Case(
        # A zone and a component share the id 'browser'; the second one is the error.
        "duplicate-id-across-kinds",
        insert_after(14, "  - id: browser", "    trust: internal"),
        ["duplicate id 'browser'", "first defined at zones.3.id", "ids must be unique"],
        line=19,
        key="components[0].id",
    ),
    Case(
        "duplicate-id-data-and-flow",
        replace_line(35, "  - id: store", "  - id: card-data").replace("{flow: store}", "{flow: card-data}"),
        ["duplicate id 'card-data'", "first defined at data.0.id"],
        line=35,
        key="flows[1].id",
    ),
    Case(
        "duplicate-yaml-key",
        insert_after(18, "    type: service"),
        ["duplicate key 'type'"],
        line=19,
    ),
    Case(
        "zone-parent-cycle",
        insert_after(12, "    parent: cde"),
        ["zone parents form a cycle: corp -> cde -> corp"],
        line=13,
        key="zones[1].parent",
    ),
    Case(
        "flow-to-itself",
        replace_line(31, "    to: payment-api", "    to: browser"),
        ["flow 'checkout' goes from 'browser' to itself"],
        line=31,
        key="flows[0].to",
    ),
    Case("alias-bomb", BILLION_LAUGHS, ["YAML aliases expand to more than", "YAML bomb"]),
    Case(
        "deep-nesting",
        BASE.replace("  name: Shop\n", "  name: Shop\n  description: " + "[" * 300 + "]" * 300 + "\n"),
        ["YAML nests deeper than"],
    ),
    Case("binary-garbage", _garbage(), ["binary content"]),
    Case(
        "not-utf8",
        BASE.replace("  name: Shop", "  name: Caf\u00e9").encode("latin-1"),
        ["not UTF-8 text", "save the file as UTF-8"],
        line=3,
    ),
    Case(
        "python-tag",
        BASE.replace("system:\n  name: Shop\n", 'system: !!python/object/apply:os.system ["echo pwned > pwned.txt"]\n'),
        ["tag not allowed", "python/object/apply:os.system"],
        line=2,
    ),
    Case(
        "custom-tag",
        replace_line(19, "    zone: internet", "    zone: !Ref internet"),
        ["tag not allowed"],
        line=19,
    ),
    Case(
        "bad-tagged-scalar",
        replace_line(10, "    trust: untrusted", "    trust: !!bool maybe"),
        ["invalid bool 'maybe'"],
        line=10,
    ),
    Case(
        "several-documents",
        BASE + "---\nversion: 1\n",
        ["expected a single document in the stream, but found another document"],
        line=48,
    ),
    Case(
        "misspelt-components-key",
        replace_line(16, "components:", "compnents:"),
        [
            "unknown key 'compnents' is ignored",
            "did you mean 'components'?",
            "a system needs at least one component",
        ],
        line=16,
    ),
    Case(
        "duplicate-custom-control",
        BASE + "controls:\n  - id: our-gate\n  - id: our-gate\n",
        ["duplicate control id 'our-gate'"],
        line=50,
    ),
    Case(
        "over-size-limit",
        lambda p: p.write_bytes(b"# padding\n" * (5 * 1024 * 1024)),
        ["file is 50 MiB, over the 10 MiB limit"],
    ),
]

COMMANDS = {
    "validate": ["validate", "arch.yaml"],
    "draft": ["draft", "arch.yaml"],
    "draft-o": ["draft", "arch.yaml", "-o", "out"],
    "draft-json": ["draft", "arch.yaml", "--format", "json"],
}

OLD_YAML = b"# previous threat model, reviewed by hand\nthreats: [{id: T-keep}]\n"
OLD_MD = b"# Previous report\n"


def _write(case: Case, path: Path) -> None:
    if case.content is None:
        return
    if callable(case.content):
        case.content(path)
    elif isinstance(case.content, bytes):
        path.write_bytes(case.content)
    else:
        path.write_text(case.content, encoding="utf-8")


def snapshot(directory: Path) -> dict[str, str]:
    """Every file and directory under `directory`, with a digest of each file's bytes."""
    out = {}
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


def test_base_document_is_valid(tmp_path, monkeypatch, cli):
    """The cases below break BASE one line at a time, so BASE itself must pass."""
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(BASE)
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 0, result.output
    assert "ok: 3 components, 2 flows, 3 zones, 1 data assets, 4 baseline controls" in flat(result.output)
    assert "warning" not in result.output


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_with_a_located_message(case, command, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    _write(case, tmp_path / "arch.yaml")
    (tmp_path / "threatmodel.yaml").write_bytes(OLD_YAML)
    (tmp_path / "threatmodel.md").write_bytes(OLD_MD)
    before = snapshot(tmp_path)

    result = cli(*COMMANDS[command])

    out = flat(result.output)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "internal error" not in out
    assert result.stdout == "", "a refused input prints nothing on stdout"
    # The message names the file, then says what is wrong.
    assert re.search(r"(^| )arch\.yaml(:\d+)*: error: ", out), out
    for fragment in case.expect:
        assert fragment in out, f"{fragment!r} not in {out!r}"
    if case.line is not None:
        column = str(case.column) if case.column else r"\d+"
        where = rf"(^| )arch\.yaml:{case.line}(:{column})?: (error|warning): "
        assert re.search(where, out), f"expected a message located at line {case.line}: {out}"
    if case.key is not None:
        assert f"error: {case.key}: " in out, out
    assert "nothing was written" in out
    # Nothing written, nothing replaced, no temporary files left behind.
    assert snapshot(tmp_path) == before


def test_over_size_file_is_refused_by_size_without_parsing(tmp_path, monkeypatch, cli):
    """A 50 MB file is refused from its size alone: quickly, and never handed to the parser."""
    monkeypatch.chdir(tmp_path)
    big = tmp_path / "arch.yaml"
    with big.open("wb") as fh:
        chunk = b"- {id: x, name: padding padding padding padding padding}\n" * 16384
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(chunk)
    parsed: list[str] = []
    real_load_yaml = yamlio.load_yaml

    def spy(text: str, name: str):
        parsed.append(name)
        return real_load_yaml(text, name)

    monkeypatch.setattr(yamlio, "load_yaml", spy)
    real_read_bytes = Path.read_bytes

    def guarded_read_bytes(self: Path) -> bytes:
        assert self.name != "arch.yaml", "the over-size file was read"
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded_read_bytes)
    for args in (["validate", "arch.yaml"], ["draft", "arch.yaml"]):
        start = time.perf_counter()
        result = cli(*args)
        elapsed = time.perf_counter() - start
        assert result.exit_code == 2, result.output
        assert "over the 10 MiB limit" in flat(result.output)
        assert elapsed < 3, f"refusing a 50 MB file took {elapsed:.1f}s"
    assert not any(name.endswith("arch.yaml") for name in parsed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.yaml"]


def test_size_limit_can_be_raised_by_environment(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(BASE + "# padding padding padding padding padding\n" * 300_000)
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 2
    assert re.search(r"arch\.yaml: error: file is 12(\.\d)? MiB, over the 10 MiB limit", flat(result.output))
    monkeypatch.setenv("THREATLINE_MAX_BYTES", str(20 * 1024 * 1024))
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 0, result.output


def test_python_tag_is_never_executed(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    for payload in (
        '!!python/object/apply:os.system ["touch pwned"]',
        '!!python/object/new:os.system ["touch pwned"]',
        "!!python/name:os.system",
    ):
        Path("arch.yaml").write_text(f"version: 1\nsystem: {payload}\ncomponents: []\n")
        result = cli("draft", "arch.yaml")
        assert result.exit_code == 2
        assert "tag not allowed" in flat(result.output)
        assert not Path("pwned").exists()


# ---------------------------------------------------------------- warnings only


def test_unknown_key_is_a_warning_with_did_you_mean(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(insert_after(21, "    descripton: Takes payments"))
    result = cli("validate", "arch.yaml")
    out = flat(result.output)
    assert result.exit_code == 0, result.output
    assert "arch.yaml:22:5: warning: components[1].descripton: unknown key 'descripton' is ignored" in out
    assert "(did you mean 'description'?)" in out
    assert "(1 warning(s))" in out
    assert "error" not in out

    result = cli("draft", "arch.yaml", "-o", "out", "-q")
    assert result.exit_code == 0, result.output
    assert "unknown key 'descripton'" in flat(result.output)
    assert (tmp_path / "out" / "threatmodel.yaml").is_file()


def test_unknown_top_level_key_suggests_the_known_one(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(BASE + "basline:\n  - control: waf\n")
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 0, result.output
    assert "arch.yaml:48:1: warning: basline: unknown key 'basline' is ignored (did you mean 'baseline'?)" in flat(
        result.output
    )


# ---------------------------------------------------------------- located errors


def test_unknown_zone_on_line_14_is_reported_at_line_14(tmp_path, monkeypatch, cli):
    text = "\n".join(
        [
            "version: 1",  # 1
            "system: {name: Located}",  # 2
            "zones:",  # 3
            "  - id: dmz",  # 4
            "    trust: partner",  # 5
            "  - id: lan",  # 6
            "    trust: internal",  # 7
            "components:",  # 8
            "  - id: web",  # 9
            "    type: web-app",  # 10
            "    zone: dmz",  # 11
            "  - id: app",  # 12
            "    type: service",  # 13
            "    zone: lam",  # 14
        ]
    )
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(text + "\n")
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 2
    assert flat(result.output).startswith(
        "arch.yaml:14:5: error: components[1].zone: unknown zone 'lam' (did you mean 'lan'?)"
    ), result.output


def test_each_error_is_located_on_its_own_line(tmp_path, monkeypatch, cli):
    """Several problems at once: every one reported, each at its line."""
    text = BASE
    text = text.replace("    zone: internet\n", "    zone: internt\n")  # line 19
    text = text.replace("    to: payments-db\n", "    to: payment-db\n")  # line 37
    text = text.replace("{tag: pci}", "{tag: pcx}")  # line 47
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(text)
    result = cli("validate", "arch.yaml")
    out = flat(result.output)
    assert result.exit_code == 2
    assert "arch.yaml:19:5: error: components[0].zone: unknown zone 'internt' (did you mean 'internet'?)" in out
    assert "arch.yaml:37:5: error: flows[1].to: unknown component 'payment-db'" in out
    assert "arch.yaml:47:18: error: baseline[3].applies_to.tag: unknown data tag 'pcx'" in out
    assert "3 error(s); nothing was written." in out


def test_error_hint_lists_defined_ids_when_nothing_is_close(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(replace_line(22, "    zone: cde", "    zone: zzzzzz"))
    out = flat(cli("validate", "arch.yaml").output)
    assert "unknown zone 'zzzzzz' (defined zones: cde, corp, internet)" in out


def test_line_numbers_that_look_like_emoji_codes_are_printed_verbatim(tmp_path, monkeypatch, cli):
    """An error on line 100 must read 'arch.yaml:100:5:', not 'arch.yaml💯5:'."""
    text = insert_after(16, *["  # padding"] * 81).replace("    zone: internet\n", "    zone: internt\n")
    assert text.splitlines()[99] == "    zone: internt"
    monkeypatch.chdir(tmp_path)
    Path("arch.yaml").write_text(text)
    result = cli("validate", "arch.yaml")
    assert result.exit_code == 2
    assert "arch.yaml:100:5: error: components[0].zone: unknown zone 'internt'" in flat(result.output)


# ---------------------------------------------------------------- whole process


@pytest.mark.parametrize(
    "content",
    [
        "version: 1\nsystem: " + "[" * 200_000 + "]" * 200_000 + "\n",
        "version: 1\nsystem:\n" + "  " + "- " * 200_000 + "x\n",
        "version: 1\nsystem: &a " + "{k: " * 200_000 + "v" + "}" * 200_000 + "\n",
        "version: 1\nsystem: !!str x\nzones: " + "[" * 200_000 + "]" * 200_000 + "\n",
    ],
    ids=["flow", "block", "anchored-flow", "tagged"],
)
def test_deep_nesting_is_refused_by_a_real_process_not_a_crash(tmp_path, content):
    """Deep enough nesting overflowed the C stack of the YAML parsers (a segfault)."""
    (tmp_path / "arch.yaml").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "threatline.cli", "draft", str(tmp_path / "arch.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "nests deeper than" in flat(proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.yaml"]


def test_billion_laughs_is_refused_quickly_by_a_real_process(tmp_path):
    (tmp_path / "arch.yaml").write_text(BILLION_LAUGHS)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "threatline.cli", "validate", str(tmp_path / "arch.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.perf_counter() - start < 30
    assert proc.returncode == 2, proc.stderr
    assert "YAML bomb" in flat(proc.stderr)
    assert "Traceback" not in proc.stderr
