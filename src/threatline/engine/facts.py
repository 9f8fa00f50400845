"""Facts about each element, the vocabulary rule conditions and templates use.

`ArchitectureView` indexes an Architecture once (zones, flows in and out,
baseline selectors) and derives a flat mapping of facts per component, flow and
zone. Conditions read these facts; nothing else of the architecture is visible
to a rule, which keeps rules declarative and their vocabulary documented.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from threatline.engine.conditions import FactSpec
from threatline.model.architecture import (
    CLASSIFICATION_ORDER,
    TRUST_ORDER,
    Architecture,
    BaselineControl,
    Component,
    DataAsset,
    Flow,
    Zone,
)

_ENDPOINT_FACTS: dict[str, FactSpec] = {
    "id": FactSpec("str", "component id"),
    "type": FactSpec("str", "component type"),
    "tech": FactSpec("str", "free-text technology, lower-cased"),
    "zone.id": FactSpec("str", "zone id"),
    "zone.trust": FactSpec("trust", "trust level of its zone"),
    "internet_facing": FactSpec("bool", "reachable from the internet"),
    "exposure": FactSpec("trust", "lowest trust of any zone that can send to it"),
    "reach.from_trust": FactSpec(
        "trust", "lowest trust from which requests can reach it, through chains of pass-through "
        "components (api-gateway, load-balancer, reverse-proxy, cdn); untrusted when marked internet_facing"),
    "reach.via": FactSpec("list", "types of the pass-through components requests pass on their way to it"),
    "reach.client_types": FactSpec(
        "list", "types of the clients (actor, browser, mobile-app, desktop-app, device) whose requests reach it: "
        "its direct callers and, through chains of pass-through components, theirs"),
    "reach.first_hop": FactSpec(
        "bool", "a client (actor, browser, mobile-app, desktop-app, device) or a component in an untrusted zone "
        "calls it directly: it is the first component a request from outside meets"),
    "reach.idp_sign_in": FactSpec(
        "bool", "a client sends it (directly or through pass-through components) data that the client also "
        "exchanges with an identity-provider (the token or assertion it got there): its users sign in there"),
    "text": FactSpec(
        "str", "its display name, tech and description on three lines, lower-cased: what it is said to be and do "
        "(for mentions_any: 'shared accounts', 'no mfa')"),
    "controls": FactSpec("list", "controls in effect on it"),
    "stores.classification": FactSpec("classification", "highest classification stored"),
    "stores.tags": FactSpec("list", "tags of data stored"),
}

# (endpoint fact, the flow fact it becomes), spelled once rather than once per flow.
_SOURCE_KEYS = [(key, f"source.{key}") for key in _ENDPOINT_FACTS]
_TARGET_KEYS = [(key, f"target.{key}") for key in _ENDPOINT_FACTS]

COMPONENT_FACTS: dict[str, FactSpec] = {
    **_ENDPOINT_FACTS,
    "name": FactSpec("str", "display name (its id when unnamed), lower-cased"),
    "description": FactSpec("str", "free text, lower-cased"),
    "zone.parent": FactSpec("str", "parent zone id"),
    "stores.count": FactSpec("int", "number of data assets stored"),
    "data.classification": FactSpec("classification", "highest classification stored or carried in/out"),
    "data.tags": FactSpec("list", "tags of data stored or carried"),
    "data.names": FactSpec("list", "ids and names of data stored or carried, lower-cased (for contains_any)"),
    "data.count": FactSpec("int", "number of data assets at stake"),
    "inbound.count": FactSpec("int", "flows into it"),
    "inbound.protocols": FactSpec("list", "protocols of flows into it"),
    "inbound.authentication": FactSpec("list", "authentication of flows into it"),
    "inbound.unauthenticated": FactSpec("bool", "some flow into it has authentication none"),
    "inbound.all_unauthenticated": FactSpec("bool", "it has inbound flows and none of them carries authentication"),
    "inbound.unencrypted": FactSpec("bool", "some flow into it is unencrypted"),
    "inbound.from_types": FactSpec("list", "types of components sending to it"),
    "inbound.from_names": FactSpec(
        "list", "ids and names of the components sending to it, lower-cased (for contains_any)"),
    "inbound.device.authentication": FactSpec(
        "list", "authentication of the flows into it that come from devices (type device) only"),
    "inbound.from_trust": FactSpec("trust", "lowest trust of a zone sending to it"),
    "inbound.crossing": FactSpec("bool", "some flow into it comes from a zone of lower trust"),
    "inbound.data.tags": FactSpec("list", "tags of data carried into it"),
    "inbound.data.classification": FactSpec("classification", "highest classification carried into it"),
    "inbound.data.names": FactSpec(
        "list", "ids and names of the data carried into it, lower-cased (for contains_any: 'Uploaded photos')"),
    "outbound.count": FactSpec("int", "flows out of it"),
    "outbound.protocols": FactSpec("list", "protocols of flows out of it"),
    "outbound.to_types": FactSpec("list", "types of components it sends to"),
    "outbound.to_names": FactSpec("list", "ids and names of the components it sends to, lower-cased (for contains_any)"),
    "outbound.authentication": FactSpec("list", "authentication of flows out of it"),
    "outbound.to_trust": FactSpec("trust", "lowest trust of a zone it sends to"),
    "outbound.unencrypted": FactSpec("bool", "some flow out of it is unencrypted"),
    "outbound.crossing": FactSpec("bool", "some flow out of it goes to a zone of lower trust"),
    "outbound.data.tags": FactSpec("list", "tags of data it sends"),
    "outbound.data.classification": FactSpec("classification", "highest classification it sends"),
    "outbound.data.names": FactSpec("list", "ids and names of the data it sends, lower-cased (for contains_any)"),
}

FLOW_FACTS: dict[str, FactSpec] = {
    "id": FactSpec("str", "flow id"),
    "name": FactSpec("str", "display name (its id when unnamed), lower-cased"),
    "protocol": FactSpec("str", "protocol"),
    "encrypted": FactSpec("bool", "encrypted in transit (explicit, or from the protocol; always with mtls authentication)"),
    "authentication": FactSpec("str", "how the sender authenticates"),
    "bidirectional": FactSpec("bool", "responses carry data back"),
    "description": FactSpec("str", "free text, lower-cased"),
    "text": FactSpec("str", "its display name and description on two lines, lower-cased (for mentions_any)"),
    "data.classification": FactSpec("classification", "highest classification carried"),
    "data.tags": FactSpec("list", "tags of data carried"),
    "data.names": FactSpec("list", "ids and names of data carried, lower-cased (for contains_any)"),
    "data.count": FactSpec("int", "number of data assets carried"),
    "controls": FactSpec("list", "controls in effect on the flow (its own, its target's, baseline, implied)"),
    "crossing": FactSpec("bool", "source and target are in different zones"),
    "local_use": FactSpec(
        "bool", "a person using a client or device in front of them (an actor's flow into a browser, mobile-app or "
        "desktop-app, or into a device over protocol other): not a network hop"),
    "crossing.inbound": FactSpec("bool", "goes from lower to higher trust"),
    "crossing.outbound": FactSpec("bool", "goes from higher to lower trust"),
    "source.name": FactSpec("str", "display name of the source component, lower-cased"),
    "source.description": FactSpec("str", "free text of the source component, lower-cased"),
    "target.name": FactSpec("str", "display name of the target component, lower-cased"),
    "target.description": FactSpec("str", "free text of the target component, lower-cased"),
    **{f"source.{k}": v for k, v in _ENDPOINT_FACTS.items()},
    **{f"target.{k}": v for k, v in _ENDPOINT_FACTS.items()},
}

ZONE_FACTS: dict[str, FactSpec] = {
    "id": FactSpec("str", "zone id"),
    "trust": FactSpec("trust", "trust level"),
    "parent": FactSpec("str", "parent zone id"),
    "parent.trust": FactSpec("trust", "trust of the parent zone"),
    "components.count": FactSpec("int", "components in the zone (nested zones included)"),
    "components.direct": FactSpec("int", "components directly in the zone (not in a nested zone)"),
    "children.count": FactSpec("int", "zones nested directly inside it"),
    "components.types": FactSpec("list", "types of those components"),
    "stores.classification": FactSpec("classification", "highest classification stored in the zone"),
    "stores.tags": FactSpec("list", "tags of data stored in the zone"),
    "inbound.count": FactSpec("int", "flows entering the zone from another zone"),
    "inbound.from_trust": FactSpec("trust", "lowest trust of a zone sending into it"),
    "controls": FactSpec("list", "baseline controls applying to the zone"),
}

OPEN_PREFIXES = {
    "component": ["properties."],
    "flow": ["properties.", "source.properties.", "target.properties."],
    "zone": [],
}

TEMPLATE_VARIABLES: dict[str, frozenset[str]] = {
    "component": frozenset({
        "component.id", "component.name", "component.type", "component.tech", "zone.name",
        "data.names", "data.short", "stores.names", "callers", "callees", "inbound.protocols", "stated",
    }),
    "flow": frozenset({
        "flow.id", "flow.name", "flow.protocol", "flow.authentication", "source.name",
        "source.type", "source.tech", "source.zone.name", "target.name", "target.type",
        "target.tech", "target.zone.name", "data.names", "data.short", "stated",
    }),
    "zone": frozenset({"zone.id", "zone.name", "zone.trust", "components.names", "data.names"}),
}


def join_names(names: Iterable[str], empty: str = "") -> str:
    items = list(dict.fromkeys(names))
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    if len(items) > 6:
        return ", ".join(items[:5]) + f" and {len(items) - 5} more"
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_sorted_names(names: set[str], empty: str = "") -> str:
    """join_names(sorted(names)) without sorting a large zone's every member name: only
    the first five are shown beyond six."""
    if len(names) > 6:
        return ", ".join(heapq.nsmallest(5, names)) + f" and {len(names) - 5} more"
    return join_names(sorted(names), empty)


def short_label(asset: DataAsset) -> str:
    """'Cardholder data (PAN, expiry, CVV)' -> 'Cardholder data', for titles."""
    label = asset.label
    cut = label.find(" (")
    return label[:cut] if cut > 0 else label


def _max_class(assets: Iterable[DataAsset]) -> str | None:
    best = -1
    for a in assets:
        best = max(best, CLASSIFICATION_ORDER.index(a.classification.value))
    return CLASSIFICATION_ORDER[best] if best >= 0 else None


def _data_names(assets: Iterable[DataAsset]) -> list[str]:
    """Ids and display names of data assets, lower-cased: what a rule can match words in
    when an asset carries no tag for what it is (a 'Firmware images' asset without 'firmware')."""
    return sorted({text.lower() for d in assets for text in (d.id, d.label)})


def _component_names(components: Iterable[Component]) -> list[str]:
    """Ids and display names of components, lower-cased: what a rule can match words in
    (a 'Stripe payments API' callee, a 'webhook target')."""
    return sorted({text.lower() for c in components for text in (c.id, c.label)})


def encrypted_in_transit(f: Flow) -> bool:
    """What the `encrypted` fact reads: the declared or protocol-derived value, and true for
    any flow authenticated with mutual TLS (it runs over TLS, whatever the protocol's
    default). Flow.is_encrypted (and the drift snapshot) keep the declared/derived value."""
    return f.is_encrypted or f.authentication.value == "mtls"


# Component types that are people or the software they hold: the first hop of a request that
# starts outside the system (reach.first_hop).
CLIENT_TYPES: frozenset[str] = frozenset({"actor", "browser", "mobile-app", "desktop-app", "device"})


# What a person holds and uses directly (local_use): their browser, phone app or desktop app.
_PERSONAL_CLIENTS: frozenset[str] = frozenset({"browser", "mobile-app", "desktop-app"})


def _min_trust(levels: Iterable[str]) -> str | None:
    ranks = [TRUST_ORDER.index(t) for t in levels]
    return TRUST_ORDER[min(ranks)] if ranks else None


# Component types that pass the requests they receive on to what they call (edge and
# routing components): whoever can reach one of them reaches its targets too. A WAF is a
# control (on these or on a zone), not a component type.
PASS_THROUGH_TYPES: tuple[str, ...] = ("api-gateway", "load-balancer", "reverse-proxy", "cdn")
_PASS_BIT = {t: 1 << i for i, t in enumerate(PASS_THROUGH_TYPES)}
_CLIENT_BIT = {t: 1 << i for i, t in enumerate(sorted(CLIENT_TYPES))}
# Carried with the client-type bits: a client presents here what it got from an identity
# provider, so its users sign in there (reach.idp_sign_in). Not a client type;
# _client_types() ignores it.
_IDP_SIGN_IN_BIT = 1 << len(CLIENT_TYPES)

# Component id -> (lowest TRUST_ORDER rank from which requests reach it through its
# pass-through callers, or None; bit set of PASS_THROUGH_TYPES passed on the way; bit set of
# the client types behind them, with _IDP_SIGN_IN_BIT when a client presents on the way what
# it got from an identity provider). See reach_map().
ReachMap = dict[str, tuple["int | None", int, int]]


def reach_map(arch: Architecture) -> ReachMap:
    """What reaches each component through the pass-through components that call it, on the
    whole architecture, in one pass over its components and flows.

    A pass-through component (PASS_THROUGH_TYPES) is reached from its callers' zones, from
    the internet when marked `internet_facing: true`, and from whatever reaches its own
    pass-through callers, transitively (cycles of proxies included: a least fixed point,
    each component settled once at the lowest trust that reaches it). Only components with
    at least one pass-through caller are listed; the reach.* facts of a component add its
    own callers' zones and internet_facing property (ArchitectureView.component).

    The facts of part of an architecture (drift.rerun) read this map of the whole one: a
    chain of proxies runs beyond any part's edge.

    A client that exchanges data with an `identity-provider` (the tokens or assertions it
    gets there) and carries some of that data on a flow to another component signs in there
    for that component (reach.idp_sign_in): the bit travels from that flow's target through
    the pass-through components it forwards to. Components only such a flow reaches are
    listed too, with that bit only, so that the fact reads the whole architecture as well:
    the client's flow to the identity provider may lie outside the part.
    """
    kinds: dict[str, str] = {}
    rank: dict[str, int | None] = {}
    zone_rank = {z.id: TRUST_ORDER.index(z.trust.value) for z in arch.zones}
    comp_rank: dict[str, int] = {}
    client_bit: dict[str, int] = {}
    idps: set[str] = set()
    for c in arch.components:
        comp_rank[c.id] = zone_rank.get(c.zone, len(TRUST_ORDER))
        t = c.type.value
        if t in _CLIENT_BIT:
            client_bit[c.id] = _CLIENT_BIT[t]
        elif t == "identity-provider":
            idps.add(c.id)
        if t in _PASS_BIT:
            kinds[c.id] = t
            rank[c.id] = 0 if c.properties.get("internet_facing") else None
    # What each client exchanges with identity providers (the tokens or assertions it gets
    # there), and the flows on which it presents them to something else.
    idp_data: dict[str, set[str]] = {}
    if idps:
        for f in arch.flows:
            if f.source in client_bit and f.target in idps:
                idp_data.setdefault(f.source, set()).update(f.data)
            elif f.target in client_bit and f.source in idps:
                idp_data.setdefault(f.target, set()).update(f.data)
    presented = [f for f in arch.flows if f.target not in idps and idp_data.get(f.source, set()).intersection(f.data)]
    if not kinds and not presented:
        return {}
    feeds: dict[str, list[str]] = {}
    clients: dict[str, int] = {}  # client types calling each pass-through component directly
    for f in arch.flows:
        src, dst = f.source, f.target
        if dst in kinds:
            r, own = comp_rank.get(src, len(TRUST_ORDER)), rank[dst]
            if r < len(TRUST_ORDER) and (own is None or r < own):
                rank[dst] = r
            if src in client_bit:
                clients[dst] = clients.get(dst, 0) | client_bit[src]
        if src in kinds:
            feeds.setdefault(src, []).append(dst)
    for f in presented:
        if f.target in kinds:
            clients[f.target] = clients.get(f.target, 0) | _IDP_SIGN_IN_BIT
    # Lowest trust reaching each pass-through component: settled level by level (4 levels),
    # each pushed at most once per level, so linear in pass-through components and flows.
    buckets: list[list[str]] = [[] for _ in TRUST_ORDER]
    for cid, r in rank.items():
        if r is not None and cid in feeds:
            buckets[r].append(cid)
    for level, stack in enumerate(buckets):
        while stack:
            cid = stack.pop()
            if rank[cid] != level:
                continue
            for t in feeds.get(cid, ()):
                if t in kinds:
                    r = rank[t]
                    if r is None or r > level:
                        rank[t] = level
                        if t in feeds:
                            stack.append(t)
    # Types passed on the way to each pass-through component, and the client types behind
    # them: bit sets that only grow (at most len(PASS_THROUGH_TYPES) + len(CLIENT_TYPES)
    # times each).
    upstream: dict[str, int] = {}
    work = list(feeds)
    while work:
        cid = work.pop()
        passed = _PASS_BIT[kinds[cid]] | upstream.get(cid, 0)
        behind = clients.get(cid, 0)
        for t in feeds[cid]:
            if t in kinds:
                old, old_behind = upstream.get(t, 0), clients.get(t, 0)
                if old | passed != old or old_behind | behind != old_behind:
                    upstream[t] = old | passed
                    clients[t] = old_behind | behind
                    if t in feeds:
                        work.append(t)
    out: ReachMap = {}
    # The components clients present what they got from an identity provider to directly
    # (beyond pass-through ones the bit travels in `clients` above).
    for f in presented:
        found = out.get(f.target)
        out[f.target] = (None, 0, _IDP_SIGN_IN_BIT) if found is None else (
            found[0], found[1], found[2] | _IDP_SIGN_IN_BIT)
    for cid, targets in feeds.items():
        r, passed, behind = rank[cid], _PASS_BIT[kinds[cid]] | upstream.get(cid, 0), clients.get(cid, 0)
        for t in targets:
            found = out.get(t)
            if found is None:
                out[t] = (r, passed, behind)
            else:
                lowest = found[0] if r is None else r if found[0] is None else min(r, found[0])
                out[t] = (lowest, found[1] | passed, found[2] | behind)
    return out


def _passed_types(bits: int) -> list[str]:
    return [t for t in sorted(PASS_THROUGH_TYPES) if bits & _PASS_BIT[t]]


def _client_types(bits: int) -> list[str]:
    return [t for t in sorted(CLIENT_TYPES) if bits & _CLIENT_BIT[t]]


@dataclass
class AppliedControl:
    """A control in effect on an element, and why it counts as present."""

    control: str
    via: str  # "declared" | "flow" | "baseline" | "implied" | "target"
    note: str = ""


@dataclass
class ElementFacts:
    kind: str
    id: str
    facts: dict[str, Any]
    variables: dict[str, str]
    data: list[str]
    controls: dict[str, AppliedControl] = field(default_factory=dict)
    elements: list[str] = field(default_factory=list)
    # What the engine derives from these facts for more than one rule (e.g. the
    # exposure factors of likelihood), computed once per element. Not part of its value.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class _ZoneIndex:
    members: dict[str, list[Component]] = field(default_factory=dict)  # nested zones included
    entering: dict[str, int] = field(default_factory=dict)  # how many flows come from outside into a member
    # lowest TRUST_ORDER rank among the zones those flows come from (the inbound.from_trust fact)
    entering_trust: dict[str, int] = field(default_factory=dict)
    children: dict[str, int] = field(default_factory=dict)  # zones nested directly inside
    direct: dict[str, int] = field(default_factory=dict)  # members not in a nested zone
    types: dict[str, set[str]] = field(default_factory=dict)  # component types of the members
    # the data the members store, in the order the members list it (first mention wins)
    stored: dict[str, dict[str, DataAsset]] = field(default_factory=dict)


@dataclass
class _SelectorIndex:
    """Components and flows by the values baseline selectors name (see _selector_hits)."""

    components_in_zone: dict[str, set[str]] = field(default_factory=dict)  # nested zones included
    components_of_type: dict[Any, set[str]] = field(default_factory=dict)
    components_storing_tag: dict[str, set[str]] = field(default_factory=dict)
    flows_touching_zone: dict[str, set[str]] = field(default_factory=dict)  # either end inside
    flows_to_type: dict[Any, set[str]] = field(default_factory=dict)  # by the target's type
    flows_of_component: dict[str, set[str]] = field(default_factory=dict)  # either end
    flows_carrying_tag: dict[str, set[str]] = field(default_factory=dict)
    _components: set[str] | None = None
    _flows: set[str] | None = None

    def all_components(self, view: ArchitectureView) -> set[str]:
        if self._components is None:
            self._components = {c.id for c in view.arch.components}
        return self._components

    def all_flows(self, view: ArchitectureView) -> set[str]:
        if self._flows is None:
            self._flows = {f.id for f in view.arch.flows}
        return self._flows


def _intersect(picks: list[set[str] | None], everything: set[str]) -> set[str]:
    """What every given pick contains (None: that selector key is not set)."""
    chosen = [p for p in picks if p is not None]
    if not chosen:
        return set(everything)
    chosen.sort(key=len)
    return set(chosen[0]).intersection(*chosen[1:])


class ArchitectureView:
    """Indexes an architecture and derives facts; built once per draft."""

    def __init__(self, arch: Architecture, implied: dict[str, dict[str, Any]], aliases: dict[str, str],
                 reach: ReachMap | None = None, baseline_per_element: bool = False):
        """`reach`: reach_map() of the whole architecture when `arch` is only part of it
        (drift.rerun); computed from `arch` on first use otherwise. `baseline_per_element`:
        match the baseline selectors against each element when its facts are asked for,
        rather than index every element first (for views of which few elements are used)."""
        self.arch = arch
        self._reach = reach
        self.aliases = aliases
        self.zones: dict[str, Zone] = {z.id: z for z in arch.zones}
        self.components: dict[str, Component] = {c.id: c for c in arch.components}
        self.data: dict[str, DataAsset] = {d.id: d for d in arch.data}
        self.flows_by_id: dict[str, Flow] = {f.id: f for f in arch.flows}
        self.inbound: dict[str, list[Flow]] = {c.id: [] for c in arch.components}
        self.outbound: dict[str, list[Flow]] = {c.id: [] for c in arch.components}
        for f in arch.flows:
            self.outbound[f.source].append(f)
            self.inbound[f.target].append(f)
        self._implied = implied
        self._ancestors: dict[str, list[str]] = {z: self._chain(z) for z in self.zones}
        self._baseline_per_element = baseline_per_element
        if baseline_per_element:
            self._baseline_components, self._baseline_flows, self._baseline_zones = {}, {}, {}
        else:
            self._baseline_components, self._baseline_flows, self._baseline_zones = self._match_baseline()
        self._component_facts: dict[str, ElementFacts] = {}
        self._flow_controls: dict[str, set[str]] = {}
        self._zone_index: _ZoneIndex | None = None

    # ------------------------------------------------------------ helpers
    def element_text(self, kind: str, element_id: str) -> str:
        """What the architecture says about a component or flow in words, as written: the
        `text` fact before lower-casing, and what a {stated} quote is cut from."""
        if kind == "component":
            c = self.components[element_id]
            return f"{c.label}\n{c.tech}\n{c.description}"
        if kind == "flow":
            f = self.flows_by_id[element_id]
            return f"{f.label}\n{f.description}"
        return ""

    def canonical(self, control: str) -> str:
        return self.aliases.get(control, control)

    def _chain(self, zone_id: str) -> list[str]:
        out, cur = [], zone_id
        while cur is not None and cur in self.zones and cur not in out:
            out.append(cur)
            cur = self.zones[cur].parent
        return out

    def zone_label(self, zone_id: str) -> str:
        z = self.zones.get(zone_id)
        return z.label if z else zone_id

    def trust(self, zone_id: str) -> str:
        return self.zones[zone_id].trust.value

    def reach(self) -> ReachMap:
        if self._reach is None:
            self._reach = reach_map(self.arch)
        return self._reach

    def _selector_index(self) -> _SelectorIndex:
        """Which components and flows each selector value picks, built in one pass, so that
        each baseline control costs the size of its answer rather than a pass over the
        whole architecture."""
        index = _SelectorIndex()
        zones_of: dict[str, list[str]] = {}
        for c in self.arch.components:
            zones_of[c.id] = self._ancestors.get(c.zone, [])
            for z in zones_of[c.id]:
                index.components_in_zone.setdefault(z, set()).add(c.id)
            index.components_of_type.setdefault(c.type, set()).add(c.id)
            for d in c.stores:
                if d in self.data:
                    for tag in self.data[d].tags:
                        index.components_storing_tag.setdefault(tag, set()).add(c.id)
        for f in self.arch.flows:
            for e in (f.source, f.target):
                for z in zones_of.get(e) or self._ancestors.get(self.components[e].zone, []):
                    index.flows_touching_zone.setdefault(z, set()).add(f.id)
                index.flows_of_component.setdefault(e, set()).add(f.id)
            index.flows_to_type.setdefault(self.components[f.target].type, set()).add(f.id)
            for d in f.data:
                if d in self.data:
                    for tag in self.data[d].tags:
                        index.flows_carrying_tag.setdefault(tag, set()).add(f.id)
        return index

    def _selector_hits(self, b: BaselineControl, index: _SelectorIndex) -> tuple[set[str], set[str], set[str]]:
        sel = b.applies_to
        comps: set[str] = set()
        if sel.flow is None:
            picks = [index.components_in_zone.get(sel.zone, set()) if sel.zone is not None else None,
                     index.components_of_type.get(sel.type, set()) if sel.type is not None else None,
                     ({sel.component} & index.all_components(self)) if sel.component is not None else None,
                     index.components_storing_tag.get(sel.tag, set()) if sel.tag is not None else None]
            comps = _intersect(picks, index.all_components(self))
        flow_picks = [({sel.flow} & index.all_flows(self)) if sel.flow is not None else None,
                      index.flows_touching_zone.get(sel.zone, set()) if sel.zone is not None else None,
                      index.flows_to_type.get(sel.type, set()) if sel.type is not None else None,
                      index.flows_of_component.get(sel.component, set()) if sel.component is not None else None,
                      index.flows_carrying_tag.get(sel.tag, set()) if sel.tag is not None else None]
        flows = _intersect(flow_picks, index.all_flows(self))
        zones: set[str] = set()
        if sel.component is None and sel.flow is None and sel.type is None and sel.tag is None:
            zones = {z for z in self.zones if sel.zone is None or sel.zone in self._ancestors[z]}
        return comps, flows, zones

    def _match_baseline(self) -> tuple[dict[str, list[BaselineControl]], ...]:
        comps: dict[str, list[BaselineControl]] = {}
        flows: dict[str, list[BaselineControl]] = {}
        zones: dict[str, list[BaselineControl]] = {}
        index = self._selector_index() if self.arch.baseline else _SelectorIndex()
        for b in self.arch.baseline:
            c_hits, f_hits, z_hits = self._selector_hits(b, index)
            for cid in c_hits:
                comps.setdefault(cid, []).append(b)
            for fid in f_hits:
                flows.setdefault(fid, []).append(b)
            for zid in z_hits:
                zones.setdefault(zid, []).append(b)
        return comps, flows, zones

    # The baseline controls whose selectors pick one element: what _selector_hits gives,
    # decided for that element alone (baseline_per_element) or read from _match_baseline.
    def _baseline_of_component(self, cid: str) -> list[BaselineControl]:
        if not self._baseline_per_element:
            return self._baseline_components.get(cid, [])
        found = self._baseline_components.get(cid)
        if found is None:
            c = self.components[cid]
            ancestors = self._ancestors.get(c.zone, [])
            tags = {t for d in c.stores if d in self.data for t in self.data[d].tags}
            found = self._baseline_components[cid] = [
                b for b in self.arch.baseline
                if b.applies_to.flow is None
                and (b.applies_to.zone is None or b.applies_to.zone in ancestors)
                and (b.applies_to.type is None or b.applies_to.type == c.type)
                and (b.applies_to.component is None or b.applies_to.component == cid)
                and (b.applies_to.tag is None or b.applies_to.tag in tags)
            ]
        return found

    def _baseline_of_flow(self, f: Flow) -> list[BaselineControl]:
        if not self._baseline_per_element:
            return self._baseline_flows.get(f.id, [])
        found = self._baseline_flows.get(f.id)
        if found is None:
            ends = (f.source, f.target)
            zones = {z for e in ends for z in self._ancestors.get(self.components[e].zone, [])}
            tags = {t for d in f.data if d in self.data for t in self.data[d].tags}
            target_type = self.components[f.target].type
            found = self._baseline_flows[f.id] = [
                b for b in self.arch.baseline
                if (b.applies_to.flow is None or b.applies_to.flow == f.id)
                and (b.applies_to.zone is None or b.applies_to.zone in zones)
                and (b.applies_to.type is None or b.applies_to.type == target_type)
                and (b.applies_to.component is None or b.applies_to.component in ends)
                and (b.applies_to.tag is None or b.applies_to.tag in tags)
            ]
        return found

    def _baseline_of_zone(self, zid: str) -> list[BaselineControl]:
        if not self._baseline_per_element:
            return self._baseline_zones.get(zid, [])
        found = self._baseline_zones.get(zid)
        if found is None:
            found = self._baseline_zones[zid] = [
                b for b in self.arch.baseline
                if b.applies_to.component is None and b.applies_to.flow is None
                and b.applies_to.type is None and b.applies_to.tag is None
                and (b.applies_to.zone is None or b.applies_to.zone in self._ancestors[zid])
            ]
        return found

    def _apply_implied(self, kind: str, facts: dict[str, Any], controls: dict[str, AppliedControl]) -> None:
        for control_id, by_kind in self._implied.items():
            pred = by_kind.get(kind)
            if pred is not None and control_id not in controls and pred(facts):
                controls[control_id] = AppliedControl(control_id, "implied", _implied_note(kind, control_id, facts))

    def _flow_own_controls(self, f: Flow) -> set[str]:
        """Controls of the flow itself (declared, baseline, implied by its own facts)."""
        cached = self._flow_controls.get(f.id)
        if cached is None:
            found = {self.canonical(k) for k in f.controls}
            found |= {self.canonical(b.control) for b in self._baseline_of_flow(f)}
            own = {"protocol": f.protocol.value, "encrypted": encrypted_in_transit(f),
                   "authentication": f.authentication.value}
            for control_id, by_kind in self._implied.items():
                pred = by_kind.get("flow")
                if pred is not None and pred(own):
                    found.add(control_id)
            cached = self._flow_controls[f.id] = found
        return cached

    # ------------------------------------------------------------ components
    def component(self, cid: str) -> ElementFacts:
        cached = self._component_facts.get(cid)
        if cached is not None:
            return cached
        c = self.components[cid]
        zone = self.zones[c.zone]
        inbound, outbound = self.inbound[cid], self.outbound[cid]
        stored = [self.data[d] for d in c.stores if d in self.data]
        in_data = [self.data[d] for f in inbound for d in f.data if d in self.data]
        out_data = [self.data[d] for f in outbound for d in f.data if d in self.data]
        at_stake = list({d.id: d for d in [*stored, *in_data, *out_data]}.values())
        sources = [self.components[f.source] for f in inbound]
        in_trusts = [self.trust(s.zone) for s in sources]
        own = zone.trust.value
        from_trust = _min_trust(in_trusts)
        exposure = _min_trust([own, *in_trusts])
        props = c.properties
        internet = props.get("internet_facing")
        if internet is None:
            internet = "untrusted" in in_trusts
        reach_rank = TRUST_ORDER.index(from_trust) if from_trust is not None else None
        if props.get("internet_facing"):
            reach_rank = 0
        passed = 0
        behind = 0
        for caller in sources:
            behind |= _CLIENT_BIT.get(caller.type.value, 0)
        through = self.reach().get(cid)
        if through is not None:
            upstream, passed, via_clients = through
            behind |= via_clients
            if upstream is not None and (reach_rank is None or upstream < reach_rank):
                reach_rank = upstream
        facts: dict[str, Any] = {
            "id": c.id,
            "name": c.label.lower(),
            "type": c.type.value,
            "tech": c.tech.lower(),
            "description": c.description.lower(),
            "text": self.element_text("component", cid).lower(),
            "zone.id": zone.id,
            "zone.trust": own,
            "zone.parent": zone.parent,
            "internet_facing": bool(internet),
            "exposure": exposure,
            "reach.from_trust": TRUST_ORDER[reach_rank] if reach_rank is not None else None,
            "reach.via": _passed_types(passed) if passed else [],
            "reach.client_types": _client_types(behind) if behind else [],
            "reach.first_hop": any(s.type.value in CLIENT_TYPES for s in sources) or "untrusted" in in_trusts,
            "reach.idp_sign_in": bool(behind & _IDP_SIGN_IN_BIT),
            "stores.classification": _max_class(stored),
            "stores.tags": sorted({t for d in stored for t in d.tags}),
            "stores.count": len(stored),
            "data.classification": _max_class(at_stake),
            "data.tags": sorted({t for d in at_stake for t in d.tags}),
            "data.names": _data_names(at_stake),
            "data.count": len(at_stake),
            "inbound.count": len(inbound),
            "inbound.protocols": sorted({f.protocol.value for f in inbound}),
            "inbound.authentication": sorted({f.authentication.value for f in inbound}),
            "inbound.unauthenticated": any(f.authentication.value == "none" for f in inbound),
            "inbound.all_unauthenticated": bool(inbound) and all(f.authentication.value == "none" for f in inbound),
            "inbound.unencrypted": any(not encrypted_in_transit(f) for f in inbound),
            "inbound.from_types": sorted({s.type.value for s in sources}),
            "inbound.from_names": _component_names(sources),
            "inbound.device.authentication": sorted(
                {f.authentication.value for f, s in zip(inbound, sources, strict=True) if s.type.value == "device"}),
            "inbound.from_trust": from_trust,
            "inbound.crossing": any(TRUST_ORDER.index(t) < TRUST_ORDER.index(own) for t in in_trusts),
            "inbound.data.tags": sorted({t for d in in_data for t in d.tags}),
            "inbound.data.classification": _max_class(in_data),
            "inbound.data.names": _data_names(in_data),
            "outbound.count": len(outbound),
            "outbound.protocols": sorted({f.protocol.value for f in outbound}),
            "outbound.to_types": sorted({self.components[f.target].type.value for f in outbound}),
            "outbound.to_names": _component_names(self.components[f.target] for f in outbound),
            "outbound.authentication": sorted({f.authentication.value for f in outbound}),
            "outbound.to_trust": _min_trust(self.trust(self.components[f.target].zone) for f in outbound),
            "outbound.unencrypted": any(not encrypted_in_transit(f) for f in outbound),
            "outbound.crossing": any(
                TRUST_ORDER.index(self.trust(self.components[f.target].zone)) < TRUST_ORDER.index(own)
                for f in outbound
            ),
            "outbound.data.tags": sorted({t for d in out_data for t in d.tags}),
            "outbound.data.classification": _max_class(out_data),
            "outbound.data.names": _data_names(out_data),
        }
        for key, value in props.items():
            facts[f"properties.{key}"] = value
        controls: dict[str, AppliedControl] = {}
        for k in c.controls:
            controls.setdefault(self.canonical(k), AppliedControl(self.canonical(k), "declared"))
        for b in self._baseline_of_component(cid):
            k = self.canonical(b.control)
            controls.setdefault(k, AppliedControl(k, "baseline", b.note))
        if inbound:
            # A control on every flow into the component (declared, baseline or implied,
            # e.g. every caller authenticates) protects the component too.
            shared = set.intersection(*(self._flow_own_controls(f) for f in inbound))
            for k in sorted(shared):
                controls.setdefault(k, AppliedControl(k, "flow", "on every inbound flow"))
        self._apply_implied("component", facts, controls)
        facts["controls"] = sorted(controls)
        variables = {
            "component.id": c.id,
            "component.name": c.label,
            "component.type": c.type.value,
            "component.tech": c.tech or c.type.value,
            "zone.name": zone.label,
            "data.names": join_names(sorted(d.label for d in at_stake), "its data"),
            "data.short": join_names(sorted(short_label(d) for d in at_stake), "its data"),
            "stores.names": join_names(sorted(d.label for d in stored), "its data"),
            "callers": join_names(sorted({self.components[f.source].label for f in inbound}), "its callers"),
            "callees": join_names(sorted({self.components[f.target].label for f in outbound}), "its dependencies"),
            "inbound.protocols": join_names(facts["inbound.protocols"], "its interfaces"),
        }
        result = ElementFacts("component", cid, facts, variables, [d.id for d in at_stake], controls, [cid])
        self._component_facts[cid] = result
        return result

    # ------------------------------------------------------------ flows
    def flow(self, f: Flow) -> ElementFacts:
        src, dst = self.components[f.source], self.components[f.target]
        sf, tf = self.component(src.id), self.component(dst.id)
        carried = [self.data[d] for d in f.data if d in self.data]
        s_trust, t_trust = TRUST_ORDER.index(self.trust(src.zone)), TRUST_ORDER.index(self.trust(dst.zone))
        facts: dict[str, Any] = {
            "id": f.id,
            "name": f.label.lower(),
            "protocol": f.protocol.value,
            "encrypted": encrypted_in_transit(f),
            "authentication": f.authentication.value,
            "bidirectional": f.bidirectional,
            "description": f.description.lower(),
            "text": self.element_text("flow", f.id).lower(),
            "data.classification": _max_class(carried),
            "data.tags": sorted({t for d in carried for t in d.tags}),
            "data.names": _data_names(carried),
            "data.count": len(carried),
            "crossing": src.zone != dst.zone,
            "local_use": src.type.value == "actor" and (
                dst.type.value in _PERSONAL_CLIENTS or (dst.type.value == "device" and f.protocol.value == "other")),
            "crossing.inbound": s_trust < t_trust,
            "crossing.outbound": s_trust > t_trust,
            "source.name": src.label.lower(),
            "source.description": src.description.lower(),
            "target.name": dst.label.lower(),
            "target.description": dst.description.lower(),
        }
        for prefix, ef, keys in (("source", sf, _SOURCE_KEYS), ("target", tf, _TARGET_KEYS)):
            endpoint = ef.facts
            for key, prefixed in keys:
                facts[prefixed] = endpoint[key]
            for key, value in self.components[ef.id].properties.items():
                facts[f"{prefix}.properties.{key}"] = value
        extra = getattr(f, "model_extra", None) or {}
        for key, value in (extra.get("properties") or {}).items():
            facts[f"properties.{key}"] = value
        controls: dict[str, AppliedControl] = {}
        for k in f.controls:
            controls.setdefault(self.canonical(k), AppliedControl(self.canonical(k), "declared"))
        for b in self._baseline_of_flow(f):
            k = self.canonical(b.control)
            controls.setdefault(k, AppliedControl(k, "baseline", b.note))
        self._apply_implied("flow", facts, controls)
        for k in self.components[dst.id].controls:
            k = self.canonical(k)
            controls.setdefault(k, AppliedControl(k, "target", f"on {dst.label}"))
        facts["controls"] = sorted(controls)
        variables = {
            "flow.id": f.id,
            "flow.name": f.label,
            "flow.protocol": f.protocol.value.upper() if len(f.protocol.value) <= 5 else f.protocol.value,
            "flow.authentication": f.authentication.value,
            "source.name": src.label,
            "source.type": src.type.value,
            "source.tech": src.tech or src.type.value,
            "source.zone.name": self.zone_label(src.zone),
            "target.name": dst.label,
            "target.type": dst.type.value,
            "target.tech": dst.tech or dst.type.value,
            "target.zone.name": self.zone_label(dst.zone),
            "data.names": join_names(sorted(d.label for d in carried), "its payload"),
            "data.short": join_names(sorted(short_label(d) for d in carried), "its payload"),
        }
        return ElementFacts("flow", f.id, facts, variables, [d.id for d in carried], controls, [f.source, f.id, f.target])

    # ------------------------------------------------------------ zones
    def _zones_indexed(self) -> _ZoneIndex:
        """Members, entering flows and child counts of every zone, from one pass over
        the architecture (scanning it once per zone grows with zones x elements).
        Built from self.arch on first use; lists keep the architecture's order."""
        if self._zone_index is None:
            index = _ZoneIndex()
            data = self.data
            for c in self.arch.components:
                ctype = c.type.value
                own = [data[d] for d in c.stores if d in data]
                for zid in self._ancestors.get(c.zone, []):
                    index.members.setdefault(zid, []).append(c)
                    index.types.setdefault(zid, set()).add(ctype)
                    if own:
                        held = index.stored.setdefault(zid, {})
                        for asset in own:
                            held.setdefault(asset.id, asset)
                index.direct[c.zone] = index.direct.get(c.zone, 0) + 1
            rank = {z.id: TRUST_ORDER.index(z.trust.value) for z in self.arch.zones}
            lowest = index.entering_trust
            # Which zones a flow enters depends on the zones of its two ends only: counted
            # per pair of zones, of which there are far fewer than flows.
            zone_of = {c.id: c.zone for c in self.arch.components}
            pairs = Counter((zone_of.get(f.source), zone_of.get(f.target)) for f in self.arch.flows)
            for (source_zone, target_zone), count in pairs.items():
                source_zones = self._ancestors.get(source_zone, []) if source_zone is not None else []
                source_rank = rank.get(source_zone) if source_zone is not None else None
                for zid in self._ancestors.get(target_zone, []) if target_zone is not None else []:
                    if zid not in source_zones:
                        index.entering[zid] = index.entering.get(zid, 0) + count
                        if source_rank is not None and source_rank < lowest.get(zid, len(TRUST_ORDER)):
                            lowest[zid] = source_rank
            for other in self.arch.zones:
                if other.parent is not None:
                    index.children[other.parent] = index.children.get(other.parent, 0) + 1
            self._zone_index = index
        return self._zone_index

    def zone(self, z: Zone) -> ElementFacts:
        index = self._zones_indexed()
        members = index.members.get(z.id, [])
        stored = list(index.stored.get(z.id, {}).values())
        parent = self.zones.get(z.parent) if z.parent else None
        facts: dict[str, Any] = {
            "id": z.id,
            "trust": z.trust.value,
            "parent": z.parent,
            "parent.trust": parent.trust.value if parent else None,
            "components.count": len(members),
            "components.direct": index.direct.get(z.id, 0),
            "children.count": index.children.get(z.id, 0),
            "components.types": sorted(index.types.get(z.id, ())),
            "stores.classification": _max_class(stored),
            "stores.tags": sorted({t for d in stored for t in d.tags}),
            "inbound.count": index.entering.get(z.id, 0),
            "inbound.from_trust": TRUST_ORDER[index.entering_trust[z.id]] if z.id in index.entering_trust else None,
        }
        controls: dict[str, AppliedControl] = {}
        for b in self._baseline_of_zone(z.id):
            k = self.canonical(b.control)
            controls.setdefault(k, AppliedControl(k, "baseline", b.note))
        self._apply_implied("zone", facts, controls)
        facts["controls"] = sorted(controls)
        variables = {
            "zone.id": z.id,
            "zone.name": z.label,
            "zone.trust": z.trust.value,
            "components.names": join_sorted_names({c.label for c in members}, "no components"),
            "data.names": join_names(sorted(d.label for d in stored), "its data"),
        }
        return ElementFacts("zone", z.id, facts, variables, [d.id for d in stored], controls, [z.id])


def _implied_note(kind: str, control: str, facts: dict[str, Any]) -> str:
    if kind == "flow":
        if control in ("tls", "mtls") and facts.get("protocol") in ("https", "tls", "mtls", "ssh", "sftp"):
            return f"implied by protocol {facts['protocol']}"
        if facts.get("authentication") not in (None, "none"):
            return f"implied by {facts.get('protocol')} with {facts['authentication']} authentication"
        return "implied by the flow's declared facts"
    return "implied by the element's properties"
