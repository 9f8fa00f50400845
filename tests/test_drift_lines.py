"""formats.arch_lines finds each element's `id:` line with a fast scan; it must find exactly
what the plain regular expression, scanned from left to right, finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from threatline.formats.arch_lines import ElementLines

_REFERENCE = re.compile(r'(?:^|[ \t{,-])["\']?id["\']?[ \t]*:[ \t]*["\']?([A-Za-z0-9][A-Za-z0-9_.:-]*)', re.MULTILINE)
PIECES = ["id", "id:", " ", "\n", "-", "'", '"', "{", ",", ":", "a", "x-id", "  id: ", "b1", "\t", "components:\n",
          "flows:\n", "zones:\n", "- id: c1\n", "  - {id: f1, from: c1}\n"]


def _reference(lines: ElementLines, text: str) -> dict[tuple[str, str], int]:
    """(kind, id) -> 1-based line of the first match inside each section (from the line the
    section starts on: the key never starts a section line)."""
    found: dict[tuple[str, str], int] = {}
    for first, last, kind in lines._spans:
        if kind is None or kind == "baseline":
            continue
        start = sum(len(line) + 1 for line in text.split("\n")[:first])
        stop = sum(len(line) + 1 for line in text.split("\n")[: last + 1])
        for m in _REFERENCE.finditer(text, start, min(stop, len(text))):
            found.setdefault((kind, m.group(1)), text.count("\n", 0, m.start(1)) + 1)
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_fast_id_scan_finds_what_the_regular_expression_finds(pieces):
    text = "".join(pieces)
    lines = ElementLines(text)
    fast = {(kind, ident): lines.element(kind, ident) for kind, ids in lines._offsets.items() for ident in ids}
    assert fast == _reference(lines, text)


def test_every_element_of_the_example_is_found():
    text = "version: 1\ncomponents:\n  - id: web\n    type: web-app\n  - {id: db, type: database}\nflows:\n  - id: web-db\n"
    lines = ElementLines(text)
    assert [lines.element("component", "web"), lines.element("component", "db"), lines.element("flow", "web-db")] == [3, 5, 7]


def test_a_rejected_key_does_not_hide_a_key_inside_its_value():
    # 'aid' is not an id key, but the value it would have taken holds '-id: c1', which is.
    text = "components:\n  - aid: b-id: c1\n"
    lines = ElementLines(text)
    assert lines.element("component", "c1") == 2
    assert _reference(lines, text) == {("component", "c1"): 2}
