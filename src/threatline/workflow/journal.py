"""The audit journal: append-only entries, each chained to the one before by hash.

An entry's hash covers its own fields and the previous entry's hash, so editing,
removing, inserting or reordering a line breaks the chain at a place `verify`
can name. The model file and each published version record the head of the
chain, which also catches lines cut off the end.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from threatline.workflow.hashing import canonical_json, sha256_text

GENESIS = "0" * 64


class JournalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    reason: str = ""
    model_hash: str = ""
    prev: str
    hash: str = ""

    def compute_hash(self) -> str:
        return sha256_text(canonical_json(self.model_dump(mode="json", exclude={"hash"})))


def seal(previous: JournalEntry | None, **fields: Any) -> JournalEntry:
    entry = JournalEntry(
        seq=(previous.seq + 1) if previous else 1,
        prev=previous.hash if previous else GENESIS,
        **fields,
    )
    entry.hash = entry.compute_hash()
    return entry


def to_line(entry: JournalEntry) -> str:
    return canonical_json(entry.model_dump(mode="json")) + "\n"


class ChainReport(BaseModel):
    ok: bool
    entries: int
    head: str
    first_bad_line: int | None = None
    problem: str = ""


def verify_chain(lines: list[str], expected_head: str | None = None) -> ChainReport:
    """Check every line; name the first one that was edited, removed, inserted or moved."""
    hashes: list[str] = []
    seqs: list[int] = []
    for number, raw in enumerate(lines, start=1):
        try:
            entry = JournalEntry.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            return ChainReport(ok=False, entries=len(hashes), head=hashes[-1] if hashes else GENESIS,
                               first_bad_line=number, problem=f"line {number} is not a journal entry (edited?)")
        if entry.compute_hash() != entry.hash:
            return ChainReport(ok=False, entries=len(hashes), head=hashes[-1] if hashes else GENESIS,
                               first_bad_line=number,
                               problem=f"line {number} (entry {entry.seq}) was edited: its hash does not match its content")
        expected_prev = hashes[-1] if hashes else GENESIS
        expected_seq = (seqs[-1] + 1) if seqs else 1
        if entry.prev != expected_prev or entry.seq != expected_seq:
            if len(hashes) >= 2 and entry.prev == hashes[-2]:
                problem = f"line {number - 1} was inserted: line {number} chains to line {number - 2}"
                bad = number - 1
            elif entry.seq < expected_seq:
                problem = f"line {number} (entry {entry.seq}) is out of order: expected entry {expected_seq}"
                bad = number
            elif entry.seq > expected_seq:
                problem = (f"entries {expected_seq}..{entry.seq - 1} were removed before line {number}"
                           if entry.seq - 1 > expected_seq else f"entry {expected_seq} was removed before line {number}")
                bad = number
            else:
                problem = f"line {number} (entry {entry.seq}) does not chain to the entry before it (replaced or inserted)"
                bad = number
            return ChainReport(ok=False, entries=len(hashes), head=expected_prev, first_bad_line=bad, problem=problem)
        hashes.append(entry.hash)
        seqs.append(entry.seq)
    head = hashes[-1] if hashes else GENESIS
    if expected_head is not None and expected_head != head and expected_head not in hashes:
        return ChainReport(ok=False, entries=len(hashes), head=head, first_bad_line=len(lines) + 1,
                           problem="entries were removed from the end: the model records a later head of the journal")
    return ChainReport(ok=True, entries=len(hashes), head=head)
