"""The rule engine re-run on some elements of an architecture only.

Each element's threats are exactly those a full draft would give it; only the elements
a change can reach (drift.affected) are evaluated, which keeps `drift` and `check` fast
on large systems.

The facts are computed on views of just the part of the architecture they read, not of
the whole of it (indexing a 10,000-component architecture, baseline selectors matched
against every component and flow, costs more than the facts of a few hundred elements):

- a component's facts read the component, its zone and the zones above it, the data it
  stores, the flows into and out of it, the components at their other ends (zone, type,
  name), and the baseline controls whose selectors match it or its inbound flows (a
  selector is matched against one element, its endpoints and its zone chain at a time);
  and what reaches it through chains of pass-through components (reach.*), which runs
  beyond any part: that map is computed once on the whole architecture and handed in;
- a flow's facts read the flow, both endpoints' facts and the baseline controls matching
  the flow;
- a zone's facts read its members (nested zones included), the flows into them and
  their sources' zones, the zone tree, and the baseline controls matching zones.

So a view of the components in scope (and the endpoints of the flows in scope) with all
their flows, the components at the other ends, and every zone, data asset, baseline
control and organisation control gives them exactly the facts the full view gives; zones
use a view of the whole architecture that matches the baseline against zones only.
test_drift.py checks that the re-run equals a full draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threatline.drift.affected import Affected
from threatline.drift.diff import ADDED, REMOVED, RENAMED, Change
from threatline.engine.draft import match_threats
from threatline.engine.facts import ArchitectureView, ElementFacts, ReachMap, reach_map
from threatline.engine.knowledge import Knowledge
from threatline.model.architecture import Architecture, Component, Flow
from threatline.model.threatmodel import Threat


def _part(arch: Architecture, components: list[Component], flows: list[Flow]) -> Architecture:
    """The architecture with only these components and flows (every zone, data asset,
    baseline control and organisation control kept)."""
    return Architecture.model_construct(
        version=1, system=arch.system, data=arch.data, zones=arch.zones, components=components, flows=flows,
        baseline=arch.baseline, controls=arch.controls,
    )


def _view_around(arch: Architecture, core: set[str], knowledge: Knowledge, reach: ReachMap | None = None
                 ) -> ArchitectureView:
    """A view giving the components in `core` (and the flows between them and others) the
    facts the full view gives them: every flow touching the core and the components at
    their other ends, in document order."""
    near = [f for f in arch.flows if f.source in core or f.target in core]
    ends = core | {f.source for f in near} | {f.target for f in near}
    # What reaches a component through chains of proxies and gateways runs beyond the part:
    # the reach.* facts read the map of the whole architecture.
    # Few of the part's elements have their facts asked for: match the baseline per element.
    return ArchitectureView(_part(arch, [c for c in arch.components if c.id in ends], near),
                            knowledge.implied(), knowledge.aliases, reach=reach or reach_map(arch),
                            baseline_per_element=True)


def _core(arch: Architecture, scope: Affected) -> set[str]:
    """The components whose facts a re-run of `scope` reads: those in it and both ends of
    its flows."""
    core = {c.id for c in arch.components if c.id in scope.components}
    for f in arch.flows:
        if f.id in scope.flows:
            core.add(f.source)
            core.add(f.target)
    return core


def view_for(arch: Architecture, knowledge: Knowledge, scope: Affected, reach: ReachMap | None = None
             ) -> ArchitectureView:
    """One view serving both narrowed() and threats_for() on `scope` or any part of it:
    facts are computed once and shared by the two (a narrowed scope reads a subset of them).
    `reach`, reach_map(arch) when already computed."""
    return _view_around(arch, _core(arch, scope), knowledge, reach)


def threats_for(arch: Architecture, knowledge: Knowledge, scope: Affected,
                view: ArchitectureView | None = None) -> list[Threat]:
    """The threats a draft of `arch` gives the components, flows and zones in `scope`;
    `view`, from view_for() on `scope` or on a scope containing it, saves building one."""
    if not (scope.components or scope.flows or scope.zones):
        return []
    implied, aliases = knowledge.implied(), knowledge.aliases
    components = {c.id: c for c in arch.components}
    flows = {f.id: f for f in arch.flows}
    wanted_components = [c for c in sorted(scope.components) if c in components]
    wanted_flows = [flows[f] for f in sorted(scope.flows) if f in flows]
    threats: dict[str, Threat] = {}

    if wanted_components or wanted_flows:
        if view is None:
            view = view_for(arch, knowledge, scope)
        elements: list[ElementFacts] = [view.component(c) for c in wanted_components]
        elements += [view.flow(view.flows_by_id[f.id]) for f in wanted_flows]
        threats.update(match_threats(elements, view, knowledge))

    zone_ids = {z.id for z in arch.zones}
    zones = sorted(z for z in scope.zones if z in zone_ids)
    if zones:
        # A view whose baseline matches are those of zones only (they depend on the zone tree
        # alone): matching every selector against every component and flow is what makes a
        # full view expensive, and zone facts never read those matches. The zone facts read
        # the members and entering flows of the whole architecture (indexed once, on first use).
        zone_view = ArchitectureView(_part(arch, [], []), implied, aliases)
        zone_view.arch = arch
        zone_view.components = components
        zone_elements = [zone_view.zone(zone_view.zones[z]) for z in zones]
        threats.update(match_threats(zone_elements, zone_view, knowledge))
    return list(threats.values())


# ---------------------------------------------------------------- narrowing the scope by facts

_COMPONENT_FIELDS = {"type": "type", "zone": "zone", "tech": "tech", "stores": "stores", "controls": "controls"}
_FLOW_FIELDS = {"from": "from", "to": "to", "protocol": "protocol", "encrypted": "encrypted",
                "authentication": "authentication", "bidirectional": "bidirectional", "data": "data",
                "controls": "controls"}
_EMPTY: dict[str, Any] = {"stores": [], "controls": [], "data": [], "tech": "", "properties": {}}


def _previous_element(model: type[Component] | type[Flow], fields: dict[str, str], current: Component | Flow | None,
                      change: Change) -> Component | Flow:
    """The element as it was: the current one with the changed attributes set back to their
    snapshot values (a removed one entirely from its snapshot attributes)."""
    before = change.before or {}
    if current is None:
        doc: dict[str, Any] = {"id": change.id}
        names = set(fields) | {"properties"}
    else:
        doc = current.model_dump(by_alias=True)
        names = {a.name.split(".", 1)[0] for a in change.attributes}
    for name in names:
        key = fields.get(name, name)
        doc[key] = before.get(name, _EMPTY.get(name))
    return model.model_validate(doc)


def _previous(arch: Architecture, changes: list[Change]) -> Architecture:
    """The architecture the snapshot describes, rebuilt from the current one and the changes
    of components and flows (names and descriptions, which the snapshot does not hold, are
    the current ones)."""
    components = {c.id: c for c in arch.components}
    flows = {f.id: f for f in arch.flows}
    for ch in changes:
        pool: dict[str, Any] = components if ch.element == "component" else flows
        if ch.kind == ADDED:
            pool.pop(ch.id, None)
        elif ch.element == "component":
            pool[ch.id] = _previous_element(Component, _COMPONENT_FIELDS, pool.get(ch.id), ch)
        else:
            pool[ch.id] = _previous_element(Flow, _FLOW_FIELDS, pool.get(ch.id), ch)
    return _part(arch, list(components.values()), list(flows.values()))


def _comparable(ef: ElementFacts) -> tuple[Any, ...]:
    """Everything a rule, the scoring and a threat's recorded fields read of an element
    (names only reach a threat's text, which drift does not compare)."""
    return ef.facts, ef.controls, sorted(ef.data), ef.elements


def _candidates(scope: Affected, changes: list[Change]) -> set[str]:
    """The components narrowing may drop: none when a change is not of a component or a
    flow, or is a probable rename (those keep the whole scope), else those in the scope
    that no change is on."""
    if scope.everything or not changes or any(
        c.element not in ("component", "flow") or c.kind == RENAMED for c in changes
    ):
        return set()
    direct = {c.id for c in changes if c.kind != REMOVED}
    return {cid for cid in scope.components if cid not in direct}


PreviousFacts = dict[str, tuple[Any, ...]]


def previous_facts(scope: Affected, changes: list[Change], arch: Architecture, knowledge: Knowledge) -> PreviousFacts:
    """The half of narrowing that reads the architecture as it was: the facts the snapshot's
    architecture gives the components narrowing may drop (none when it may drop none).
    Independent of the current facts, so drift computes it on a second core meanwhile."""
    candidates = _candidates(scope, changes)
    if not candidates:
        return {}
    try:
        before = _previous(arch, changes)
    except ValueError:  # a snapshot value the model no longer accepts: keep the whole scope
        return {}
    old_view = _view_around(before, candidates, knowledge)
    return {cid: _comparable(old_view.component(cid)) for cid in candidates if cid in old_view.components}


def narrowed(scope: Affected, changes: list[Change], arch: Architecture, knowledge: Knowledge,
             view: ArchitectureView | None = None,
             previous: PreviousFacts | Callable[[], PreviousFacts] | None = None) -> Affected:
    """The scope without the components whose facts the changes leave exactly as they were,
    and without the flows whose endpoints' facts are all unchanged.

    drift.affected selects every component whose facts a change *can* alter; many are left
    as they were (a flow losing TLS changes its target's inbound facts, yet the target's
    controls, exposure and everything else a flow reads of it may stay the same). An
    element's threats are a function of its facts (ElementFacts: the facts rules and
    scoring read, the controls in effect, the data at stake, the ids a threat id hashes),
    of the data assets and organisation controls, and of the rule packs; so an element
    whose facts are equal before and after has the same threats, and impact() finds
    nothing on it unless it was changed itself (kept here) or carries changed data (such
    changes are not narrowed). A flow's facts read its own attributes and its endpoints'
    facts; the endpoints outside the scope have unchanged facts (drift.affected selects
    every component a change can reach; tests/test_drift.py checks both properties).

    Only changes of components and flows are narrowed; a change to a zone, a data asset,
    the baseline or an organisation control, or a probable rename, keeps the whole scope.
    `view`, from view_for() on `scope`, gives the current facts (and keeps them for
    threats_for()); `previous`, from previous_facts() on the same arguments (or what gives
    it when called, after the current facts are computed), saves computing the old ones here.
    """
    candidates = _candidates(scope, changes)
    if not candidates:
        if callable(previous):
            previous()  # collected all the same (a child computing it is waited for)
        return scope
    new_view = view if view is not None else _view_around(arch, candidates, knowledge)
    # The current facts first: while `previous` is still being computed elsewhere, they overlap.
    current = {cid: _comparable(new_view.component(cid)) for cid in candidates if cid in new_view.components}
    if previous is None:
        previous = previous_facts(scope, changes, arch, knowledge)
    elif callable(previous):
        previous = previous()
    unchanged = {cid for cid, facts in current.items() if cid in previous and previous[cid] == facts}
    if not unchanged:
        return scope
    direct = {c.id for c in changes if c.kind != REMOVED}
    reached = set(scope.components) - unchanged  # components whose facts changed (or were changed)
    flows = {f.id: f for f in arch.flows}
    kept_flows = {
        fid: causes for fid, causes in scope.flows.items()
        if fid in direct or fid not in flows or flows[fid].source in reached or flows[fid].target in reached
    }
    return Affected(
        components={cid: causes for cid, causes in scope.components.items() if cid not in unchanged},
        flows=kept_flows, zones=scope.zones, everything=False,
    )


# ---------------------------------------------------------------- splitting a re-run in two

# What one element costs a re-run, in flows (measured on the 10,000-component drift
# benchmark after narrowing, which leaves the components' facts computed: a component
# ~0.75 ms, a flow ~0.28 ms; zone facts first index the whole architecture, ~1 flow per
# 75 elements of it, then cost about a flow each).
_COMPONENT_COST = 3
_ARCHITECTURE_PER_ZONE_INDEX = 75


def rerun_cost(arch: Architecture, scope: Affected) -> int:
    """The work of threats_for(scope), in flows."""
    zones = len(scope.zones)
    index = (len(arch.components) + len(arch.flows)) // _ARCHITECTURE_PER_ZONE_INDEX if zones else 0
    return _COMPONENT_COST * len(scope.components) + len(scope.flows) + zones + index


def split_in_two(arch: Architecture, scope: Affected) -> tuple[Affected, Affected]:
    """Two scopes of about equal cost whose threats_for() lists, the first followed by the
    second, are exactly threats_for(scope): threats_for lists components, flows and zones
    in that order, each sorted by id, so the first scope takes a run from the start of that
    sequence and the second the rest (the zones always, which are costed as one block)."""
    total = rerun_cost(arch, scope)
    sequence = [("component", c, _COMPONENT_COST) for c in sorted(scope.components)]
    sequence += [("flow", f, 1) for f in sorted(scope.flows)]
    cut, spent = 0, 0
    while cut < len(sequence) and 2 * (spent + sequence[cut][2]) <= total:
        spent += sequence[cut][2]
        cut += 1
    parts = (Affected(), Affected(zones=dict(scope.zones)))
    for i, (kind, ident, _) in enumerate(sequence):
        part = parts[0] if i < cut else parts[1]
        if kind == "component":
            part.components[ident] = scope.components[ident]
        else:
            part.flows[ident] = scope.flows[ident]
    return parts
