"""Titles are headings: long ones lose the parenthesised detail of names, descriptions keep it."""

from threatline.engine.draft import TITLE_ROOM, _short_names, _without_detail, draft
from threatline.formats.architecture_yaml import load_architecture_text


def test_without_detail_drops_every_parenthesised_part():
    assert _without_detail("Ring to phone BLE sync (GATT, Just Works pairing) and app (iOS)") == \
        "Ring to phone BLE sync and app"
    assert _without_detail("Payments (EU") == "Payments (EU"  # an unclosed bracket stays


def test_only_names_are_shortened():
    short = _short_names({"flow.name": "Sync (GATT)", "flow.protocol": "HTTPS (TLS)", "data.short": "Cards (PAN)"})
    assert short == {"flow.name": "Sync", "flow.protocol": "HTTPS (TLS)", "data.short": "Cards"}


def test_a_long_name_is_shortened_in_the_title_only(knowledge):
    long_name = "Gateway polls and controls the inverter (Modbus TCP, RS-485 for flashing, vendor tooling)"
    text = f"""
version: 1
system: {{name: S}}
data: [{{id: d, name: Settings, classification: confidential}}]
zones: [{{id: a, trust: untrusted}}, {{id: b, trust: internal}}]
components:
  - {{id: gw, name: Home gateway, type: device, zone: a}}
  - {{id: api, name: Fleet API, type: api, zone: b}}
flows:
  - {{id: f, name: "{long_name}", from: gw, to: api, protocol: http, authentication: none, data: [d]}}
"""
    arch, _ = load_architecture_text(text, "t.yaml", set(knowledge.controls))
    threats = [t for t in draft(arch, knowledge).threats if t.target == "f"]
    assert threats
    for t in threats:
        assert "RS-485" not in t.title or len(t.title) <= TITLE_ROOM
    assert any("RS-485" in t.description for t in threats)
