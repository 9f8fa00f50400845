"""The model's hash is started early, on a second thread, only when the index needs it."""

from __future__ import annotations

import hashlib
import json

from threatline.store.directory import ModelStore
from threatline.store.index import index_path, load_info, start_model_hash


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
    path = index_path(store.path)
    head, _, body = path.read_text(encoding="utf-8").partition("\n")
    data = json.loads(head)
    data["indexed_at_ns"] = data["model_stat"][1] + 10 * 10**9
    path.write_text(json.dumps(data) + "\n" + body, encoding="utf-8")
    assert start_model_hash(store) is None
    # No index (or an unreadable one): nothing to verify, load_info rebuilds it.
    path.unlink()
    assert start_model_hash(store) is None
    assert load_info(store).content_hash == info.content_hash
