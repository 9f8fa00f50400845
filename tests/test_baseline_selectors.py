"""Baseline selectors pick exactly the components, flows and zones their keys describe,
whichever way the view indexes them (checked against a plain scan of the architecture)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from threatline.engine.facts import ArchitectureView
from threatline.formats.architecture_yaml import load_architecture
from threatline.formats.knowledge_packs import load_knowledge
from threatline.model.architecture import BaselineControl, Selector

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = sorted([ROOT / "examples" / "payments" / "architecture.yaml",
                        *(ROOT / "benchmarks" / "quality" / "cases").glob("*/architecture.yaml"),
                        *(ROOT / "src" / "threatline" / "knowledge" / "fixtures").glob("*.yaml")])


def scanned(view: ArchitectureView, sel: Selector) -> tuple[set[str], set[str], set[str]]:
    """The meaning of a selector, element by element."""
    arch = view.arch
    ancestors = view._ancestors

    def tagged(ids: list[str]) -> bool:
        return any(sel.tag in view.data[d].tags for d in ids if d in view.data)

    comps = {c.id for c in arch.components
             if sel.flow is None
             and (sel.zone is None or sel.zone in ancestors.get(c.zone, []))
             and (sel.type is None or c.type == sel.type)
             and (sel.component is None or c.id == sel.component)
             and (sel.tag is None or tagged(c.stores))}
    flows = {f.id for f in arch.flows
             if (sel.flow is None or f.id == sel.flow)
             and (sel.zone is None or any(sel.zone in ancestors.get(view.components[e].zone, [])
                                          for e in (f.source, f.target)))
             and (sel.type is None or view.components[f.target].type == sel.type)
             and (sel.component is None or sel.component in (f.source, f.target))
             and (sel.tag is None or tagged(f.data))}
    zones = ({z for z in view.zones if sel.zone is None or sel.zone in ancestors[z]}
             if sel.component is None and sel.flow is None and sel.type is None and sel.tag is None else set())
    return comps, flows, zones


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.parent.name if p.name == "architecture.yaml" else p.stem)
def test_every_selector_shape_matches_a_plain_scan(path):
    knowledge = load_knowledge(None, None)
    arch, _ = load_architecture(path, knowledge.control_ids())
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    index = view._selector_index()
    zones = [None, *(z.id for z in arch.zones)][:6]
    types = [None, *sorted({c.type for c in arch.components})][:4]
    components = [None, *(c.id for c in arch.components)][:4]
    flows = [None, *(f.id for f in arch.flows)][:3]
    tags = [None, *sorted({t for d in arch.data for t in d.tags})][:3]
    checked = 0
    for zone, ctype, comp, flow, tag in itertools.product(zones, types, components, flows, tags):
        sel = Selector(zone=zone, type=ctype, component=comp, flow=flow, tag=tag)
        assert view._selector_hits(BaselineControl(control="tls", applies_to=sel), index) == scanned(view, sel), sel
        checked += 1
    for b in arch.baseline:
        assert view._selector_hits(b, index) == scanned(view, b.applies_to), b
    assert checked > 1
