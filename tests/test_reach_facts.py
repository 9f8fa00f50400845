"""reach.from_trust / reach.via (what reaches a component through chains of pass-through
components), and the one-hop outbound.to_names and inbound.all_unauthenticated facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatline.engine.facts import ArchitectureView, reach_map
from threatline.model.architecture import Architecture

FIXTURE = Path(__file__).resolve().parents[1] / "src" / "threatline" / "knowledge" / "fixtures" / "web-edge-chain.yaml"


def _arch(components: list[dict[str, Any]], flows: list[tuple[str, str, str]]) -> Architecture:
    return Architecture.model_validate({
        "version": 1, "system": {"name": "S"},
        "zones": [{"id": "internet", "trust": "untrusted"}, {"id": "edge", "trust": "partner"},
                  {"id": "app", "trust": "internal"}, {"id": "vault", "trust": "restricted"}],
        "components": components,
        "flows": [{"id": f"f{i}", "from": a, "to": b, "protocol": "https", "authentication": auth}
                  for i, (a, b, auth) in enumerate(flows)],
    })


def _facts(arch: Architecture, knowledge: Any) -> dict[str, dict[str, Any]]:
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    return {c.id: view.component(c.id).facts for c in arch.components}


def test_a_chain_from_the_internet_reaches_the_service_behind_it(knowledge):
    from threatline.service import draft_file

    arch = draft_file(FIXTURE).arch
    facts = _facts(arch, knowledge)
    assert facts["profile-api"]["exposure"] == "internal"  # one hop: the gateway's zone
    assert facts["profile-api"]["reach.from_trust"] == "untrusted"
    assert facts["profile-api"]["reach.via"] == ["api-gateway", "cdn", "load-balancer"]
    assert facts["lb"]["reach.from_trust"] == "untrusted" and facts["lb"]["reach.via"] == ["cdn"]
    assert facts["cdn"]["reach.from_trust"] == "untrusted" and facts["cdn"]["reach.via"] == []
    assert facts["reporting"]["reach.from_trust"] == "internal"
    assert facts["reporting"]["reach.via"] == ["load-balancer"]
    assert facts["customer"]["reach.from_trust"] is None
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    flow = view.flow(view.flows_by_id["gateway-to-profile"]).facts
    assert flow["source.reach.from_trust"] == "untrusted" and flow["source.reach.via"] == ["cdn", "load-balancer"]


def test_cycles_of_proxies_and_non_passing_components(knowledge):
    arch = _arch(
        [{"id": "user", "type": "browser", "zone": "internet"},
         {"id": "p1", "type": "reverse-proxy", "zone": "app"},
         {"id": "p2", "type": "reverse-proxy", "zone": "app"},
         {"id": "svc", "type": "service", "zone": "app"},
         {"id": "db", "type": "database", "zone": "vault"},
         {"id": "ops", "type": "actor", "zone": "app"},
         {"id": "lb", "type": "load-balancer", "zone": "vault", "properties": {"internet_facing": True}},
         {"id": "api", "type": "api", "zone": "vault"}],
        [("p1", "p2", "none"), ("p2", "p1", "none"), ("user", "p2", "none"), ("p1", "svc", "jwt"),
         ("svc", "db", "password"), ("ops", "lb", "jwt"), ("lb", "api", "none")],
    )
    facts = _facts(arch, knowledge)
    assert facts["p1"]["reach.from_trust"] == "untrusted" and facts["p1"]["reach.via"] == ["reverse-proxy"]
    assert facts["svc"]["reach.from_trust"] == "untrusted"
    # a service does not pass requests on: its database is reached from its zone only
    assert facts["db"]["reach.from_trust"] == "internal" and facts["db"]["reach.via"] == []
    # marked internet_facing: reached from the internet, and so is what it passes requests to
    assert facts["lb"]["reach.from_trust"] == "untrusted"
    assert facts["api"]["reach.from_trust"] == "untrusted" and facts["api"]["reach.via"] == ["load-balancer"]
    assert set(reach_map(arch)) == {"p1", "p2", "svc", "api"}
    # one-hop facts asked for by rule writers
    assert facts["svc"]["outbound.to_names"] == ["db"]
    assert facts["api"]["inbound.all_unauthenticated"] is True
    assert facts["p1"]["inbound.all_unauthenticated"] is True
    assert facts["svc"]["inbound.all_unauthenticated"] is False
    assert facts["user"]["inbound.all_unauthenticated"] is False  # no inbound flows at all
