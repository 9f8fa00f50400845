"""The rule engine re-run on some elements of an architecture only.

Facts come from a view of the whole architecture, so each element's threats are
exactly those a full draft would give it; only the elements a change can reach
(drift.affected) are evaluated, which keeps `drift` and `check` fast on large systems.
"""

from __future__ import annotations

import copy

from threatline.drift.affected import Affected
from threatline.engine.draft import match_threats
from threatline.engine.facts import ArchitectureView, ElementFacts
from threatline.engine.knowledge import Knowledge
from threatline.model.architecture import Architecture, Component
from threatline.model.threatmodel import Threat


def threats_for(arch: Architecture, knowledge: Knowledge, scope: Affected) -> list[Threat]:
    """The threats a draft of `arch` gives the components, flows and zones in `scope`."""
    if not (scope.components or scope.flows or scope.zones):
        return []
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    elements: list[ElementFacts] = [view.component(c) for c in sorted(scope.components) if c in view.components]
    elements += [view.flow(view.flows_by_id[f]) for f in sorted(scope.flows) if f in view.flows_by_id]
    zones = [z for z in sorted(scope.zones) if z in view.zones]
    if zones:
        members: dict[str, list[Component]] = {}
        for c in arch.components:
            for z in view._ancestors.get(c.zone, []):
                members.setdefault(z, []).append(c)
        for z in zones:
            elements.append(_zone_view(view, members.get(z, [])).zone(view.zones[z]))

    threats = match_threats(elements, view, knowledge)
    return list(threats.values())



def _zone_view(view: ArchitectureView, members: list[Component]) -> ArchitectureView:
    """The view, reading only what a zone's facts are about: its members (nested zones
    included) and the flows into them. A zone's facts scan the architecture's components
    and flows; on a large system with many changed zones that scan dominates, and this
    makes it O(members). Every other index (zones, data, baseline, all components by id)
    is the full view's, so the facts are the same."""
    inbound = [f for c in members for f in view.inbound.get(c.id, [])]
    arch = view.arch
    scoped = copy.copy(view)
    scoped.arch = Architecture.model_construct(
        version=1, system=arch.system, data=arch.data, zones=arch.zones, components=members, flows=inbound,
        baseline=arch.baseline, controls=arch.controls,
    )
    return scoped
