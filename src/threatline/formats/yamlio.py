"""Safe YAML reading and atomic file writing, used by every adapter.

Reading refuses what could hurt the process: files over a size limit, binary
content, tags that construct objects (a safe loader only), and anchors/aliases
that expand beyond a sane number of nodes (the "billion laughs" bomb).
Positions for error messages come from the composed node tree, which is only
built when something needs locating.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from threatline.model.diagnostics import Diagnostic, InputError

MAX_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000


def _yaml_safe() -> YAML:
    y = YAML(typ="safe")
    y.allow_duplicate_keys = False
    return y


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, or an InputError that says plainly why not."""
    name = str(path)
    if not path.exists():
        raise InputError([Diagnostic(file=name, message="file not found", hint="check the path")])
    if path.is_dir():
        raise InputError([Diagnostic(file=name, message="is a directory, not a file")])
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            [
                Diagnostic(
                    file=name,
                    message=f"file is {size / 1048576:.1f} MiB, over the {max_bytes / 1048576:.0f} MiB limit",
                    hint="split the architecture or raise the limit with THREATLINE_MAX_BYTES",
                )
            ]
        )
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise InputError([Diagnostic(file=name, message="binary content, not a YAML text file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            [
                Diagnostic(
                    file=name,
                    line=line,
                    message="not UTF-8 text",
                    hint="save the file as UTF-8",
                )
            ]
        ) from None


def max_bytes_from_env() -> int:
    value = os.environ.get("THREATLINE_MAX_BYTES", "")
    return int(value) if value.isdigit() else MAX_BYTES


def _yaml_error(name: str, exc: YAMLError) -> InputError:
    line = col = None
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, col = mark.line + 1, mark.column + 1
    if isinstance(exc, MarkedYAMLError):
        problem = exc.problem or exc.context or "invalid YAML"
    else:
        problem = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
    if "duplicate key" in str(exc):
        found = re.search(r'duplicate key "([^"]*)"', str(exc))
        problem = f"duplicate key '{found.group(1)}'" if found else "duplicate key"
        hint = "each key may appear once in a mapping"
    elif "could not determine a constructor" in str(exc):
        problem = "tag not allowed: " + problem
        hint = "only plain YAML is accepted (no !!python or custom tags)"
    else:
        hint = "fix the YAML syntax"
    return InputError([Diagnostic(file=name, line=line, column=col, message=problem.strip(), hint=hint)])


def _expanded_size(root: Node, limit: int) -> int:
    """Node count with aliases expanded; memoised so a bomb costs nothing to measure."""
    memo: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in memo:
            continue
        if isinstance(node, ScalarNode):
            memo[key] = 1
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        if done:
            total = 1 + sum(memo[id(c)] for c in children)
            memo[key] = min(total, limit + 1)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(root)]


class Locator:
    """Maps a key path (('flows', 3, 'to')) to a 1-based line and column."""

    def __init__(self, text: str):
        self._text = text
        self._root: Node | None = None

    def _tree(self) -> Node | None:
        if self._root is None:
            try:
                self._root = _yaml_safe().compose(self._text)
            except YAMLError:
                return None
        return self._root

    def locate(self, path: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        node = self._tree()
        if node is None:
            return None, None
        best: Node = node
        for part in path:
            nxt: Node | None = None
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    if isinstance(k, ScalarNode) and k.value == str(part):
                        best = k
                        nxt = v
                        break
            elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
                nxt = node.value[part]
                best = nxt
            if nxt is None:
                break
            node = nxt
        mark = best.start_mark
        return mark.line + 1, mark.column + 1


# Constructs only the fast parser cannot judge the way the safe loader does:
# explicit tags, several documents in one stream, and anchors (for the bomb check).
_NEEDS_SAFE_LOADER = re.compile(r"(^|[\s\[{,:-])!|^---.*\n(?:.*\n)*?^---|&", re.MULTILINE)


def load_yaml(text: str, name: str) -> tuple[Any, Locator]:
    """Parse YAML text safely; returns plain data and a lazy locator.

    Plain documents go through yaml-rs (a Rust parser, ~20x faster than the
    pure-Python path, with duplicate-key errors); anything with tags, several
    documents or anchors goes through ruamel.yaml's safe loader, which refuses
    object-constructing tags and lets us measure alias expansion first.
    """
    locator = Locator(text)
    if not _NEEDS_SAFE_LOADER.search(text):
        try:
            return yaml_rs.loads(
                text,
                parse_datetime=False,
                duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
            ), locator
        except (yaml_rs.YAMLDecodeError, ValueError, RecursionError):
            pass  # fall through: the safe loader gives the located error message
    try:
        if "&" in text:
            # Anchors can only exist where '&' appears; only then pay for the bomb check.
            root = locator._tree()
            if root is None:
                _yaml_safe().load(text)  # re-raise the syntax error with its mark
            elif _expanded_size(root, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
                raise InputError(
                    [
                        Diagnostic(
                            file=name,
                            message=f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (a YAML bomb?)",
                            hint="write the document without deeply nested anchors and aliases",
                        )
                    ]
                )
        data = _yaml_safe().load(text)
    except YAMLError as exc:
        raise _yaml_error(name, exc) from None
    except RecursionError:
        raise InputError([Diagnostic(file=name, message="YAML nests too deeply")]) from None
    return data, locator


def load_yaml_file(path: Path, max_bytes: int | None = None) -> tuple[Any, Locator]:
    text = read_text(path, max_bytes if max_bytes is not None else max_bytes_from_env())
    return load_yaml(text, str(path))


def dump_yaml(data: Any) -> str:
    y = YAML(typ="rt")
    y.default_flow_style = False
    y.width = 100
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(str, _represent_str)
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def _represent_str(representer: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

