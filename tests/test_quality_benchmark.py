"""The quality benchmark's cases stay usable: each architecture loads and drafts, every
reference threat names an element of its architecture and a STRIDE category, and the
scorer's matching rule is the documented one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from threatline.model.architecture import StrideCategory
from threatline.service import draft_file

QUALITY = Path(__file__).resolve().parents[1] / "benchmarks" / "quality"
CASES = sorted(p for p in (QUALITY / "cases").iterdir() if (p / "reference.yaml").exists())
STRIDE = {c.value for c in StrideCategory}


def _load_score_module():
    spec = importlib.util.spec_from_file_location("quality_score", QUALITY / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _reference(case_dir: Path) -> dict:
    with (case_dir / "reference.yaml").open(encoding="utf-8") as fh:
        return YAML(typ="safe", pure=True).load(fh)


def test_there_are_at_least_five_cases():
    assert len(CASES) >= 5, [c.name for c in CASES]


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_case_architecture_drafts_and_references_resolve(case_dir: Path):
    result = draft_file(case_dir / "architecture.yaml")
    assert result.model is not None
    arch = result.arch
    element_ids = (
        {c.id for c in arch.components} | {f.id for f in arch.flows} | {z.id for z in arch.zones}
    )

    ref = _reference(case_dir)
    assert ref["case"] == case_dir.name
    assert ref.get("source", "").strip(), "reference.yaml must say where it comes from"
    threats = ref["threats"]
    assert 8 <= len(threats) <= 25, f"{len(threats)} reference threats"
    ids = [t["id"] for t in threats]
    assert len(ids) == len(set(ids)), "duplicate reference ids"
    for t in threats:
        assert t["target"] in element_ids, (
            f"{case_dir.name} {t['id']}: target {t['target']!r} is not a component, flow or zone"
        )
        assert t["category"] in STRIDE, f"{case_dir.name} {t['id']}: bad category {t['category']!r}"
        assert t["summary"].strip()
        phrases = t["key_phrases"]
        assert 1 <= len(phrases) <= 5, f"{case_dir.name} {t['id']}: 1-5 key phrases"
        assert all(p == p.lower().strip() and p for p in phrases), phrases


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_scorer_self_check_accepts_case(case_dir: Path):
    score = _load_score_module()
    case = score.load_case(case_dir)
    assert len(case.references) == len(_reference(case_dir)["threats"])


def test_scorer_self_check_rejects_unknown_target(tmp_path: Path):
    score = _load_score_module()
    src = CASES[0]
    case_dir = tmp_path / src.name
    case_dir.mkdir()
    (case_dir / "architecture.yaml").write_text(
        (src / "architecture.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    text = (src / "reference.yaml").read_text(encoding="utf-8")
    first_target = _reference(src)["threats"][0]["target"]
    text = text.replace(f"target: {first_target}\n", "target: no-such-element\n", 1)
    (case_dir / "reference.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(score.CaseError, match="no-such-element"):
        score.load_case(case_dir)


def test_scorer_matching_rule():
    score = _load_score_module()
    case = score.Case(
        name="t",
        directory=Path("."),
        architecture=Path("architecture.yaml"),
        source="unit test",
        references=[
            score.Reference("R1", "web", "tampering", "sqli", ["sql injection", "injection"]),
            score.Reference("R2", "db", "information_disclosure", "dump", ["backup"]),
            score.Reference("R3", "flow-1", "information_disclosure", "sniff", ["eavesdrop"]),
        ],
        element_kinds={"web": "component", "db": "component", "flow-1": "flow"},
    )
    drafted = [
        # right target and category, phrase in the description (case-insensitive)
        {"id": "T-1", "target": "web", "category": "tampering", "title": "Input handling",
         "description": "Attacker uses SQL\n  Injection on the search form"},
        # phrase present but wrong category: does not count
        {"id": "T-2", "target": "db", "category": "tampering", "title": "Backup tampering",
         "description": "backup altered"},
        # right target and category but none of the phrases
        {"id": "T-3", "target": "flow-1", "category": "information_disclosure",
         "title": "Data exposure", "description": "traffic is readable"},
    ]
    result = score.score_case(case, drafted)
    assert [r.recalled for r in result.results] == [True, False, False]
    assert result.results[0].matched_by == ["T-1"]
    assert result.results[2].same_target_category == ["T-3"]
    assert result.recalled == 1 and result.references == 3
    assert result.ratio == pytest.approx(1.0)
    total = score.totals([result])
    assert total["recall"] == pytest.approx(1 / 3)
    assert total["ratio_met"] and not total["recall_met"]
