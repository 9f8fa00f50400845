"""Shared check of the drift re-run: after an edit, the re-run on the narrowed scope gives
exactly the full draft's threats there, and nothing outside the scope changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from threatline.drift.affected import affected
from threatline.drift.diff import diff
from threatline.drift.rerun import narrowed, threats_for, view_for
from threatline.drift.snapshot import Snapshot
from threatline.engine.draft import draft
from threatline.model.architecture import Architecture


def set_by_id(items: list[dict[str, Any]], ident: str, **values: Any) -> None:
    for item in items:
        if item["id"] == ident:
            item.update(values)


def assert_partial_rerun_equals_full_draft(knowledge: Any, doc: dict[str, Any],
                                           edit: Callable[[dict[str, Any]], None]) -> None:
    edited = copy.deepcopy(doc)
    edit(edited)
    a, b = Architecture.model_validate(doc), Architecture.model_validate(edited)
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    assert changes
    scope = affected(changes, b)
    view = view_for(b, knowledge, scope)
    scope = narrowed(scope, changes, b, knowledge, view)

    def key(threats: Any) -> list[tuple[Any, ...]]:
        return sorted((t.id, t.severity, t.title, tuple(t.current_mitigations), tuple(t.data)) for t in threats)

    full_after = draft(b, knowledge).threats
    full_before = draft(a, knowledge).threats
    targets = scope.targets()
    assert key(threats_for(b, knowledge, scope, view)) == key([t for t in full_after if t.target in targets])
    # everything outside the scope is as it was
    touched = targets | {c.id for c in changes}
    assert key([t for t in full_before if t.target not in touched]) == key(
        [t for t in full_after if t.target not in touched])
