"""formats.json_text.pretty_json writes what json.dumps(indent=2, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from threatline.formats.json_text import pretty_json

_scalars = (st.none() | st.booleans() | st.integers() | st.text()
            | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x == 0 or abs(x) >= 1e-4))
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@given(_documents)
def test_same_bytes_as_json_dumps(value):
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_reads_back_as_itself(x):
    back = json.loads(pretty_json({"x": x}))["x"]
    assert back == x and math.copysign(1, back) == math.copysign(1, x)


def test_text_that_is_not_unicode_falls_back_to_json_dumps():
    value = {"name": "half \ud83d of a pair", "ok": ["ü", "\x01"]}
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
