"""The model's hash is started early, on a second thread, only when the index needs it."""

from __future__ import annotations

import hashlib
import json

from threatline.store.directory import ModelStore
from threatline.store.index import index_path, load_info, start_model_hash, stat_path


def test_hash_only_when_the_index_cannot_vouch_by_stat(drafted_model):
    store = ModelStore(drafted_model)
    expected = hashlib.sha256(store.path.read_bytes()).hexdigest()
    # Just written: the time stamp is too close to the indexing to trust (racy), so hash.
    job = start_model_hash(store)
    assert job is not None and job() == expected
    info = load_info(store, job)
    assert info.content_hash
    # Verified by hash, the index notes the stat; an index made long after the file was
    # last written vouches for it alone.
    record = stat_path(store.path)
    data = json.loads(record.read_text(encoding="utf-8"))
    assert data["model_sha256"] == expected
    data["indexed_at_ns"] = data["model_stat"][1] + 10 * 10**9
    record.write_text(json.dumps(data), encoding="utf-8")
    assert start_model_hash(store) is None
    # Vouching again rewrote only the small record, never the index.
    path = index_path(store.path)
    assert "model_stat" not in json.loads(path.read_text(encoding="utf-8").partition("\n")[0])
    # No index (or an unreadable one): nothing to verify, load_info rebuilds it.
    path.unlink()
    assert start_model_hash(store) is None
    assert load_info(store).content_hash == info.content_hash


def test_a_stat_record_for_other_content_is_not_trusted(drafted_model):
    store = ModelStore(drafted_model)
    info = load_info(store)
    record = stat_path(store.path)
    data = json.loads(record.read_text(encoding="utf-8"))
    # The record vouches for some other content at this very size and time stamp (an edit
    # the time stamp could not show): the index's own sha256 no longer matches it, so the
    # model is hashed, found to match the index, and the record is written again.
    actual = data["model_sha256"]
    data["model_sha256"] = "0" * 64
    data["indexed_at_ns"] = data["model_stat"][1] + 10 * 10**9
    record.write_text(json.dumps(data), encoding="utf-8")
    assert load_info(store, start_model_hash(store)).content_hash == info.content_hash
    assert json.loads(record.read_text(encoding="utf-8"))["model_sha256"] == actual


def test_a_broken_stat_record_only_costs_a_hash(drafted_model):
    store = ModelStore(drafted_model)
    info = load_info(store)
    for broken in ("not json", "[]", '{"model_stat": "x", "indexed_at_ns": "soon"}', '{"indexed_at_ns": []}'):
        stat_path(store.path).write_text(broken, encoding="utf-8")
        job = start_model_hash(store)
        assert job is not None
        assert load_info(store, job).content_hash == info.content_hash
