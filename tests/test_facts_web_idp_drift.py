"""Drift follows reach.idp_sign_in: adding or removing a client's flow to an identity
provider, or retyping the provider, re-runs the rules on everything the client calls."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from threatline.drift.affected import affected
from threatline.drift.diff import diff
from threatline.drift.snapshot import Snapshot
from threatline.engine.draft import draft
from threatline.model.architecture import Architecture

DOC: dict[str, Any] = {
    "version": 1, "system": {"name": "S"},
    "data": [{"id": "profiles", "classification": "confidential", "tags": ["pii"]},
             {"id": "id-token", "classification": "confidential", "tags": ["credentials"]}],
    "zones": [{"id": "internet", "trust": "untrusted"}, {"id": "vendor", "trust": "partner"},
              {"id": "edge", "trust": "partner"}, {"id": "app", "trust": "internal"}],
    "components": [
        {"id": "browser", "type": "browser", "zone": "internet"},
        {"id": "idp", "type": "identity-provider", "zone": "vendor", "tech": "okta"},
        {"id": "lb", "type": "load-balancer", "zone": "edge", "properties": {"internet_facing": True}},
        {"id": "portal", "type": "web-app", "zone": "app", "stores": ["profiles"]},
        {"id": "direct", "type": "web-app", "zone": "app", "stores": ["profiles"]},
    ],
    "flows": [
        {"id": "sign-in", "from": "browser", "to": "idp", "protocol": "https", "authentication": "password",
         "data": ["id-token"], "bidirectional": True},
        {"id": "pages", "from": "browser", "to": "lb", "protocol": "https", "authentication": "session",
         "data": ["profiles", "id-token"]},
        {"id": "forward", "from": "lb", "to": "portal", "protocol": "https", "authentication": "session",
         "data": ["profiles"]},
        {"id": "other", "from": "browser", "to": "direct", "protocol": "https", "authentication": "session",
         "data": ["profiles", "id-token"]},
    ],
}


def _drop_sign_in(doc: dict[str, Any]) -> None:
    doc["flows"] = [f for f in doc["flows"] if f["id"] != "sign-in"]


def _retype_idp(doc: dict[str, Any]) -> None:
    doc["components"][1]["type"] = "service"


def _drop_token(doc: dict[str, Any]) -> None:
    for f in doc["flows"]:
        if f["id"] in ("pages", "other"):
            f["data"] = ["profiles"]


def _retype_browser(doc: dict[str, Any]) -> None:
    doc["components"][0]["type"] = "service"


def _remove_idp(doc: dict[str, Any]) -> None:
    _drop_sign_in(doc)
    doc["components"] = [c for c in doc["components"] if c["id"] != "idp"]


@pytest.mark.parametrize("edit", [_drop_sign_in, _retype_idp, _remove_idp, _drop_token, _retype_browser])
@pytest.mark.parametrize("forward", [True, False], ids=["remove", "add"])
def test_threats_outside_the_affected_elements_never_change(knowledge, edit, forward):
    old, new = copy.deepcopy(DOC), copy.deepcopy(DOC)
    edit(new)
    if not forward:
        old, new = new, old
    a, b = Architecture.model_validate(old), Architecture.model_validate(new)
    changes = diff(Snapshot.from_architecture(a), Snapshot.from_architecture(b))
    scope = affected(changes, b)
    touched = scope.targets() | {c.id for c in changes} | {c.old_id for c in changes if c.old_id}
    assert {"portal", "direct"} <= touched

    def key(t):
        return (t.rule, t.severity, t.coverage, tuple(t.current_mitigations), tuple(t.data))

    before = {t.id: key(t) for t in draft(a, knowledge).threats if t.target not in touched}
    after = {t.id: key(t) for t in draft(b, knowledge).threats if t.target not in touched}
    assert before == after
    # and the fact does move the login threats of the two web apps
    rules_a = {(t.target, t.rule) for t in draft(a, knowledge).threats}
    rules_b = {(t.target, t.rule) for t in draft(b, knowledge).threats}
    assert rules_a != rules_b
