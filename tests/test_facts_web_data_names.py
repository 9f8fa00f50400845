"""inbound.data.names and outbound.data.names: the ids and names of the data a component
receives and sends, lower-cased, so that a rule can tell an API that receives "Uploaded
photos" from one that only sends them on, and the rules that read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatline.engine.facts import ArchitectureView
from threatline.model.architecture import Architecture


def _arch() -> Architecture:
    return Architecture.model_validate({
        "version": 1, "system": {"name": "S"},
        "data": [{"id": "photos", "name": "Uploaded Photos", "classification": "internal"},
                 {"id": "thumbs", "name": "Thumbnails", "classification": "public"},
                 {"id": "orders", "classification": "confidential"}],
        "zones": [{"id": "internet", "trust": "untrusted"}, {"id": "app", "trust": "internal"}],
        "components": [{"id": "phone", "type": "mobile-app", "zone": "internet"},
                       {"id": "api", "type": "api", "zone": "app", "stores": ["orders"]},
                       {"id": "resizer", "type": "worker", "zone": "app"}],
        "flows": [{"id": "f1", "from": "phone", "to": "api", "protocol": "https", "authentication": "jwt",
                   "data": ["photos", "orders"]},
                  {"id": "f2", "from": "api", "to": "resizer", "protocol": "https", "authentication": "jwt",
                   "data": ["thumbs"]}],
    })


def _facts(knowledge: Any) -> dict[str, dict[str, Any]]:
    arch = _arch()
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    return {c.id: view.component(c.id).facts for c in arch.components}


def test_received_and_sent_data_names_are_kept_apart(knowledge):
    facts = _facts(knowledge)
    assert facts["api"]["inbound.data.names"] == ["orders", "photos", "uploaded photos"]
    assert facts["api"]["outbound.data.names"] == ["thumbnails", "thumbs"]
    assert facts["phone"]["inbound.data.names"] == [] and "uploaded photos" in facts["phone"]["outbound.data.names"]
    # stored data counts in data.names, not in what it receives or sends
    assert facts["resizer"]["inbound.data.names"] == ["thumbnails", "thumbs"]
    assert facts["resizer"]["outbound.data.names"] == []


def test_an_upload_api_named_only_by_its_data_gets_the_upload_threat(knowledge):
    from threatline.engine.draft import draft

    rules = {(t.target, t.rule) for t in draft(_arch(), knowledge).threats}
    assert ("api", "WEB-FILE-UPLOAD") in rules
    assert ("resizer", "WEB-FILE-UPLOAD") not in rules


def test_the_community_fixture_forum_receives_member_uploads(knowledge):
    from threatline.service import draft_file

    fixture = (Path(__file__).resolve().parents[1] / "src" / "threatline" / "knowledge" / "fixtures"
               / "web-community.yaml")
    rules = {(t.target, t.rule) for t in draft_file(fixture).model.threats}
    assert ("forum", "WEB-FILE-UPLOAD") in rules
