"""Safe YAML reading and atomic file writing, used by every adapter.

Reading refuses what could hurt the process: files over a size limit, binary
content, tags that construct objects (a safe loader only), and anchors/aliases
that expand beyond a sane number of nodes (the "billion laughs" bomb).
Positions for error messages come from the composed node tree, which is only
built when something needs locating.
"""

from __future__ import annotations

import gc
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from threatline.model.diagnostics import Diagnostic, InputError

MAX_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
# Collections nested deeper than this are refused before anything recursive (the
# C composer would overflow the stack and crash the process on ~100k levels).
MAX_DEPTH = 200


class _SafeConstructor(SafeConstructor):
    """The safe constructor, with dates and times left as text.

    yaml-rs (the fast path) reads '2024-01-01' as a string, so the safe loader must
    too, or a document would change meaning when an anchor or a tag sends it down
    the other path. (YAML 1.2's core schema has no timestamps either.)
    """


_SafeConstructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _yaml_safe() -> YAML:
    y = YAML(typ="safe")
    y.Constructor = _SafeConstructor
    y.allow_duplicate_keys = False
    return y


def _human_size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def check_file(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """The file's size, or an InputError if it is missing, a directory or too large."""
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
                    message=f"file is {_human_size(size)}, over the {_human_size(max_bytes)} limit",
                    hint="split the architecture or raise the limit with THREATLINE_MAX_BYTES",
                )
            ]
        )
    return size


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, or an InputError that says plainly why not."""
    name = str(path)
    check_file(path, max_bytes)
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
        if problem.startswith("but ") and exc.context:
            # "but found another document" reads only after its context.
            problem = f"{exc.context}, {problem}"
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


def _nesting_depth(text: str, limit: int) -> int:
    """How deep collections nest (stops counting past limit), from the flat event stream.

    The event stream is produced without recursion, so this is safe on input that
    would overflow the stack of a recursive composer.
    """
    depth = deepest = 0
    for event in _yaml_safe().parse(text):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                break
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return deepest


def _data_depth(data: Any, limit: int) -> int:
    """How deep lists and dicts nest in loaded data (stops counting past limit).

    Recursion is bounded by `limit` (far below the interpreter's limit), and scalars,
    nearly everything in a document, are skipped without being stacked.
    """

    def depth(obj: Any, level: int) -> int:
        if level > limit:
            return level
        deepest = level
        for child in obj.values() if type(obj) is dict else obj:
            if type(child) is dict or type(child) is list:
                found = depth(child, level + 1)
                if found > deepest:
                    deepest = found
                    if deepest > limit:
                        break
        return deepest

    return depth(data, 1) if type(data) is dict or type(data) is list else 0


# Nesting bounds read off the text without parsing. A block collection starts at
# a column no further right than the run of spaces and indicators that opens its
# line, and columns grow at least every second level, so block nesting is below
# 2 * _PREFIX when no line opens with _PREFIX such characters; every level of flow
# nesting needs a '[' or '{'. Documents within both bounds cannot nest past
# MAX_DEPTH and skip the measurement.
_PREFIX = MAX_DEPTH // 4
# Searched from each newline (a literal, which the regex engine finds fast; '^' with
# MULTILINE tries every position and is five times slower on a large file).
_DEEP_START = re.compile(rf"[ \t?:-]{{{_PREFIX}}}")
_DEEP_LINE = re.compile(rf"\n[ \t?:-]{{{_PREFIX}}}")


def _has_deep_line(text: str) -> bool:
    return _DEEP_START.match(text) is not None or _DEEP_LINE.search(text) is not None


def _too_deep(name: str) -> InputError:
    return InputError([Diagnostic(
        file=name,
        message=f"YAML nests deeper than {MAX_DEPTH} levels",
        hint="an architecture needs only a few levels of nesting",
    )])


def _iter_nodes(root: Node) -> Any:
    """Every node once, in document order, without recursion."""
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.extend((v, k))


def _bad_value_error(name: str, locator: Locator, exc: Exception) -> InputError:
    """A scalar the safe constructor choked on (e.g. 2024-02-30, !!int abc), located."""
    root = locator._tree()
    if root is not None:
        constructor = _yaml_safe().constructor
        for node in _iter_nodes(root):
            if not isinstance(node, ScalarNode):
                continue
            try:
                constructor.construct_object(node, deep=True)
            except Exception as bad:
                tag = node.tag.rsplit(":", 1)[-1] if node.tag else "value"
                reason = str(bad) if not isinstance(bad, (KeyError, IndexError)) or str(bad) else ""
                return InputError([Diagnostic(
                    file=name, line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                    message=f"invalid {tag} {node.value!r}" + (f": {reason}" if reason else ""),
                    hint="quote it to keep it as text, or fix the value",
                )])
    return InputError([Diagnostic(file=name, message=f"invalid value: {exc}", hint="fix the value")])


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
# explicit tags, several documents in one stream, anchors (for the bomb check),
# merge keys, and numbers-with-underscores that yaml-rs reads differently.
_TAG = re.compile(r"(^|[\s\[{,:-])!", re.MULTILINE)
_SEVERAL_DOCUMENTS = re.compile(r"^---.*\n(?:.*\n)*?^---", re.MULTILINE)


# yaml-rs reads some plain scalars with underscores as numbers ('_1', '1e1_0', '0e0_',
# '0_e0_') where YAML 1.2 (and ruamel) reads text. Searched from each '_' (a literal, so the
# scan is fast): the number-like token around it is handed to yaml-rs alone, and a document
# with one it does not read as text goes to the safe loader.
_UNDERSCORE = re.compile(r"_")
_NUMBER_CHARS = frozenset("0123456789_.eE+-")
_TOKEN_BEFORE = frozenset(" \t\n\r[{,:?")
_TOKEN_AFTER = frozenset(" \t\n\r,]}#:")  # ":" after a mapping key such as 0e0_


def _underscore_number(text: str) -> bool:
    checked = -1
    for m in _UNDERSCORE.finditer(text):
        if m.start() <= checked:
            continue
        lo = m.start()
        while lo > 0 and text[lo - 1] in _NUMBER_CHARS:
            lo -= 1
        hi = m.end()
        while hi < len(text) and text[hi] in _NUMBER_CHARS:
            hi += 1
        checked = hi
        if (lo > 0 and text[lo - 1] not in _TOKEN_BEFORE) or (hi < len(text) and text[hi] not in _TOKEN_AFTER):
            continue  # part of a longer word ('payment_api', 'v1_2x')
        token = text[lo:hi]
        if not any(c.isdigit() for c in token):
            continue
        try:
            value = yaml_rs.loads("k: " + token, parse_datetime=False)["k"]
        except (ValueError, TypeError, KeyError):
            return True
        if not isinstance(value, str):
            return True
    return False


# An anchor starts a node ("key: &a", "- &a", "[&a"); "R&D" or "A & B" in prose is not one.
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s&,\]}]", re.MULTILINE)
_MERGE_KEY = re.compile(r"(?:^|[\s{,])<<\s*:", re.MULTILINE)


def _needs_safe_loader(text: str) -> bool:
    """Tags, several documents, anchors or merge keys ('<<'); plain substring tests first."""
    if "&" in text and _ANCHOR.search(text):
        return True
    # One-character tests first: they are a memchr, twenty times faster than "<<" on a large file.
    if "<" in text and "<<" in text and _MERGE_KEY.search(text):
        return True
    if "!" in text and _TAG.search(text):
        return True
    if "_" in text and _underscore_number(text):
        return True
    return "---" in text and _SEVERAL_DOCUMENTS.search(text) is not None


# yaml-rs returns several documents as a list; the safe loader refuses them.
_DOCUMENT_MARKER = re.compile(r"^(---|\.\.\.)", re.MULTILINE)


def load_yaml(text: str, name: str) -> tuple[Any, Locator]:
    """Parse YAML text safely; returns plain data and a lazy locator.

    Plain documents go through yaml-rs (a Rust parser, ~20x faster than the
    pure-Python path, with duplicate-key errors); anything with tags, several
    documents or anchors goes through ruamel.yaml's safe loader, which refuses
    object-constructing tags and lets us measure alias expansion first.
    Both parsers recurse natively, so nesting is bounded before either runs
    (deep enough nesting would crash the process, not raise).
    """
    locator = Locator(text)
    deep_lines = _has_deep_line(text)
    many_flows = text.count("[") + text.count("{") > MAX_DEPTH // 2
    measured = False
    try:
        if deep_lines:
            # Pathological indentation or runs of '- - - -': measure before any parser.
            if _nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
                raise _too_deep(name)
            measured = True
        if not _needs_safe_loader(text):
            try:
                data = yaml_rs.loads(
                    text,
                    parse_datetime=False,
                    duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
                )
            except (KeyboardInterrupt, SystemExit, MemoryError):
                raise
            except BaseException:
                pass  # fall through: the safe loader gives the located error message
            else:
                several_documents = isinstance(data, list) and _DOCUMENT_MARKER.search(text)
                if not several_documents:
                    # yaml-rs refuses flow nesting past 256 itself; block nesting is
                    # bounded above, so the loaded data is safe to measure.
                    if many_flows and not measured and _data_depth(data, MAX_DEPTH) > MAX_DEPTH:
                        raise _too_deep(name)
                    return data, locator
        if many_flows and not measured and _nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
            raise _too_deep(name)
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
    except UnicodeError:
        # Only reachable from text that did not come from a file (surrogates).
        raise InputError([Diagnostic(file=name, message="text is not valid Unicode")]) from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # The safe constructor's own conversions (dates, !!int, !!bool) fail with
        # plain Python errors, not YAMLError.
        raise _bad_value_error(name, locator, exc) from None
    return data, locator


def load_yaml_file(path: Path, max_bytes: int | None = None) -> tuple[Any, Locator]:
    text = read_text(path, max_bytes if max_bytes is not None else max_bytes_from_env())
    return load_yaml(text, str(path))


def dump_yaml(data: Any) -> str:
    """Block-style YAML that reads back to exactly `data`.

    yaml-rs writes it fast; its output is read back and, in the rare case a value
    would not survive (a string it leaves unquoted that a reader takes for a
    number), the document is written by ruamel.yaml instead.
    """
    text = yaml_rs.dumps(data)
    try:
        if not _needs_safe_loader(text) and yaml_rs.loads(text, parse_datetime=False) == data:
            return text.removeprefix("---\n")
    except (ValueError, RecursionError):
        pass
    return _dump_yaml_ruamel(data)


def _dump_yaml_ruamel(data: Any) -> str:
    y = YAML(typ="rt")
    y.default_flow_style = False
    y.width = 100
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(str, _represent_str)
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


# Characters only the double-quoted style carries through a load: non-printable
# ones (control characters, which a reader refuses unescaped), and the ones a reader
# folds into line breaks ('\r', NEL, the Unicode separators) or drops (a BOM).
_NEEDS_ESCAPING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _represent_str(representer: Any, value: str) -> Any:
    if _NEEDS_ESCAPING.search(value):
        style: str | None = '"'
    elif "\n" in value and "\t" not in value and not value[:1].isspace():
        style = "|"
    else:
        style = None
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@contextmanager
def gc_paused(keep_built: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large tree of objects.

    Every container object created counts towards a collection, and each full
    collection walks everything built so far: loading a 10,000-component threat model
    (millions of objects, none of them garbage) spent three quarters of its time
    there. Reference counting still frees temporaries; the collector resumes after.

    keep_built: what was built lives as long as the command (a loaded model), so move
    it out of the collector's sight (gc.freeze) when the block succeeds: otherwise the
    first collections after the pause walk all of it, and every later full collection
    walks it again (the mitigation planner on a 10,000-component model ran twice as
    long). Frozen objects are still freed by reference counting when dropped; only
    reference cycles among them would stay, and a model has none.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if keep_built:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def atomic_write(path: Path, text: str | bytes | list[bytes]) -> None:
    """Write via a temporary file in the same directory, then rename over the target.

    Bytes are written as they are (callers that also hash the content encode once); a
    list of byte strings is written piece by piece (a large document never joined)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; keep the mode of the file we replace, or the usual default.
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        pieces = [text.encode("utf-8")] if isinstance(text, str) else text if isinstance(text, list) else [text]
        with os.fdopen(fd, "wb") as fh:
            for piece in pieces:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

