"""Property-based tests of the architecture loader.

- generated valid architectures always validate, and survive a trip through YAML
  text (dumped with ruamel, loaded back with load_architecture_text) unchanged;
- breaking one MUST rule (a dangling reference, a duplicate id, a parent cycle, a
  flow to itself) always gives an InputError that says so, never another exception;
- any mutation of a document, and any text or bytes at all, either loads or raises
  InputError: never another exception.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from threatline.formats.architecture_yaml import (
    load_architecture,
    load_architecture_text,
    parse_architecture,
)
from threatline.formats.yamlio import Locator, dump_yaml, load_yaml, load_yaml_file
from threatline.model.architecture import (
    Architecture,
    Authentication,
    Classification,
    ComponentType,
    Protocol,
    StrideCategory,
    Trust,
    check_references,
)
from threatline.model.diagnostics import InputError

KNOWN_CONTROLS = {"tls", "mtls", "waf", "rate-limiting", "audit-logging", "input-validation"}
TAGS = ["pci", "pii", "phi", "credentials", "secret", "financial", "team-x"]

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Ids: valid slugs, including the rarer characters the pattern allows.
slugs = st.tuples(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:", max_size=6),
).map("".join)
# Display text: any Unicode (the loader must round-trip whatever a user types).
texts = st.text(max_size=24)
values = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12))

# Strategies are built once: building them inside the composite dominated the run time.
BOOLS = st.booleans()
CLASSIFICATIONS = st.sampled_from([c.value for c in Classification])
TRUSTS = st.sampled_from([t.value for t in Trust])
TYPES = st.sampled_from([t.value for t in ComponentType])
PROTOCOLS = st.sampled_from([p.value for p in Protocol])
AUTHS = st.sampled_from([a.value for a in Authentication])
CONTROL_LISTS = st.lists(st.sampled_from(sorted(KNOWN_CONTROLS)), max_size=2, unique=True)
TAG_LISTS = st.lists(st.sampled_from(TAGS), max_size=3, unique=True)
PROPERTIES = st.dictionaries(slugs, values, max_size=3)
MITIGATES = st.lists(st.sampled_from([c.value for c in StrideCategory]), max_size=3, unique=True)
NAMES = st.text(min_size=1, max_size=24)


@functools.cache
def _index(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


@functools.cache
def _mask(n: int) -> st.SearchStrategy[list[bool]]:
    return st.lists(BOOLS, min_size=n, max_size=n)


@functools.cache
def _unique_ids(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(slugs, min_size=n, max_size=n, unique=True)


def _pick(draw, pool: list[str]) -> str:
    return pool[draw(_index(len(pool)))]


def _subset(draw, pool: list[str], max_size: int = 3) -> list[str]:
    return [p for p, keep in zip(pool, draw(_mask(len(pool))), strict=True) if keep][:max_size]


def _maybe(draw, doc: dict, key: str, strategy) -> None:
    """Optional keys are sometimes left out, so defaults get exercised too."""
    if draw(BOOLS):
        doc[key] = draw(strategy)


@st.composite
def architectures(draw) -> dict[str, Any]:
    """A valid architecture document as plain data (what a YAML loader returns)."""
    n_data = draw(_index(4))
    n_zones = 1 + draw(_index(3))
    n_comps = 1 + draw(_index(4))
    n_flows = draw(_index(5)) if n_comps >= 2 else 0
    ids = draw(_unique_ids(n_data + n_zones + n_comps + n_flows))
    data_ids = ids[:n_data]
    zone_ids = ids[n_data:n_data + n_zones]
    comp_ids = ids[n_data + n_zones:n_data + n_zones + n_comps]
    flow_ids = ids[n_data + n_zones + n_comps:]

    doc: dict[str, Any] = {"version": 1, "system": {"name": draw(NAMES)}}
    _maybe(draw, doc["system"], "description", texts)
    _maybe(draw, doc["system"], "owner", texts)

    data = []
    for d in data_ids:
        item = {"id": d, "classification": draw(CLASSIFICATIONS)}
        _maybe(draw, item, "name", texts)
        _maybe(draw, item, "tags", TAG_LISTS)
        data.append(item)
    if data or draw(BOOLS):
        doc["data"] = data
    tags = sorted({t for d in data for t in d.get("tags", [])})

    zones = []
    for i, z in enumerate(zone_ids):
        item = {"id": z, "trust": draw(TRUSTS)}
        _maybe(draw, item, "name", texts)
        if i and draw(BOOLS):
            item["parent"] = _pick(draw, zone_ids[:i])  # earlier zones only: no cycle
        zones.append(item)
    doc["zones"] = zones

    comps = []
    for c in comp_ids:
        item = {"id": c, "type": draw(TYPES), "zone": _pick(draw, zone_ids)}
        _maybe(draw, item, "name", texts)
        _maybe(draw, item, "tech", texts)
        _maybe(draw, item, "description", texts)
        if data_ids and draw(BOOLS):
            item["stores"] = _subset(draw, data_ids)
        _maybe(draw, item, "controls", CONTROL_LISTS)
        _maybe(draw, item, "properties", PROPERTIES)
        comps.append(item)
    doc["components"] = comps

    flows = []
    for f in flow_ids:
        source = _pick(draw, comp_ids)
        target = _pick(draw, [c for c in comp_ids if c != source])
        item = {"id": f, "from": source, "to": target}
        _maybe(draw, item, "name", texts)
        _maybe(draw, item, "protocol", PROTOCOLS)
        _maybe(draw, item, "authentication", AUTHS)
        _maybe(draw, item, "encrypted", BOOLS)
        _maybe(draw, item, "bidirectional", BOOLS)
        if data_ids and draw(BOOLS):
            item["data"] = _subset(draw, data_ids)
        _maybe(draw, item, "controls", CONTROL_LISTS)
        flows.append(item)
    if flows or draw(BOOLS):
        doc["flows"] = flows

    selectors = [("zone", zone_ids), ("component", comp_ids), ("flow", flow_ids), ("tag", tags),
                 ("type", [t.value for t in ComponentType])]
    selectors = [(k, pool) for k, pool in selectors if pool]
    baseline = []
    for _ in range(draw(_index(3))):
        key, pool = selectors[draw(_index(len(selectors)))]
        item = {"control": _pick(draw, sorted(KNOWN_CONTROLS)), "applies_to": {key: _pick(draw, pool)}}
        _maybe(draw, item, "note", texts)
        baseline.append(item)
    if baseline:
        doc["baseline"] = baseline

    if draw(BOOLS):
        doc["controls"] = [{"id": "org-gate", "name": draw(texts), "mitigates": draw(MITIGATES)}]
        comps[0].setdefault("controls", []).append("org-gate")
    return doc


def _load(doc: Any) -> Architecture:
    arch, _warnings = load_architecture_text(dump_yaml(doc), "generated.yaml", KNOWN_CONTROLS)
    return arch


def _messages(exc: InputError) -> str:
    return "\n".join(d.render() for d in exc.diagnostics)


# ---------------------------------------------------------------- valid documents


@FAST
@given(architectures())
def test_generated_architectures_validate_and_round_trip_through_yaml(doc):
    expected = Architecture.model_validate(doc)
    assert check_references(expected, KNOWN_CONTROLS) == []

    text = dump_yaml(doc)
    arch, warnings = load_architecture_text(text, "generated.yaml", KNOWN_CONTROLS)
    assert warnings == []
    assert arch == expected
    # ... and again, from the model's own dump: the format is closed under a round trip.
    again = dump_yaml(arch.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    assert load_architecture_text(again, "again.yaml", KNOWN_CONTROLS)[0] == expected


@QUICK
@given(architectures())
def test_generated_architectures_load_from_files(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("arch") / "architecture.yaml"
    path.write_text(dump_yaml(doc), encoding="utf-8")
    arch, warnings = load_architecture(path, KNOWN_CONTROLS)
    assert arch == Architecture.model_validate(doc)
    assert warnings == []


# The loader has two parsers: yaml-rs for plain documents, ruamel's safe loader when
# there are anchors, tags or merge keys. A '&' anywhere (even in a comment) sends a
# document down the second path; its meaning must not change.
FORCE_SAFE_PATH = "\n# & (forces the safe loader)\n"


@FAST
@given(architectures())
def test_both_parser_paths_read_generated_documents_alike(doc):
    text = dump_yaml(doc)
    assert load_yaml(text, "a.yaml")[0] == load_yaml(text + FORCE_SAFE_PATH, "a.yaml")[0] == doc


@pytest.mark.parametrize(
    "scalar",
    ["_0", "_1.0", "1e1_0", "2024-01-01", "2001-12-14 21:59:43.10 -05:00", "2024-13-45", "yes", "on", "0o17",
     "017", "1_000", "0x1F", ".inf", "-.inf", "~", "Null", "+1", "1e3", "1:30", "a_1", "true", "True"],
)
def test_both_parser_paths_read_scalars_alike(scalar):
    text = f"v: {scalar}\nw:\n  - {scalar}\n"
    fast = load_yaml(text, "a.yaml")[0]
    safe = load_yaml(text + FORCE_SAFE_PATH, "a.yaml")[0]
    assert fast == safe, (scalar, fast, safe)
    if scalar[:1] == "_" or "-" in scalar[1:]:
        assert fast["v"] == scalar  # ids, dates and the like stay text


# ---------------------------------------------------------------- broken MUST rules


REFERENCE_KINDS = ["zone", "data", "component", "flow"]


@FAST
@given(architectures(), st.data())
def test_deleting_a_referenced_element_is_an_input_error(doc, data):
    referenced = {
        "zones": {c["zone"] for c in doc["components"]} | {z["parent"] for z in doc["zones"] if "parent" in z},
        "data": {d for c in doc["components"] for d in c.get("stores", [])}
        | {d for f in doc.get("flows", []) for d in f.get("data", [])},
        "components": {f[k] for f in doc.get("flows", []) for k in ("from", "to")},
        "flows": {b["applies_to"]["flow"] for b in doc.get("baseline", []) if "flow" in b["applies_to"]},
    }
    kind = data.draw(st.sampled_from(sorted(k for k, ids in referenced.items() if ids)))
    victim = data.draw(st.sampled_from(sorted(referenced[kind])))
    broken = copy.deepcopy(doc)
    broken[kind] = [item for item in broken[kind] if item["id"] != victim]

    with pytest.raises(InputError) as exc:
        _load(broken)
    text = _messages(exc.value)
    assert f"'{victim}'" in text
    assert "unknown" in text or "at least one component" in text
    assert all(d.file == "generated.yaml" for d in exc.value.diagnostics)
    assert all(d.line is not None for d in exc.value.diagnostics if d.severity == "error")


@FAST
@given(architectures(), st.data())
def test_a_duplicate_id_is_an_input_error(doc, data):
    elements = [(kind, i) for kind in ("data", "zones", "components", "flows") for i in range(len(doc.get(kind, [])))]
    assume(len(elements) >= 2)
    (k1, i1), (k2, i2) = data.draw(st.lists(st.sampled_from(elements), min_size=2, max_size=2, unique=True))
    broken = copy.deepcopy(doc)
    broken[k2][i2]["id"] = broken[k1][i1]["id"]

    with pytest.raises(InputError) as exc:
        _load(broken)
    assert f"duplicate id '{broken[k1][i1]['id']}'" in _messages(exc.value)


@FAST
@given(architectures(), st.data())
def test_a_zone_parent_cycle_is_an_input_error(doc, data):
    broken = copy.deepcopy(doc)
    zones = broken["zones"]
    i = data.draw(st.integers(0, len(zones) - 1))
    j = data.draw(st.integers(0, len(zones) - 1))
    # Point zone i at zone j, and zone j (or i itself) back at zone i.
    zones[i]["parent"] = zones[j]["id"]
    zones[j]["parent"] = zones[i]["id"]
    with pytest.raises(InputError) as exc:
        _load(broken)
    assert "zone parents form a cycle" in _messages(exc.value)


@QUICK
@given(architectures(), st.data())
def test_a_flow_to_itself_is_an_input_error(doc, data):
    assume(doc.get("flows"))
    broken = copy.deepcopy(doc)
    flow = data.draw(st.sampled_from(broken["flows"]))
    flow["to"] = flow["from"]
    with pytest.raises(InputError) as exc:
        _load(broken)
    assert f"flow '{flow['id']}' goes from '{flow['from']}' to itself" in _messages(exc.value)


# ---------------------------------------------------------------- anything at all


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


junk = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10),
        st.sampled_from(["", "none", "service", "1", "version", "components"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


@FAST
@given(architectures(), st.data())
def test_any_mutation_loads_or_is_an_input_error(doc, data):
    broken = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(broken)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "insert-key"]))
        if not path:
            broken = data.draw(junk)
            continue
        parent = broken
        for part in path[:-1]:
            parent = parent[part]
        if action == "replace":
            parent[path[-1]] = data.draw(junk)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(junk)
    for attempt in (lambda: _load(broken), lambda: parse_architecture(broken, "d.yaml", Locator(""), KNOWN_CONTROLS)):
        try:
            attempt()
        except InputError as exc:
            assert exc.diagnostics
            assert all(d.message for d in exc.diagnostics)


YAML_TOKENS = [*"ab1-:?[]{},&*!|>'\"#%@` \n\t.~<=\\", "---", "...", "- ", ": ", "!!", "<<", "\u2028", "\x85", "\ufeff",
               "!!int ", "!!bool ", "!!float ", "!!timestamp ", "!!binary ", "2024-13-45", "0x", "&a ", "*a "]
YAMLISH = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)


@FAST
@given(st.one_of(st.text(max_size=200), YAMLISH))
def test_any_text_parses_or_is_an_input_error(text):
    try:
        data, locator = load_yaml(text, "fuzz.yaml")
    except InputError as exc:
        assert exc.diagnostics and all(d.file == "fuzz.yaml" for d in exc.diagnostics)
        return
    with contextlib.suppress(InputError):
        parse_architecture(data, "fuzz.yaml", locator, KNOWN_CONTROLS)


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_an_input_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("bytes") / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        load_yaml_file(path)
    except InputError as exc:
        assert all(d.file == str(path) for d in exc.diagnostics)


@pytest.mark.parametrize(
    "text",
    [
        "a: !!int abc",
        "a: !!float x",
        "a: !!bool maybe",
        "a: !!int ''",
        "a: !!int 0x",
        "a: 1\na: 2",
        "[" * 300 + "]" * 300,
        "- " * 300 + "x",
        "a: &a " + "[" * 300 + "]" * 300,
        "\ud800",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\nb: 2\n",
    ],
)
def test_known_troublemakers_are_input_errors(text):
    with pytest.raises(InputError) as exc:
        load_yaml(text, "t.yaml")
    assert exc.value.diagnostics[0].file == "t.yaml"


def test_deep_but_reasonable_nesting_still_loads():
    data, _ = load_yaml("a: " + "[" * 150 + "1" + "]" * 150, "t.yaml")
    depth, node = 0, data["a"]
    while isinstance(node, list):
        depth, node = depth + 1, node[0]
    assert (depth, node) == (150, 1)
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(60)) + "  " * 60 + "v: 1\n"
    assert load_yaml(text, "t.yaml")[0]["k0"]["k1"]["k2"] is not None


def test_bad_scalar_is_located():
    with pytest.raises(InputError) as exc:
        load_yaml("a: 1\nb:\n  - ok\n  - !!int 12x\n", "t.yaml")
    d = exc.value.diagnostics[0]
    assert (d.line, d.column) == (4, 5)
    assert "invalid int '12x'" in d.message


def test_duplicate_key_names_the_key():
    with pytest.raises(InputError) as exc:
        load_yaml("zones:\n  - id: a\n    trust: internal\n    trust: restricted\n", "t.yaml")
    d = exc.value.diagnostics[0]
    assert d.message == "duplicate key 'trust'"
    assert d.line == 4


def test_merge_keys_mean_the_same_on_every_parser_path():
    """'<<' merges whether or not the document has anchors (the fast parser kept it as a key)."""
    assert load_yaml("<<: {a: 1}\nb: 2\n", "t.yaml")[0] == {"a": 1, "b": 2}
    assert load_yaml("x: &x {a: 1}\ny:\n  <<: *x\n  b: 2\n", "t.yaml")[0]["y"] == {"a": 1, "b": 2}


def test_yaml_io_round_trips_awkward_strings(tmp_path):
    awkward = ["", " ", "yes", "no", "null", "~", "1", "0x10", "1e3", "-", "- a", "a: b", "#x", "'", '"',
               "line\nbreak", " lead", "trail ", "tab\there", "\u2028", "\x85", "caf\u00e9", "\U0001f600",
               "multi\n\nline\n", "end\n", "\n", "x\r\ny", "@at", "%pct", "!bang", "&amp", "*star", "[1]", "{a}"]
    doc = {"values": awkward}
    assert load_yaml(dump_yaml(doc), "t.yaml")[0] == doc
    path: Path = tmp_path / "f.yaml"
    path.write_text(dump_yaml(doc), encoding="utf-8")
    assert load_yaml_file(path)[0] == doc


def test_number_like_mapping_keys_stay_strings():
    # yaml-rs reads a key such as 0e0_ as the float 0.0 (hypothesis found it in a property key)
    from threatline.formats.yamlio import load_yaml

    assert load_yaml("properties:\n  0e0_: false\n  1_0e1_: 2\n", "x")[0] == {"properties": {"0e0_": False, "1_0e1_": 2}}


_LINE = st.tuples(
    st.text(alphabet=" \t?:-", min_size=44, max_size=56),
    st.sampled_from(["", "x", "x: y", "- z"]),
    st.sampled_from(["\n", "\r\n", "\r", ""]),
)


@given(st.text(alphabet=" x\n", max_size=5), st.lists(_LINE, max_size=6))
@settings(max_examples=400, deadline=None)
def test_deep_line_test_finds_exactly_the_lines_opening_with_a_long_prefix(head, lines):
    """The nesting pre-check searches from newlines instead of '^' with MULTILINE (five
    times faster on a large file); it must find the same lines."""
    import re

    from threatline.formats import yamlio

    text = head + "".join(prefix + rest + end for prefix, rest, end in lines)
    line_start = re.compile(rf"^[ \t?:-]{{{yamlio._PREFIX},}}", re.MULTILINE)
    assert yamlio._has_deep_line(text) == (line_start.search(text) is not None)
