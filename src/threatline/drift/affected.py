"""Which elements of the new architecture a change can touch, and why.

The engine's facts about an element read its neighbours (a component's callers' zones,
a flow's endpoints' exposure and controls, a zone's members), so a change reaches
further than the element it is on; what reaches a component through gateways, load
balancers, proxies and CDNs (reach.*) runs on through every chain of them. Re-running the rules on the elements found here
gives exactly the threats the change can add, remove or alter; everything else keeps
its threats. A change to the baseline or to an organisation control can reach
anything, so it selects every element.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from threatline.drift.diff import ADDED, REMOVED, RENAMED, Change
from threatline.engine.facts import CLIENT_TYPES, PASS_THROUGH_TYPES
from threatline.model.architecture import CLASSIFICATION_ORDER, TRUST_ORDER, Architecture


@dataclass
class Affected:
    # id -> keys of the changes that reach it, weightiest first
    components: dict[str, list[str]] = field(default_factory=dict)
    flows: dict[str, list[str]] = field(default_factory=dict)
    zones: dict[str, list[str]] = field(default_factory=dict)
    everything: bool = False

    def targets(self) -> set[str]:
        return set(self.components) | set(self.flows) | set(self.zones)

    def causes(self, element: str) -> list[str]:
        return self.components.get(element) or self.flows.get(element) or self.zones.get(element) or []


def _mark(where: dict[str, list[str]], ident: str, cause: str) -> None:
    keys = where.setdefault(ident, [])
    if cause not in keys:
        keys.append(cause)


class Weights:
    """How much a change matters by its kind and exposure: a new crossing from an untrusted
    zone into restricted data weighs more than a new flow inside one zone."""

    def __init__(self, arch: Architecture):
        self.zones = {z.id: TRUST_ORDER.index(z.trust.value) for z in arch.zones}
        self.comp_zone = {c.id: c.zone for c in arch.components}
        self.classes = {d.id: CLASSIFICATION_ORDER.index(d.classification.value) for d in arch.data}
        self._cache: dict[str, float] = {}

    def of(self, change: Change) -> float:
        found = self._cache.get(change.key)
        if found is None:
            found = self._cache[change.key] = round(self._weigh(change), 3)
        return found

    def _top_class(self, ids: Iterable[str]) -> int:
        return max((self.classes.get(d, 0) for d in ids), default=0)

    def _weigh(self, change: Change) -> float:
        weight = {ADDED: 1.5, "changed": 1.2, REMOVED: 1.0, RENAMED: 0.6}[change.kind]
        after, before = change.after or {}, change.before or {}
        zones = self.zones
        if change.element == "flow" and change.kind != REMOVED:
            src = zones.get(self.comp_zone.get(after.get("from", ""), ""), 2)
            dst = zones.get(self.comp_zone.get(after.get("to", ""), ""), 2)
            if dst > src:
                weight *= 1 + 0.5 * (dst - src)  # untrusted -> restricted: x2.5
            weight *= (0.8, 1.0, 1.25, 1.5)[self._top_class(after.get("data", []))]
            if before.get("encrypted") and not after.get("encrypted"):
                weight *= 1.5
        elif change.element == "component" and change.kind != REMOVED:
            own = zones.get(after.get("zone", ""), 2)
            if before.get("zone") in zones:
                drop = zones[before["zone"]] - own
                if drop > 0:
                    weight *= 1 + 0.5 * drop
            if own == 0 or (after.get("properties") or {}).get("internet_facing"):
                weight *= 2.0
            weight *= (0.8, 1.0, 1.25, 1.5)[self._top_class(after.get("stores", []))]
        elif change.element == "zone" and change.kind == "changed":
            if "trust" in before and "trust" in after:
                drop = TRUST_ORDER.index(before["trust"]) - TRUST_ORDER.index(after["trust"])
                weight *= 1 + 0.5 * drop if drop > 0 else 0.8
        elif change.element == "data" and change.kind == "changed":
            if "classification" in before and "classification" in after:
                rise = (CLASSIFICATION_ORDER.index(after["classification"])
                        - CLASSIFICATION_ORDER.index(before["classification"]))
                weight *= 1 + 0.25 * rise if rise > 0 else 0.8
        elif change.element in ("baseline", "control") and change.kind == REMOVED:
            weight *= 1.2
        return weight


class _Index:
    """Adjacency of the new architecture, built once."""

    def __init__(self, arch: Architecture):
        self.arch = arch
        self.components = {c.id: c for c in arch.components}
        self.flows = {f.id: f for f in arch.flows}
        self.zones = {z.id: z for z in arch.zones}
        self.flows_of: dict[str, list[str]] = {c: [] for c in self.components}
        for f in arch.flows:
            self.flows_of.setdefault(f.source, []).append(f.id)
            self.flows_of.setdefault(f.target, []).append(f.id)
        self._members: dict[str, list[str]] | None = None

    def ancestors(self, zone: str | None) -> list[str]:
        out: list[str] = []
        while zone is not None and zone in self.zones and zone not in out:
            out.append(zone)
            zone = self.zones[zone].parent
        return out

    def callees(self, cid: str) -> Iterable[str]:
        for fid in self.flows_of.get(cid, []):
            f = self.flows[fid]
            if f.source == cid:
                yield f.target

    def passes_on(self, cid: str) -> bool:
        """A pass-through component (gateway, load balancer, proxy, CDN): what reaches it
        reaches its callees (the reach.* facts)."""
        c = self.components.get(cid)
        return c is not None and c.type.value in PASS_THROUGH_TYPES

    def is_client(self, cid: str | None) -> bool:
        c = self.components.get(cid) if cid is not None else None
        return c is not None and c.type.value in CLIENT_TYPES

    def neighbours(self, cid: str) -> Iterable[str]:
        for fid in self.flows_of.get(cid, []):
            f = self.flows[fid]
            yield f.target if f.source == cid else f.source

    def members(self, zone: str) -> list[str]:
        """Components in the zone or any zone nested in it."""
        if self._members is None:
            self._members = {}
            for c in self.arch.components:
                for z in self.ancestors(c.zone):
                    self._members.setdefault(z, []).append(c.id)
        return self._members.get(zone, [])

    def children(self, zone: str) -> list[str]:
        return [z.id for z in self.arch.zones if z.parent == zone]


def affected(changes: list[Change], arch: Architecture, weights: Weights | None = None) -> Affected:
    """The components, flows and zones whose threats a set of changes can alter; each is
    attributed to the weightiest change that reaches it."""
    out = Affected()
    if not changes:
        return out
    ix = _Index(arch)
    weights = weights or Weights(arch)
    weighted = sorted(changes, key=lambda c: (-weights.of(c), c.key))
    if any(c.element in ("baseline", "control") for c in changes):
        causes = [c.key for c in weighted if c.element in ("baseline", "control")]
        out.everything = True
        out.components = {i: list(causes) for i in ix.components}
        out.flows = {i: list(causes) for i in ix.flows}
        out.zones = {i: list(causes) for i in ix.zones}
        return out

    seeds: dict[str, list[str]] = {}  # components whose own facts changed -> causes
    # Components whose zone or type changed: their callers and callees read those.
    spread: dict[str, list[str]] = {}
    # Components whose endpoint facts (type, zone, exposure, controls, stored data: what a
    # flow reads of its source and target) may have changed: every flow touching them.
    endpoints: set[str] = set()

    # Components whose reach.* facts (what reaches them through pass-through components) may
    # have changed: the change reaches on through every chain of pass-through components.
    reach: dict[str, list[str]] = {}
    # Trust of zones as the snapshot had it (a zone's trust read by a component that left it).
    old_trust = {ch.id: (ch.before or {})["trust"] for ch in changes
                 if ch.element == "zone" and "trust" in (ch.before or {})}

    def trust_was(zid: str | None) -> str | None:
        if zid in old_trust:
            return old_trust[zid]
        z = ix.zones.get(zid) if zid is not None else None
        return z.trust.value if z is not None else None

    def reached(cid: str | None, cause: str) -> None:
        if cid is not None and cid in ix.components:
            _mark(reach, cid, cause)

    def comp(cid: str | None, cause: str, reaches_neighbours: bool = False, endpoint: bool = True) -> None:
        if cid is not None and cid in ix.components:
            _mark(seeds, cid, cause)
            if reaches_neighbours:
                _mark(spread, cid, cause)
            if endpoint:
                endpoints.add(cid)

    def zone(zid: str | None, cause: str) -> None:
        for z in ix.ancestors(zid):
            _mark(out.zones, z, cause)

    def zones(ids: Iterable[str], cause: str) -> None:
        for z in ids:
            _mark(out.zones, z, cause)

    def entered(src_zone: str | None, dst_zone: str | None) -> list[str]:
        """The zones a flow between these zones enters (a zone counts such flows and the
        lowest trust they come from)."""
        outside = set(ix.ancestors(src_zone))
        return [z for z in ix.ancestors(dst_zone) if z not in outside]

    def sent_from(cid: str, src_zone: str | None, cause: str) -> None:
        """The zones the flows out of a component enter, seen from `src_zone`."""
        for fid in ix.flows_of.get(cid, []):
            f = ix.flows[fid]
            if f.source == cid and f.target in ix.components:
                zones(entered(src_zone, ix.components[f.target].zone), cause)

    data_users: dict[str, tuple[list[str], list[str]]] | None = None
    for ch in weighted:
        key = ch.key
        after, before = ch.after or {}, ch.before or {}
        names = {a.name for a in ch.attributes}
        if ch.element == "component":
            whole = ch.kind != "changed"
            if ch.kind != REMOVED:
                comp(ch.id, key, reaches_neighbours=whole or bool(names & {"zone", "type"}))
                # What its callees are reached from: its zone's trust, its type when it is (or
                # was) a client, and through it when it is (or was) a pass-through component;
                # its own reach: internet_facing.
                types = {before.get("type"), after.get("type")}
                new_zone = ix.components[ch.id].zone if ch.id in ix.components else after.get("zone")
                if (whole or ("type" in names and types & (CLIENT_TYPES.union(PASS_THROUGH_TYPES)))
                        or ("zone" in names and trust_was(before.get("zone")) != trust_was(new_zone))):
                    for callee in ix.callees(ch.id):
                        reached(callee, key)
                if whole or "properties.internet_facing" in names:
                    reached(ch.id, key)
                # An identity provider appearing or going: what the clients it talks with
                # present elsewhere may be its tokens (reach.idp_sign_in).
                if (whole or "type" in names) and "identity-provider" in types:
                    for client in ix.neighbours(ch.id):
                        if ix.is_client(client):
                            for callee in ix.callees(client):
                                reached(callee, key)
            # A zone's facts count its members (nested zones included), their types and stored
            # data, and the flows entering it: a move within a zone leaves that zone alone.
            if whole or names & {"type", "stores"}:
                zone(after.get("zone"), key)
                zone(before.get("zone"), key)
            elif "zone" in names:
                old_chain, new_chain = set(ix.ancestors(before.get("zone"))), set(ix.ancestors(after.get("zone")))
                # ... and the two zones it left and joined directly (their direct member counts).
                direct = {z for z in (before.get("zone"), after.get("zone")) if z in ix.zones}
                zones((old_chain ^ new_chain) | direct, key)
            if ch.kind != REMOVED and "zone" in names:
                # The zones its flows enter see them come from another zone (and trust).
                sent_from(ch.id, before.get("zone"), key)
                sent_from(ch.id, after.get("zone"), key)
        elif ch.element == "flow":
            # A flow changes its source's outbound facts, and its target's inbound facts, which
            # include the target's exposure and the controls present on every flow into it.
            for side in (after, before):
                comp(side.get("from"), key, endpoint=False)
                comp(side.get("to"), key)
                if ch.kind != "changed" or names & {"from", "to"}:
                    reached(side.get("to"), key)
            # A client's flow (with an identity provider, or carrying what it got there) tells
            # everything the client calls where its users sign in (reach.idp_sign_in).
            if ch.kind != "changed" or names & {"from", "to", "data"}:
                for side in (after, before):
                    for end in (side.get("from"), side.get("to")):
                        if ix.is_client(end):
                            for callee in ix.callees(end):
                                reached(callee, key)
            # A zone's facts count the flows entering it from outside: the zones a flow enters.
            if ch.kind != "changed" or names & {"from", "to"}:
                for side in (before, after):
                    src, dst = ix.components.get(side.get("from", "")), ix.components.get(side.get("to", ""))
                    if dst is not None:
                        zones(entered(src.zone if src is not None else None, dst.zone), key)
            if ch.kind != REMOVED and ch.id in ix.flows:
                _mark(out.flows, ch.id, key)
        elif ch.element == "zone":
            # A parent zone counts its children.
            zone(before.get("parent"), key)
            zone(after.get("parent"), key)
            if ch.kind == REMOVED:
                continue
            zone(ch.id, key)
            for child in ix.children(ch.id):
                _mark(out.zones, child, key)
            for cid in ix.members(ch.id):
                comp(cid, key, reaches_neighbours=True)
                for callee in ix.callees(cid):
                    reached(callee, key)
                # Zones entered by flows from here see a new trust (or nesting) upstream.
                sent_from(cid, ix.components[cid].zone, key)
        elif ch.element == "data":
            if data_users is None:
                data_users = {}
                for c in arch.components:
                    for d in c.stores:
                        data_users.setdefault(d, ([], []))[0].append(c.id)
                for f in arch.flows:
                    for d in f.data:
                        data_users.setdefault(d, ([], []))[1].append(f.id)
            stores, carries = data_users.get(ch.id, ([], []))
            for cid in stores:
                comp(cid, key)
                zone(ix.components[cid].zone, key)
            for fid in carries:
                _mark(out.flows, fid, key)
                f = ix.flows[fid]
                comp(f.source, key, endpoint=False)
                comp(f.target, key)

    for cid, causes in seeds.items():
        for cause in causes:
            _mark(out.components, cid, cause)
    # One hop out: callers and callees read a component's zone (trust) and type, which can
    # change their own exposure.
    for cid, causes in spread.items():
        for cause in causes:
            for n in ix.neighbours(cid):
                _mark(out.components, n, cause)
                endpoints.add(n)
    # Downstream through chains of pass-through components: whatever reaches a gateway,
    # load balancer, proxy or CDN reaches what it calls (reach.*, also endpoint facts).
    # Linear in the components reached, per cause.
    spreading: dict[str, set[str]] = {}
    for cid, causes in reach.items():
        for cause in causes:
            stack = [cid]
            while stack:
                here = stack.pop()
                done = spreading.setdefault(here, set())
                if cause in done:
                    continue
                done.add(cause)
                _mark(out.components, here, cause)
                endpoints.add(here)
                if ix.passes_on(here):
                    stack.extend(ix.callees(here))
    # Every flow touching a component whose endpoint facts may have changed.
    for cid in endpoints:
        for fid in ix.flows_of.get(cid, []):
            for cause in out.components.get(cid, []):
                _mark(out.flows, fid, cause)
    return out
