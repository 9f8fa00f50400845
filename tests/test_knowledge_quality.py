"""The bundled knowledge as a whole: coverage of the format, and drafts that read well."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from threatline.engine.facts import TEMPLATE_VARIABLES
from threatline.formats.knowledge_packs import bundled_dir
from threatline.model.architecture import ComponentType, StrideCategory
from threatline.model.threatmodel import SEVERITY_ORDER
from threatline.service import draft_file

ROOT = Path(__file__).resolve().parents[1]
UNRENDERED = {"{" + v + "}" for names in TEMPLATE_VARIABLES.values() for v in names}
ARCHITECTURES = sorted([
    ROOT / "examples" / "payments" / "architecture.yaml",
    *(bundled_dir() / "fixtures").glob("*.yaml"),
    *(ROOT / "benchmarks" / "quality" / "cases").glob("*/architecture.yaml"),
])


def test_rule_and_control_counts(knowledge):
    assert len(knowledge.rules) >= 120
    assert len(knowledge.controls) >= 70
    assert {r.category for r in knowledge.rules} == set(StrideCategory)
    for kind in ("component", "flow", "zone"):
        cats = {r.category for r in knowledge.rules if r.applies_to == kind}
        assert len(cats) >= (6 if kind != "zone" else 2), (kind, cats)


def test_every_component_type_has_rules_of_every_category_it_needs(knowledge):
    for ctype in ComponentType:
        cats = {
            r.category for r in knowledge.rules
            if r.applies_to == "component" and (r.type_filter is None or ctype.value in r.type_filter)
        }
        assert cats, f"no component rule can apply to type {ctype.value}"


def test_every_control_is_complete(knowledge):
    for c in knowledge.controls.values():
        assert c.cost.effort_days[1] > 0, c.id
        assert c.references.nist or c.references.asvs or c.references.cwe, c.id
        for ref in c.references.cwe:
            assert re.fullmatch(r"CWE-\d+", ref), (c.id, ref)


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_drafts_read_well(path):
    model = draft_file(path).model
    keys = Counter((t.rule, t.target) for t in model.threats)
    assert max(keys.values(), default=1) == 1
    titles = Counter((t.target, t.title.lower()) for t in model.threats)
    dupes = [k for k, n in titles.items() if n > 1]
    assert not dupes, dupes
    for t in model.threats:
        # no template variable left unrendered (braces quoted from the architecture are fine)
        assert not any(v in t.title or v in t.description for v in UNRENDERED), t.title
        assert len(t.title) <= 120, t.title
        # A threat fully covered by controls in place may keep a medium residual with nothing
        # left in the catalogue to add; one that is open or partly covered must get a proposal.
        if SEVERITY_ORDER.index(t.severity) >= SEVERITY_ORDER.index("medium") and t.coverage != "mitigated":
            assert t.proposed_mitigations, f"{t.rule} on {t.target} ({t.severity}) has no proposed mitigation"
