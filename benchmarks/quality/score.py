#!/usr/bin/env python3
"""Quality benchmark: recall of Threatline's drafted threats against reference threat models.

For every case directory under ``cases/`` (``architecture.yaml`` + ``reference.yaml``) this
script runs ``threatline draft <architecture> --format json`` as a subprocess and scores the
JSON output (only the contract fields ``target``, ``category``, ``title`` and ``description``
are read):

    a reference threat is *recalled* when some drafted threat has the same ``target`` and the
    same ``category`` and its ``title + " " + description``, lower-cased, contains at least one
    of the reference's ``key_phrases``.

Printed per case: references, recalled, recall %, drafted threats, drafted-per-reference
ratio, and the missed references; then micro-averaged totals and whether the targets
(recall >= 85 %, <= 4 drafted threats per reference) are met.

Usage:
    python benchmarks/quality/score.py                  # every case
    python benchmarks/quality/score.py --case juice-shop --case iot-telemetry
    python benchmarks/quality/score.py --json           # machine-readable results
    python benchmarks/quality/score.py --check          # only the self-check of the cases
    python benchmarks/quality/score.py --threatline "threatline"   # another command
    python benchmarks/quality/score.py --rules ./our-rules         # extra rule packs

Exit status: 0 after scoring (whether or not the targets are met); 2 when a case cannot be
run or a case's files are broken (the message says which case and why).

Standard library plus ruamel.yaml (a Threatline dependency); no PyYAML.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

HERE = Path(__file__).resolve().parent
DEFAULT_CASES_DIR = HERE / "cases"

STRIDE_CATEGORIES = (
    "spoofing",
    "tampering",
    "repudiation",
    "information_disclosure",
    "denial_of_service",
    "elevation_of_privilege",
)
TARGET_RECALL = 0.85
TARGET_RATIO = 4.0
RUN_TIMEOUT_S = 300


class CaseError(Exception):
    """A case cannot be scored: broken files or the draft command failed."""


# ---------------------------------------------------------------- loading and self-check


@dataclass
class Reference:
    id: str
    target: str
    category: str
    summary: str
    key_phrases: list[str]
    origin: str = ""


@dataclass
class Case:
    name: str
    directory: Path
    architecture: Path
    source: str
    references: list[Reference]
    element_kinds: dict[str, str]  # id -> component | flow | zone
    element_types: dict[str, str] = field(default_factory=dict)  # id -> type, for grouping


def _load_yaml(path: Path) -> Any:
    yaml = YAML(typ="safe", pure=True)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh)
    except FileNotFoundError:
        raise CaseError(f"{path}: file not found") from None
    except YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None


def architecture_elements(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Ids a threat can target (components, flows, zones) mapped to their kind, and to
    their type for grouping (a component's ``type``; ``flow:<protocol>``; ``zone``)."""
    doc = _load_yaml(path)
    if not isinstance(doc, dict):
        raise CaseError(f"{path}: expected a mapping at the top level")
    kinds: dict[str, str] = {}
    types: dict[str, str] = {}
    for section, kind in (("components", "component"), ("flows", "flow"), ("zones", "zone")):
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise CaseError(f"{path}: '{section}' must be a list")
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                kinds[item["id"]] = kind
                if kind == "component":
                    types[item["id"]] = str(item.get("type", "?"))
                elif kind == "flow":
                    types[item["id"]] = f"flow:{item.get('protocol', 'other')}"
                else:
                    types[item["id"]] = "zone"
    return kinds, types


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def load_case(directory: Path) -> Case:
    """Load one case and run the self-check; raise CaseError naming every problem found."""
    arch = directory / "architecture.yaml"
    ref_path = directory / "reference.yaml"
    elements, element_types = architecture_elements(arch)
    doc = _load_yaml(ref_path)
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise CaseError(f"{ref_path}: expected a mapping with 'case', 'source' and 'threats'")
    name = doc.get("case")
    if name != directory.name:
        problems.append(f"'case' is {name!r}, expected the directory name {directory.name!r}")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("'source' (where the reference comes from) is missing")
    threats = doc.get("threats")
    if not isinstance(threats, list) or not threats:
        problems.append("'threats' must be a non-empty list")
        threats = []
    refs: list[Reference] = []
    seen: set[str] = set()
    for i, item in enumerate(threats):
        where = f"threats[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        rid = item.get("id")
        where = f"threats[{i}] ({rid})" if rid else where
        if not isinstance(rid, str) or not rid:
            problems.append(f"{where}: 'id' is missing")
        elif rid in seen:
            problems.append(f"{where}: duplicate id {rid!r}")
        else:
            seen.add(rid)
        unknown = set(item) - {"id", "target", "category", "summary", "key_phrases", "origin"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        target = item.get("target")
        if not isinstance(target, str) or target not in elements:
            hint = ""
            if isinstance(target, str):
                close = [e for e in elements if target in e or e in target]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}: target {target!r} is not a component, flow or zone id of "
                f"{arch.name}{hint}"
            )
        category = item.get("category")
        if category not in STRIDE_CATEGORIES:
            problems.append(
                f"{where}: category {category!r} is not one of {', '.join(STRIDE_CATEGORIES)}"
            )
        summary = item.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problems.append(f"{where}: 'summary' is missing")
        phrases = item.get("key_phrases")
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and p.strip() for p in phrases)
        ):
            problems.append(f"{where}: 'key_phrases' must be a non-empty list of strings")
            phrases = []
        elif any(p != _normalise(p) for p in phrases):
            problems.append(f"{where}: key phrases must be lower-case, single-spaced: {phrases}")
        if not problems or all(not p.startswith(where) for p in problems):
            refs.append(
                Reference(
                    id=str(rid),
                    target=str(target),
                    category=str(category),
                    summary=re.sub(r"\s+", " ", str(summary)).strip() if summary else "",
                    key_phrases=[str(p) for p in phrases],
                    origin=str(item.get("origin") or ""),
                )
            )
    if problems:
        raise CaseError(f"{ref_path}:\n  - " + "\n  - ".join(problems))
    return Case(directory.name, directory, arch, str(source).strip(), refs, elements, element_types)


