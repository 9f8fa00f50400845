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
- a flow's facts read the flow, both endpoints' facts and the baseline controls matching
  the flow;
- a zone's facts read its members (nested zones included), the flows into them and
  their sources' zones, the zone tree, and the baseline controls matching zones.

So a view of the components in scope (and the endpoints of the flows in scope) with all
their flows, the components at the other ends, and every zone, data asset, baseline
control and organisation control gives them exactly the facts the full view gives; zones
use a view that indexes no component or flow, narrowed per zone to its members and the
flows into them. test_drift.py checks that the re-run equals a full draft.
"""

from __future__ import annotations

import copy

from threatline.drift.affected import Affected
from threatline.engine.draft import match_threats
from threatline.engine.facts import ArchitectureView, ElementFacts
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


def threats_for(arch: Architecture, knowledge: Knowledge, scope: Affected) -> list[Threat]:
    """The threats a draft of `arch` gives the components, flows and zones in `scope`."""
    if not (scope.components or scope.flows or scope.zones):
        return []
    implied, aliases = knowledge.implied(), knowledge.aliases
    components = {c.id: c for c in arch.components}
    flows = {f.id: f for f in arch.flows}
    wanted_components = [c for c in sorted(scope.components) if c in components]
    wanted_flows = [flows[f] for f in sorted(scope.flows) if f in flows]
    threats: dict[str, Threat] = {}

    if wanted_components or wanted_flows:
        core = set(wanted_components)
        for f in wanted_flows:
            core.add(f.source)
            core.add(f.target)
        # Every flow touching the core and the components at their other ends, in document order.
        near = [f for f in arch.flows if f.source in core or f.target in core]
        ends = core | {f.source for f in near} | {f.target for f in near}
        view = ArchitectureView(_part(arch, [c for c in arch.components if c.id in ends], near), implied, aliases)
        elements: list[ElementFacts] = [view.component(c) for c in wanted_components]
        elements += [view.flow(view.flows_by_id[f.id]) for f in wanted_flows]
        threats.update(match_threats(elements, view, knowledge))

    zone_ids = {z.id for z in arch.zones}
    zones = sorted(z for z in scope.zones if z in zone_ids)
    if zones:
        # A view indexing zones only (its baseline matches for zones depend on the zone tree
        # alone); each zone then reads its members and the flows into them, and finds the
        # sources of those flows among all components.
        zone_view = ArchitectureView(_part(arch, [], []), implied, aliases)
        zone_view.components = components
        wanted = set(zones)
        members: dict[str, list[Component]] = {}
        for c in arch.components:
            for z in zone_view._ancestors.get(c.zone, []):
                if z in wanted:
                    members.setdefault(z, []).append(c)
        member_ids = {c.id for cs in members.values() for c in cs}
        inbound: dict[str, list[Flow]] = {}
        for f in arch.flows:
            if f.target in member_ids:
                inbound.setdefault(f.target, []).append(f)
        zone_elements = []
        for z in zones:
            inside = members.get(z, [])
            scoped = copy.copy(zone_view)
            scoped.arch = _part(arch, inside, [f for c in inside for f in inbound.get(c.id, [])])
            zone_elements.append(scoped.zone(zone_view.zones[z]))
        threats.update(match_threats(zone_elements, zone_view, knowledge))
    return list(threats.values())
