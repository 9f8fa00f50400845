"""The index reads the threats of some targets from the byte ranges its head records."""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatline.drift.state import ModelInfo
from threatline.store.directory import ModelStore
from threatline.store.index import index_path, load_info
from threatline.workflow.actions import stage_hash


def _expected(model_path):
    loaded = ModelStore(model_path).load()
    return ModelInfo.of(loaded.model, stage_hash(loaded.model, "stakeholder"), "draft")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_threats_on_any_targets_match_the_model(drafted_model, data):
    expected = _expected(drafted_model)
    targets = sorted({t.target for t in expected.all_threats()} | {"no-such-element"})
    wanted = set(data.draw(st.lists(st.sampled_from(targets), max_size=8)))
    info = load_info(ModelStore(drafted_model))
    assert info.threats_on(wanted) == expected.threats_on(wanted)


def test_every_threat_reads_back_in_model_order(drafted_model):
    expected = _expected(drafted_model)
    info = load_info(ModelStore(drafted_model))
    assert info.all_threats() == expected.all_threats() and len(info.all_threats()) >= 20


def test_ranges_cover_each_line_once(drafted_model):
    load_info(ModelStore(drafted_model))
    raw = index_path(drafted_model).read_bytes()
    body = raw.index(b"\n") + 1
    spans = json.loads(raw[:body])["targets"]
    covered = sorted(r for ranges in spans.values() for r in ranges)
    assert covered[0][0] == 0 and covered[-1][1] == len(raw) - body
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
    for target, ranges in spans.items():
        for start, end in ranges:
            lines = raw[body + start:body + end].decode().splitlines()
            assert lines and all(line.split("\t", 1)[0] == target for line in lines)


def test_an_index_without_ranges_is_rebuilt_not_misread(drafted_model):
    store = ModelStore(drafted_model)
    info = load_info(store)
    path = index_path(drafted_model)
    head, _, body = path.read_text(encoding="utf-8").partition("\n")
    data = json.loads(head)
    del data["targets"]  # as an index written by an earlier Threatline
    path.write_text(json.dumps(data) + "\n" + body, encoding="utf-8")
    again = load_info(store)
    assert again.all_threats() == info.all_threats()
    assert "targets" in json.loads(path.read_text(encoding="utf-8").partition("\n")[0])
