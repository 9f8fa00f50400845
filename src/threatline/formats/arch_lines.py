"""Where each element of an architecture file is: its line, and the line of an attribute.

One pass over the text finds every `id:` inside the data, zones, components, flows and
controls sections (block YAML, flow-style items and pretty-printed JSON alike), which
is fast on a 10,000-component file where composing the YAML node tree is not; anything
the scan cannot place falls back to the exact yamlio.Locator.
"""

from __future__ import annotations

import itertools
import re

from threatline.formats.yamlio import Locator

SECTIONS = {"data": "data", "zones": "zone", "components": "component", "flows": "flow",
            "controls": "control", "baseline": "baseline"}
_ITEM = re.compile(r"^(\s*)-\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_SECTION_TEXT = re.compile(r'^(?:|  )["\']?(data|zones|components|flows|controls|baseline|system|version)["\']?\s*:',
                           re.MULTILINE)
_ID_TEXT = re.compile(r'(?:^|[ \t{,-])["\']?id["\']?[ \t]*:[ \t]*["\']?([A-Za-z0-9][A-Za-z0-9_.:-]*)', re.MULTILINE)


class ElementLines:
    def __init__(self, text: str):
        self._text = text
        self._lines = text.splitlines()
        self._ids: dict[tuple[str, str], int] = {}  # (kind, id) -> 0-based line of its id
        self._sections: dict[str, int] = {}
        self._items: dict[str, list[int]] | None = None  # section kind -> 0-based first line of each item
        self._spans: list[tuple[int, int, str | None]] = []  # (first line, last line, kind) of each section
        self._locator: Locator | None = None
        self._scan()

    def _line(self, offset: int) -> int:
        return self._text.count("\n", 0, offset)

    def _scan(self) -> None:
        """Sections, then every `id:` inside data, zones, components, flows and controls (regexes over
        the whole text: fast on a 10,000-component file)."""
        heads = []
        for m in _SECTION_TEXT.finditer(self._text):
            line = self._lines[self._line(m.start())] if self._lines else ""
            if _indent(line) == 0 or line.lstrip().startswith(('"', "'")):
                heads.append((m.start(), SECTIONS.get(m.group(1))))
        bounds = [*heads, (len(self._text) + 1, None)]
        for (start, kind), (stop, _) in itertools.pairwise(bounds):
            first = self._line(start)
            if kind is not None:
                self._sections.setdefault(kind, first)
            self._spans.append((first, self._line(min(stop, len(self._text))), kind))
            if kind is None or kind == "baseline":
                continue
            line_no, pos = first, start
            for m in _ID_TEXT.finditer(self._text, start, stop):
                line_no += self._text.count("\n", pos, m.start())
                pos = m.start()
                self._ids.setdefault((kind, m.group(1)), line_no)

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
        n = self._ids.get((kind, ident))
        if n is not None:
            return n + 1
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
        key_indent = _indent(self._lines[first]) + (2 if self._lines[first].lstrip().startswith("- ") else 0)
        parts = attribute.split(".")
        wanted = {"from": ("from", "source"), "to": ("to", "target")}.get(parts[0], (parts[0],))
        for n in range(first, len(self._lines)):
            line = self._lines[n]
            if n > first and line.strip() and not line.lstrip().startswith("#"):
                indent = _indent(line)
                if indent < key_indent or (indent == key_indent - 2 and line.lstrip().startswith("- ")):
                    break
            for key in wanted:
                if re.search(rf'(?:^|[\s{{,-])["\']?{re.escape(key)}["\']?\s*:', line):
                    if len(parts) == 2:
                        sub = self._after(n, parts[1])
                        return sub if sub is not None else n + 1
                    return n + 1
        return start

    def _after(self, start: int, key: str) -> int | None:
        base = _indent(self._lines[start])
        for n in range(start, min(len(self._lines), start + 50)):
            line = self._lines[n]
            if n > start and line.strip() and _indent(line) <= base:
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
