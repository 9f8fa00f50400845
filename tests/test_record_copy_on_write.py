"""Drift notes are attached to copies: the merged model and the fresh draft it shares
objects with are left as they were (annotate copies only what a note lands on)."""

from __future__ import annotations

from pathlib import Path

from threatline.drift.impact import superseders
from threatline.drift.record import annotate
from threatline.service import draft_file
from threatline.workflow.merge import merge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"


def test_annotate_leaves_its_inputs_alone_and_notes_the_copies(tmp_path):
    before = draft_file(EXAMPLE)
    prior = before.model.model_copy(deep=True)
    # Decisions that drift notes land on: an approved mitigation on the database and an
    # accepted risk, then the database is renamed and the checkout flow loses TLS.
    db_mitigation = next(m for m in prior.mitigations if m.placement == "payments-db")
    db_mitigation.status = "approved"
    text = EXAMPLE.read_text(encoding="utf-8").replace("payments-db", "ledger-db")
    text = text.replace("protocol: https", "protocol: http", 1)
    changed = tmp_path / "architecture.yaml"
    changed.write_text(text, encoding="utf-8")
    after = draft_file(changed)
    merged, _ = merge(prior, after.model)
    merged_dump, fresh_dump, prior_dump = (merged.model_dump(), after.model.model_dump(), prior.model_dump())

    result, report = annotate(prior, after.model, merged, after.arch, superseders(after.knowledge.rules))

    assert report.changes and sum(report.notes.values()) > 0
    assert merged.model_dump() == merged_dump
    assert after.model.model_dump() == fresh_dump
    assert prior.model_dump() == prior_dump
    noted = [t for t in result.threats if t.drift] + [m for m in result.mitigations if m.drift]
    assert noted, "the notes are on the result"
    # The approved mitigation's decision follows the renamed database.
    carried = [m for m in result.mitigations if m.placement == "ledger-db" and m.status == "approved"]
    assert carried

