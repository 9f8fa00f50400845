"""What the draft engine's speed-ups rely on: shared values are frozen, the rule
index never skips a rule that holds, caches never leak between drafts or knowledge."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from threatline.engine.draft import Template, collector_paused, draft
from threatline.engine.facts import ArchitectureView
from threatline.engine.knowledge import INDEX_FACTS, pinned_values
from threatline.engine.scoring import override_factor
from threatline.formats.architecture_yaml import load_architecture_text
from threatline.formats.knowledge_packs import load_knowledge
from threatline.model.threatmodel import Factor, RiskFigure, Score

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"


@pytest.fixture(scope="module")
def arch(knowledge):
    arch, _ = load_architecture_text(EXAMPLE.read_text(encoding="utf-8"), "example.yaml", knowledge.control_ids())
    return arch


def test_shared_values_refuse_in_place_edits(knowledge, arch):
    model = draft(arch, knowledge)
    threat = model.threats[0]
    with pytest.raises(ValidationError):
        threat.current.severity = "critical"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        threat.likelihood.value = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        threat.likelihood.factors[0].delta = 3  # type: ignore[misc]


def test_threats_share_equal_values(knowledge, arch):
    model = draft(arch, knowledge)
    by_value: dict[str, RiskFigure] = {}
    for t in model.threats:
        first = by_value.setdefault(t.current.model_dump_json(), t.current)
        assert first is t.current


def test_an_override_leaves_threats_sharing_the_score_alone(knowledge, arch):
    model = draft(arch, knowledge)
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(model.threats):
        groups.setdefault(id(t.impact), []).append(i)
    shared = next(ix for ix in groups.values() if len(ix) > 1)
    a, b = model.threats[shared[0]], model.threats[shared[1]]
    assert a.impact is b.impact
    before = b.impact.model_dump()
    changed = override_factor(a, "impact", "data", 2, "the ledger is the system of record", "reviewer:test")
    assert any(f.name == "data" and f.delta == 2 for f in changed.impact.factors)
    assert b.impact.model_dump() == before
    assert a.impact.model_dump() == before


def test_drafts_are_the_same_with_warm_caches_and_fresh_knowledge(knowledge, arch):
    first = draft(arch, knowledge).model_dump_json()
    assert draft(arch, knowledge).model_dump_json() == first
    assert draft(arch, load_knowledge()).model_dump_json() == first


ARCHITECTURES = [EXAMPLE, *sorted((ROOT / "benchmarks" / "quality" / "cases").glob("*/architecture.yaml"))]


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.parent.name)
def test_the_rule_index_never_skips_a_rule_that_holds(knowledge, path):
    arch, _ = load_architecture_text(path.read_text(encoding="utf-8"), path.name, knowledge.control_ids())
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    elements = [view.component(c.id) for c in arch.components] + [view.flow(f) for f in arch.flows]
    elements += [view.zone(z) for z in arch.zones]
    checked = 0
    for rule in knowledge.rules:
        pins = pinned_values(rule.when, INDEX_FACTS[rule.applies_to])
        for ef in elements:
            if ef.kind != rule.applies_to or rule.predicate is None or not rule.predicate(ef.facts):
                continue
            for fact, (allowed, excluded) in pins.items():
                value = str(ef.facts.get(fact)).lower() if ef.facts.get(fact) is not None else None
                assert allowed is None or value in allowed, (rule.id, ef.id, fact)
                assert value not in excluded, (rule.id, ef.id, fact)
            checked += 1
    assert checked > 20


def test_pins_read_only_the_top_level_conjunction():
    facts = ("source.type", "target.type", "protocol")
    cond = {
        "target.type": {"in": ["Database", "cache"]},
        "all": [{"protocol": "HTTPS"}, {"any": [{"source.type": "browser"}]}],
        "not": {"target.type": "cache"},
        "source.type": {"not_in": ["actor"]},
    }
    assert pinned_values(cond, facts) == {
        "target.type": (frozenset({"database", "cache"}), frozenset()),
        "protocol": (frozenset({"https"}), frozenset()),
        "source.type": (None, frozenset({"actor"})),
    }
    assert pinned_values({"any": [{"protocol": "https"}]}, facts) == {}


@pytest.mark.parametrize(
    "template",
    [
        "Spoofing of {component.name}",
        "  {a}  and\t{b}\n",
        "{a}{b} {missing}",
        "no variables at all ",
        "{a}",
        "",
    ],
)
def test_templates_render_as_the_former_regex_did(template):
    variables = {"component.name": "Payments API", "a": " x  y ", "b": "", }

    def former(text: str) -> str:
        pattern = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
        out = pattern.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
        return re.sub(r"\s+", " ", out).strip()

    assert Template(template).render(variables) == former(template)


def test_the_collector_is_paused_only_while_drafting():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_factor_and_score_are_frozen_values():
    f = Factor(name="base", delta=0, reason="r")
    with pytest.raises(ValidationError):
        f.reason = "other"  # type: ignore[misc]
    s = Score(value=2, base=2, factors=[f])
    assert s.model_copy(update={"value": 3}).value == 3


def test_drafted_models_share_their_fields_set_records(knowledge, arch):
    """share_fields_set: one record of set field names per shape, not one per threat
    (a drafted threat's was bigger than its values); serialisation does not use it."""
    model = draft(arch, knowledge)
    assert len({id(t.__pydantic_fields_set__) for t in model.threats}) == 1
    assert len({id(m.__pydantic_fields_set__) for m in model.mitigations}) == 1
    threat = model.threats[0]
    assert {"id", "title", "residual", "proposed_effect"} <= threat.model_fields_set
    before = model.model_dump_json()
    threat.status = "confirmed"  # recorded for every sharer: over-reports, never drops a name
    assert "status" in model.threats[-1].model_fields_set
    assert model.model_dump_json() == before.replace('"status":"draft"', '"status":"confirmed"', 1)
