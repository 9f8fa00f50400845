"""reach.client_types: which kinds of client reach a component, directly or through chains
of pass-through components (gateways, load balancers, proxies, CDNs)."""

from __future__ import annotations

from typing import Any

from threatline.engine.facts import ArchitectureView
from threatline.model.architecture import Architecture


def _arch(components: list[tuple[str, str, str]], flows: list[tuple[str, str]]) -> Architecture:
    return Architecture.model_validate({
        "version": 1, "system": {"name": "S"},
        "zones": [{"id": "field", "trust": "untrusted"}, {"id": "edge", "trust": "partner"},
                  {"id": "app", "trust": "internal"}],
        "components": [{"id": cid, "type": ctype, "zone": zone} for cid, ctype, zone in components],
        "flows": [{"id": f"f{i}", "from": a, "to": b, "protocol": "https", "authentication": "jwt"}
                  for i, (a, b) in enumerate(flows)],
    })


def _clients(arch: Architecture, knowledge: Any) -> dict[str, list[str]]:
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    return {c.id: view.component(c.id).facts["reach.client_types"] for c in arch.components}


def test_devices_behind_a_gateway_are_seen_by_the_api(knowledge):
    arch = _arch([("meter", "device", "field"), ("gw", "api-gateway", "edge"), ("api", "api", "app")],
                 [("meter", "gw"), ("gw", "api")])
    clients = _clients(arch, knowledge)
    assert clients["api"] == ["device"] and clients["gw"] == ["device"] and clients["meter"] == []


def test_every_kind_of_client_behind_a_chain_is_listed(knowledge):
    arch = _arch([("meter", "device", "field"), ("phone", "mobile-app", "field"), ("web", "browser", "field"),
                  ("cdn", "cdn", "edge"), ("lb", "load-balancer", "edge"), ("gw", "api-gateway", "edge"),
                  ("api", "api", "app")],
                 [("web", "cdn"), ("cdn", "lb"), ("phone", "lb"), ("lb", "gw"), ("meter", "gw"), ("gw", "api")])
    assert _clients(arch, knowledge)["api"] == ["browser", "device", "mobile-app"]


def test_a_web_front_hides_its_users(knowledge):
    # A web app is not pass-through: what calls the API is the web app, on its users' behalf.
    arch = _arch([("web", "browser", "field"), ("front", "web-app", "edge"), ("api", "api", "app")],
                 [("web", "front"), ("front", "api")])
    clients = _clients(arch, knowledge)
    assert clients["front"] == ["browser"] and clients["api"] == []


def test_a_loop_of_proxies_settles(knowledge):
    arch = _arch([("phone", "mobile-app", "field"), ("a", "reverse-proxy", "edge"), ("b", "reverse-proxy", "edge"),
                  ("api", "api", "app")],
                 [("phone", "a"), ("a", "b"), ("b", "a"), ("b", "api")])
    clients = _clients(arch, knowledge)
    assert clients["api"] == ["mobile-app"] and clients["a"] == ["mobile-app"] and clients["b"] == ["mobile-app"]


def test_device_only_apis_behind_a_gateway_get_no_human_login_threats(knowledge):
    from pathlib import Path

    from threatline.service import draft_file

    fixture = (Path(__file__).resolve().parents[1] / "src" / "threatline" / "knowledge" / "fixtures"
               / "platform-device-gateway.yaml")
    rules = {(t.target, t.rule) for t in draft_file(fixture).model.threats}
    human = {"WEB-LOGIN-BRUTE-FORCE", "AUTH-ACCOUNT-RECOVERY", "API-BOLA", "API-BFLA"}
    assert not {r for target, r in rules if target == "readings-api"} & human
    assert human <= {r for target, r in rules if target == "account-api"}  # people log in there
