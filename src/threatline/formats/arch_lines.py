"""Where each element of an architecture file is: its line, and the line of an attribute.

One pass over the text finds every `id:` inside the data, zones, components, flows and
controls sections (block YAML, flow-style items and pretty-printed JSON alike), which
is fast on a 10,000-component file where composing the YAML node tree is not; anything
the scan cannot place falls back to the exact yamlio.Locator.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from threatline.formats.yamlio import Locator

SECTIONS = {"data": "data", "zones": "zone", "components": "component", "flows": "flow",
            "controls": "control", "baseline": "baseline"}
_ITEM = re.compile(r"^(\s*)-\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_SECTION_KEY = r'(?:  )?["\']?(data|zones|components|flows|controls|baseline|system|version)["\']?\s*:'
# A section key at the start of the text, or after a line break: searched from the literal
# line break (which the regular expression engine finds fast), not tried at every offset.
_SECTION_FIRST = re.compile(_SECTION_KEY)
_SECTION_NEXT = re.compile("\n" + _SECTION_KEY)
# `id: VALUE` at the start of a line or after one of ' \t{,-', the key and value optionally
# quoted. Searched from the literal 'id' (which the regular expression engine finds fast),
# the character before it checked apart: the same matches as
#   (?:^|[ \t{,-])["']?id["']?[ \t]*:[ \t]*["']?(SLUG)
# scanned from left to right, about ten times faster on a large file.
_ID_KEY = re.compile(r'id["\']?[ \t]*:[ \t]*["\']?([A-Za-z0-9][A-Za-z0-9_.:-]*)')
_BOUNDARY = frozenset(" \t{,-")
_QUOTES = frozenset("\"'")


class ElementLines:
    def __init__(self, text: str):
        self._text = text
        self._lines_cache: list[str] | None = None
        # kind -> id -> (0-based line, offset) of its first `id:` key
        self._offsets: dict[str, dict[str, tuple[int, int]]] = {}
        self._sections: dict[str, int] = {}
        self._items: dict[str, list[int]] | None = None  # section kind -> 0-based first line of each item
        self._spans: list[tuple[int, int, str | None]] = []  # (first line, last line, kind) of each section
        self._locator: Locator | None = None
        self._scan()

    @property
    def _lines(self) -> list[str]:
        """Every line (split where the line numbers count: at line feeds); only baseline
        entries, found by their position in the list, need them all."""
        if self._lines_cache is None:
            self._lines_cache = self._text.split("\n")
        return self._lines_cache

    def _lines_from(self, line: int, offset: int | None) -> Iterator[tuple[int, str]]:
        """(0-based number, text) of the lines from `line` on; read from the text at
        `offset` (the start of that line) when known, without splitting the whole file."""
        if offset is None:
            yield from enumerate(self._lines[line:], start=line)
            return
        text = self._text
        while offset <= len(text):
            end = text.find("\n", offset)
            if end < 0:
                end = len(text)
            yield line, text[offset:end]
            line, offset = line + 1, end + 1

    def _scan(self) -> None:
        """Sections, then every `id:` inside data, zones, components, flows and controls (regexes over
        the whole text: fast on a 10,000-component file)."""
        text = self._text
        # Line numbers are counted as the scan moves forward: (offset, its 0-based line).
        counted = [0, 0]

        def line_of(offset: int) -> int:
            counted[1] += text.count("\n", counted[0], offset)
            counted[0] = offset
            return counted[1]

        heads = []
        first_line = _SECTION_FIRST.match(text)
        keys = [(0, first_line.group(1))] if first_line else []
        keys += [(m.start() + 1, m.group(1)) for m in _SECTION_NEXT.finditer(text)]
        for at, name in keys:
            begin = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            line = text[begin:end if end >= 0 else len(text)]
            if _indent(line) == 0 or line.lstrip().startswith(('"', "'")):
                heads.append((at, SECTIONS.get(name)))
        bounds = [*heads, (len(text) + 1, None)]
        for (start, kind), (stop, _) in itertools.pairwise(bounds):
            first = line_of(start)
            if kind is not None:
                self._sections.setdefault(kind, first)
            last = text.count("\n", start, min(stop, len(text))) + first
            self._spans.append((first, last, kind))
            if kind is None or kind == "baseline":
                continue
            found = self._offsets.setdefault(kind, {})
            end = min(stop, len(text))
            taken = start  # where the last match ended: its characters cannot start another one
            matches = _ID_KEY.finditer(text, start, end)
            while (m := next(matches, None)) is not None:
                at = m.start()
                before = at - 1
                if before >= start and text[before] in _QUOTES:
                    before -= 1
                # At the start of a line (the text's start or a line break before it), or after a
                # boundary character that the previous match did not end with.
                if before < 0 or text[before] == "\n" or (text[before] in _BOUNDARY and before >= taken):
                    if m.group(1) not in found:
                        found[m.group(1)] = (line_of(at), at)
                    taken = m.end()
                elif text.find("id", at + 1, m.end() + 1) != -1:
                    # A rejected match ('valid: x') may hide the start of another one inside
                    # it: search again from the next character (finditer goes on from its end).
                    matches = _ID_KEY.finditer(text, at + 1, end)

    def _item_lines(self, kind: str) -> list[int]:
        if self._items is None:
            self._items = {}
            for first, last, k in self._spans:
                if k is None:
                    continue
                item_indent: int | None = None
                for n in range(first + 1, min(last + 1, len(self._lines))):
                    item = _ITEM.match(self._lines[n])
                    if item is None:
                        continue
                    indent = len(item.group(1))
                    if item_indent is None:
                        item_indent = indent
                    if indent == item_indent:
                        self._items.setdefault(k, []).append(n)
        return self._items.get(kind, [])

    # ------------------------------------------------------------ lookups (1-based lines)
    def section(self, kind: str) -> int | None:
        n = self._sections.get(kind)
        return n + 1 if n is not None else None

    def element(self, kind: str, ident: str, index: int | None = None) -> int | None:
        """The line of an element's id (or, for baseline entries, of its list item)."""
        where = self._offsets.get(kind, {}).get(ident)
        if where is not None:
            return where[0] + 1
        if index is not None:
            items = self._item_lines(kind)
            if 0 <= index < len(items):
                return items[index] + 1
            return self._locate((_section_name(kind), index))
        return None

    def attribute(self, kind: str, ident: str, attribute: str, index: int | None = None) -> int | None:
        """The line of one attribute of an element (its first line when not written out)."""
        start = self.element(kind, ident, index)
        if start is None:
            return None
        first = start - 1
        where = self._offsets.get(kind, {}).get(ident)
        lines = self._lines_from(first, self._text.rfind("\n", 0, where[1]) + 1 if where else None)
        key_indent: int | None = None
        parts = attribute.split(".")
        wanted = {"from": ("from", "source"), "to": ("to", "target")}.get(parts[0], (parts[0],))
        for n, line in lines:
            if key_indent is None:
                key_indent = _indent(line) + (2 if line.lstrip().startswith("- ") else 0)
            elif line.strip() and not line.lstrip().startswith("#"):
                indent = _indent(line)
                if indent < key_indent or (indent == key_indent - 2 and line.lstrip().startswith("- ")):
                    break
            for key in wanted:
                if re.search(rf'(?:^|[\s{{,-])["\']?{re.escape(key)}["\']?\s*:', line):
                    if len(parts) == 2:
                        sub = self._after(lines, n, line, parts[1])
                        return sub if sub is not None else n + 1
                    return n + 1
        return start

    @staticmethod
    def _after(lines: Iterator[tuple[int, str]], start: int, first: str, key: str) -> int | None:
        """The line of `key` nested under the line `first` (number `start`), within the next
        50 lines, read on from `lines`."""
        base = _indent(first)
        for n, line in itertools.chain([(start, first)], lines):
            if n >= start + 50 or (n > start and line.strip() and _indent(line) <= base):
                break
            if re.search(rf'(?:^|[\s{{,])["\']?{re.escape(key)}["\']?\s*:', line):
                return n + 1
        return None

    def _locate(self, path: tuple[str | int, ...]) -> int | None:
        if self._locator is None:
            self._locator = Locator(self._text)
        line, _ = self._locator.locate(path)
        return line


def _section_name(kind: str) -> str:
    return next(name for name, k in SECTIONS.items() if k == kind)
