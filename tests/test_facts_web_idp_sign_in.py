"""reach.idp_sign_in: a client presents to a component, directly or through chains of
pass-through components, data it also exchanges with an identity provider (the token or
assertion it got there), so the component's users sign in there (SSO or OAuth in the browser
or app) and not at the component itself."""

from __future__ import annotations

from typing import Any

from threatline.engine.facts import ArchitectureView, reach_map
from threatline.model.architecture import Architecture


def _arch(components: list[tuple[str, str, str]], flows: list[tuple[str, str, str, list[str]]]) -> Architecture:
    return Architecture.model_validate({
        "version": 1, "system": {"name": "S"},
        "data": [{"id": "token", "classification": "confidential", "tags": ["credentials"]},
                 {"id": "orders", "classification": "confidential", "tags": ["pii"]}],
        "zones": [{"id": "internet", "trust": "untrusted"}, {"id": "vendor", "trust": "partner"},
                  {"id": "edge", "trust": "partner"}, {"id": "app", "trust": "internal"}],
        "components": [{"id": cid, "type": ctype, "zone": zone} for cid, ctype, zone in components],
        "flows": [{"id": f"f{i}", "from": a, "to": b, "protocol": "https", "authentication": auth, "data": data}
                  for i, (a, b, auth, data) in enumerate(flows)],
    })


def _signs_in(arch: Architecture, knowledge: Any, reach: Any = None) -> dict[str, bool]:
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases, reach=reach)
    return {c.id: view.component(c.id).facts["reach.idp_sign_in"] for c in arch.components}


COMPONENTS = [("browser", "browser", "internet"), ("idp", "identity-provider", "vendor"),
              ("cdn", "cdn", "edge"), ("lb", "load-balancer", "edge"), ("web", "web-app", "app"),
              ("api", "api", "app"), ("phone", "mobile-app", "internet"), ("mobile-api", "api", "app")]


TOKEN, ORDERS = ["token"], ["orders"]


def test_a_token_from_the_identity_provider_is_seen_through_a_chain(knowledge):
    arch = _arch(COMPONENTS, [("browser", "idp", "password", TOKEN), ("browser", "cdn", "session", [*TOKEN, *ORDERS]),
                              ("cdn", "lb", "session", ORDERS), ("lb", "web", "session", ORDERS), ("web", "api", "jwt", ORDERS),
                              ("phone", "mobile-api", "jwt", TOKEN)])
    signs = _signs_in(arch, knowledge)
    assert signs["cdn"] and signs["lb"] and signs["web"]  # through the CDN and the load balancer
    assert not signs["api"]  # a web app is not pass-through: it holds the session
    assert not signs["idp"]  # signing in there is not presenting its token to it
    assert not signs["mobile-api"] and not signs["browser"] and not signs["phone"]


def test_a_direct_caller_of_any_client_kind_counts_and_a_reply_from_the_provider_too(knowledge):
    arch = _arch([*COMPONENTS, ("desk", "desktop-app", "internet")],
                 [("phone", "idp", "password", TOKEN), ("phone", "mobile-api", "oauth2", [*TOKEN, *ORDERS]),
                  ("idp", "desk", "other", TOKEN), ("desk", "api", "oauth2", TOKEN)])
    signs = _signs_in(arch, knowledge)
    assert signs["mobile-api"] and signs["api"] and not signs["web"]


def test_the_same_browser_logging_in_to_another_site_does_not_count(knowledge):
    """One browser node stands for the user's browser on every site: a legacy portal it sends
    only its own session cookie to keeps its own login."""
    arch = _arch(COMPONENTS, [("browser", "idp", "password", TOKEN), ("browser", "api", "oauth2", [*TOKEN, *ORDERS]),
                              ("browser", "web", "session", ORDERS)])
    signs = _signs_in(arch, knowledge)
    assert signs["api"] and not signs["web"]


def test_no_identity_provider_no_sign_in_there(knowledge):
    arch = _arch(COMPONENTS, [("browser", "cdn", "session", [*TOKEN, *ORDERS]), ("cdn", "web", "session", TOKEN),
                              ("web", "idp", "jwt", TOKEN)])
    # the web app calls the identity provider itself (a code exchange): outbound.to_types says so
    assert not any(_signs_in(arch, knowledge).values())


def test_a_part_of_the_architecture_reads_the_whole_ones_map(knowledge):
    """drift.rerun builds facts on a part: the client's flow to the identity provider may lie
    outside it, so the fact comes from the whole architecture's reach map."""
    whole = _arch(COMPONENTS, [("browser", "idp", "password", TOKEN), ("browser", "web", "session", TOKEN)])
    part = _arch(COMPONENTS, [("browser", "web", "session", TOKEN)])
    assert not _signs_in(part, knowledge)["web"]
    assert _signs_in(part, knowledge, reach=reach_map(whole))["web"]


def test_the_other_reach_facts_are_unchanged_by_the_sign_in_bit(knowledge):
    arch = _arch(COMPONENTS, [("browser", "idp", "password", TOKEN), ("browser", "cdn", "session", TOKEN),
                              ("cdn", "web", "session", TOKEN), ("phone", "mobile-api", "jwt", TOKEN)])
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    web = view.component("web").facts
    assert web["reach.idp_sign_in"]
    assert web["reach.client_types"] == ["browser"] and web["reach.via"] == ["cdn"]
    assert web["reach.from_trust"] == "untrusted"
    assert view.component("mobile-api").facts["reach.via"] == []
    cdn = view.component("cdn").facts
    assert cdn["reach.via"] == [] and cdn["reach.from_trust"] == "untrusted" and cdn["reach.client_types"] == ["browser"]
    flow = view.flow(view.flows_by_id["f2"]).facts
    assert flow["source.reach.idp_sign_in"] and flow["target.reach.idp_sign_in"]