def discover(cases_dir: Path, wanted: list[str] | None) -> list[Path]:
    if not cases_dir.is_dir():
        raise CaseError(f"{cases_dir}: no such cases directory")
    dirs = sorted(p for p in cases_dir.iterdir() if p.is_dir() and (p / "reference.yaml").exists())
    if wanted:
        by_name = {p.name: p for p in dirs}
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise CaseError(
                f"unknown case(s) {', '.join(missing)}; available: {', '.join(by_name) or 'none'}"
            )
        dirs = [by_name[w] for w in wanted]
    if not dirs:
        raise CaseError(f"{cases_dir}: no case directories with a reference.yaml")
    return dirs


# ---------------------------------------------------------------- running threatline


def draft_command(threatline: str | None, architecture: Path, rules: list[Path]) -> list[str]:
    prefix = shlex.split(threatline) if threatline else [sys.executable, "-m", "threatline.cli"]
    argv = [*prefix, "draft", str(architecture), "--format", "json"]
    for r in rules:
        argv += ["--rules", str(r)]
    return argv


def run_draft(case: Case, threatline: str | None, rules: list[Path]) -> list[dict[str, Any]]:
    argv = draft_command(threatline, case.architecture, rules)
    try:
        proc = subprocess.run(  # list argv, no shell
            argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise CaseError(f"case {case.name}: command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise CaseError(f"case {case.name}: draft did not finish in {RUN_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise CaseError(
            f"case {case.name}: `{shlex.join(argv)}` exited {proc.returncode}:\n{detail}"
        )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CaseError(f"case {case.name}: draft output is not JSON ({exc})") from None
    threats = doc.get("threats") if isinstance(doc, dict) else None
    if not isinstance(threats, list):
        raise CaseError(f"case {case.name}: draft output has no 'threats' list")
    return threats


# ---------------------------------------------------------------- scoring


@dataclass
class RefResult:
    id: str
    target: str
    target_kind: str
    target_type: str
    category: str
    summary: str
    key_phrases: list[str]
    recalled: bool
    matched_by: list[str] = field(default_factory=list)  # drafted threat ids
    # drafted threats on the same target and category whose text has none of the phrases
    same_target_category: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    case: str
    source: str
    references: int
    recalled: int
    recall: float
    drafted: int
    ratio: float
    missed: list[RefResult]
    results: list[RefResult]


def threat_text(threat: dict[str, Any]) -> str:
    return _normalise(f"{threat.get('title', '')} {threat.get('description', '')}")


def score_case(case: Case, threats: list[dict[str, Any]]) -> CaseResult:
    results: list[RefResult] = []
    for ref in case.references:
        same = [
            t for t in threats if t.get("target") == ref.target and t.get("category") == ref.category
        ]
        hits = [t for t in same if any(p in threat_text(t) for p in ref.key_phrases)]
        results.append(
            RefResult(
                id=ref.id,
                target=ref.target,
                target_kind=case.element_kinds.get(ref.target, "?"),
                target_type=case.element_types.get(ref.target, "?"),
                category=ref.category,
                summary=ref.summary,
                key_phrases=ref.key_phrases,
                recalled=bool(hits),
                matched_by=[str(t.get("id")) for t in hits],
                same_target_category=[str(t.get("id")) for t in same if t not in hits],
            )
        )
    n = len(results)
    recalled = sum(r.recalled for r in results)
    return CaseResult(
        case=case.name,
        source=case.source,
        references=n,
        recalled=recalled,
        recall=recalled / n if n else 0.0,
        drafted=len(threats),
        ratio=len(threats) / n if n else 0.0,
        missed=[r for r in results if not r.recalled],
        results=results,
    )


def totals(results: list[CaseResult]) -> dict[str, Any]:
    refs = sum(r.references for r in results)
    recalled = sum(r.recalled for r in results)
    drafted = sum(r.drafted for r in results)
    recall = recalled / refs if refs else 0.0
    ratio = drafted / refs if refs else 0.0
    return {
        "cases": len(results),
        "references": refs,
        "recalled": recalled,
        "recall": recall,
        "drafted": drafted,
        "ratio": ratio,
        "target_recall": TARGET_RECALL,
        "target_ratio": TARGET_RATIO,
        "recall_met": recall >= TARGET_RECALL,
        "ratio_met": ratio <= TARGET_RATIO,
        "met": recall >= TARGET_RECALL and ratio <= TARGET_RATIO,
        "missed_by_type": missed_by_type(results),
    }


def missed_by_type(results: list[CaseResult]) -> list[dict[str, Any]]:
    """Missed references grouped by (target type, category), largest group first:
    where new rules would raise recall most."""
    groups: dict[tuple[str, str], list[str]] = {}
    for r in results:
        for m in r.missed:
            groups.setdefault((m.target_type, m.category), []).append(f"{r.case}/{m.id}")
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        {"target_type": t, "category": c, "count": len(refs), "references": refs}
        for (t, c), refs in ordered
    ]


# ---------------------------------------------------------------- reporting


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def print_report(results: list[CaseResult], total: dict[str, Any], verbose: bool) -> None:
    for r in results:
        print(f"== {r.case}")
        print(
            f"   references {r.references}  recalled {r.recalled}  recall {_pct(r.recall)}  "
            f"drafted {r.drafted}  drafted/reference {r.ratio:.2f}"
        )
        if r.missed:
            print(f"   missed ({len(r.missed)}):")
            for m in r.missed:
                near = (
                    f"  [{len(m.same_target_category)} draft(s) on this target+category, "
                    f"none with a key phrase]"
                    if m.same_target_category
                    else ""
                )
                print(f"     {m.id:<4} {m.target} ({m.target_kind}) / {m.category}: {m.summary}{near}")
        if verbose:
            hit = [x for x in r.results if x.recalled]
            if hit:
                print(f"   recalled ({len(hit)}):")
                for x in hit:
                    print(f"     {x.id:<4} {x.target} / {x.category} <- {', '.join(x.matched_by)}")
        print()
    print("== overall (micro-averaged)")
    print(
        f"   cases {total['cases']}  references {total['references']}  "
        f"recalled {total['recalled']}  recall {_pct(total['recall'])}  "
        f"drafted {total['drafted']}  drafted/reference {total['ratio']:.2f}"
    )
    print(
        f"   recall target >= {_pct(TARGET_RECALL)}: {'met' if total['recall_met'] else 'NOT met'}; "
        f"ratio target <= {TARGET_RATIO:g} drafted per reference: "
        f"{'met' if total['ratio_met'] else 'NOT met'}"
    )
    if total["missed_by_type"]:
        print()
        print("== missed references by (target type, category)")
        for g in total["missed_by_type"]:
            print(f"   {g['count']:>3}  {g['target_type']} / {g['category']}: {', '.join(g['references'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Score Threatline's drafted threats against the reference threat models."
    )
    parser.add_argument("--case", action="append", metavar="NAME",
                        help="score only this case (repeatable)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--threatline", metavar="CMD",
                        help="command that runs threatline, split like a shell would "
                             "(default: this Python's `-m threatline.cli`)")
    parser.add_argument("--rules", action="append", type=Path, default=[], metavar="DIR",
                        help="extra rule pack directory passed to `draft --rules` (repeatable)")
    parser.add_argument("--cases-dir", type=Path, default=DEFAULT_CASES_DIR, metavar="DIR",
                        help="directory of case folders (default: the bundled cases)")
    parser.add_argument("--check", action="store_true",
                        help="only self-check the cases (targets, categories, format); run nothing")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list recalled references and the drafted threats that matched")
    args = parser.parse_args(argv)

    try:
        cases = [load_case(d) for d in discover(args.cases_dir, args.case)]
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.check:
        for c in cases:
            print(f"ok: {c.name}: {len(c.references)} references, all targets and categories valid")
        return 0

    results: list[CaseResult] = []
    for c in cases:
        try:
            threats = run_draft(c, args.threatline, args.rules)
        except CaseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        results.append(score_case(c, threats))
    total = totals(results)

    if args.json:
        out = {"cases": [asdict(r) for r in results], "overall": total}
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        print_report(results, total, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
