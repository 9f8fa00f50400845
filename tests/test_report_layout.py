"""The Markdown report: the full layout for small and medium models, the summarising
layout for large ones (every threat still in the index, the detail cap respected, the
same escaping), and the terminal summary of `draft`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from threatline import service
from threatline.formats.markdown import EXCERPT_ROWS, FULL_REPORT_MAX_THREATS, MarkdownExporter
from threatline.model.threatmodel import SEVERITY_ORDER

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "perf"))
from generate import generate  # noqa: E402

HOSTILE = "Evil <script>alert(1)</script> | pipe\nnext line & more"
HOSTILE_ESCAPED = "Evil &lt;script&gt;alert(1)&lt;/script&gt; \\| pipe next line &amp; more"
RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):
    """A generated architecture of 200 components (about 1,500 threats, over the default
    threshold), with an element whose name tries to break the Markdown."""
    doc = generate(200, seed=3)
    doc["components"][0]["name"] = HOSTILE
    path = tmp_path_factory.mktemp("large") / "architecture.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    result = service.draft_file(path)
    assert len(result.model.threats) > FULL_REPORT_MAX_THREATS
    return path, result.model, result.arch


def sections(text: str) -> dict[str, str]:
    """'## Heading' -> its text, up to the next '## '."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {p.split("\n", 1)[0]: p.split("\n", 1)[1] if "\n" in p else "" for p in parts[1:]}


def index_rows(text: str) -> list[list[str]]:
    body = sections(text)["Threat index"]
    rows = [line for line in body.splitlines() if line.startswith("| ")][1:]  # skip the header
    return [[cell.strip() for cell in UNESCAPED_PIPE.split(row)[1:-1]] for row in rows]


def detail_ids(section: str) -> list[str]:
    return re.findall(r"^### (\S+?): ", section, flags=re.MULTILINE)


# ---------------------------------------------------------------- small models: unchanged


def test_the_example_keeps_the_full_layout():
    result = service.draft_file(ROOT / "examples" / "payments" / "architecture.yaml")
    text = MarkdownExporter().render(result.model, result.arch)
    parts = sections(text)
    assert {"Threats", "Mitigations", "Threat details", "Data-flow diagram"} <= parts.keys()
    assert "Threat index" not in parts and "Most severe threats" not in parts
    assert "A summary of a large model" not in text
    assert detail_ids(parts["Threat details"]) == [t.id for t in result.model.threats]
    assert "```mermaid" in parts["Data-flow diagram"]


def test_threshold_is_inclusive(large):
    _, model, arch = large
    n = len(model.threats)
    assert "## Threat details" in MarkdownExporter(full_report_max_threats=n).render(model, arch)
    assert "## Threat index" in MarkdownExporter(full_report_max_threats=n - 1).render(model, arch)


def test_full_layout_escapes_hostile_names(large):
    _, model, arch = large
    text = MarkdownExporter(full_report_max_threats=10**9).render(model, arch)
    assert "<script>" not in text
    assert HOSTILE_ESCAPED in text


# ---------------------------------------------------------------- large models: the summary


def test_summary_lists_every_threat_once_in_the_index(large):
    _, model, arch = large
    text = MarkdownExporter().render(model, arch)
    rows = index_rows(text)
    assert sorted(r[0] for r in rows) == sorted(t.id for t in model.threats)
    by_id = {t.id: t for t in model.threats}
    for threat_id, severity, _category, _element, title, status in rows:
        t = by_id[threat_id]
        assert (severity, status) == (t.severity, t.status)
        assert title == t.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
            "|", "\\|").replace("\n", " ")
    ranks = [RANK[r[1]] for r in rows]
    assert ranks == sorted(ranks, reverse=True), "most severe first"


def test_summary_details_respect_the_cap_and_take_the_most_severe(large):
    _, model, arch = large
    severe = [t for t in model.threats if t.severity in ("critical", "high")]
    for cap in (10, len(severe) + 7):
        text = MarkdownExporter(full_report_max_threats=100, detail_cap=cap).render(model, arch)
        parts = sections(text)
        shown = detail_ids(parts["Most severe threats"])
        assert len(shown) == cap == len(set(shown))
        by_id = {t.id: t for t in model.threats}
        lowest_shown = min(RANK[by_id[i].severity] for i in shown)
        assert all(RANK[t.severity] <= lowest_shown for t in model.threats if t.id not in shown)
        if cap > len(severe):
            assert {t.id for t in severe} <= set(shown), "every critical and high threat when they fit"
        assert "Threats" not in parts and "Threat details" not in parts


def test_summary_puts_rejected_threats_last(large):
    _, model, arch = large
    worst = max(model.threats, key=lambda t: RANK[t.severity])
    threats = [t.model_copy(update={"status": "rejected"}) if t is worst else t for t in model.threats]
    reviewed = model.model_copy(update={"threats": threats})
    text = MarkdownExporter(detail_cap=5).render(reviewed, arch)
    assert worst.id not in detail_ids(sections(text)["Most severe threats"])
    assert index_rows(text)[-1][0] == worst.id and index_rows(text)[-1][5] == "rejected"


def test_summary_escapes_like_the_full_layout(large):
    _, model, arch = large
    text = MarkdownExporter().render(model, arch)
    assert "<script>" not in text
    assert HOSTILE_ESCAPED in text
    rows = [line for line in sections(text)["Threat index"].splitlines() if line.startswith("| ")]
    assert all(len(UNESCAPED_PIPE.findall(line)) == 7 for line in rows), "six cells on every row"
    hostile_rows = [line for line in rows if HOSTILE_ESCAPED in line]
    assert hostile_rows, "the hostile element's threats are indexed under its escaped name"


def test_summary_has_the_figures_plan_and_pointers(large):
    _, model, arch = large
    text = MarkdownExporter().render(model, arch)
    parts = sections(text)
    assert f"{len(model.threats)} threats on {len(arch.components)} components" in parts["Summary"]
    assert "| **All** |" in parts["Summary"]
    assert "threatmodel.yaml" in text.split("## Summary")[0], "says where the full details are"
    assert "`threatline plan threatmodel.yaml`" in text
    elements = [line for line in parts["Elements with the most severe threats"].splitlines() if line.startswith("| ")]
    assert len(elements) == 1 + EXCERPT_ROWS  # the header, then the rows
    plan = next(body for heading, body in parts.items() if heading.startswith("Mitigation plan"))
    assert "By control" in plan
    top = plan.split("lists all", 1)[1].split("\n\n", 2)[1]  # the top items table after the by-control one
    assert len([line for line in top.splitlines() if line.startswith("| ")]) == 1 + EXCERPT_ROWS
    assert "Left out:" in parts["Data-flow diagram"] or "```mermaid" in parts["Data-flow diagram"]
    # Much smaller than the full report already at this size (the details of the top
    # threats are a fixed cost; the index grows by one short line per threat).
    assert len(text) * 4 < len(MarkdownExporter(full_report_max_threats=10**9).render(model, arch))


def test_plan_markdown_command_is_unchanged_by_the_excerpt(large, cli, tmp_path):
    """`threatline plan --format markdown` shares plan.md.j2 and still lists everything."""
    path, _, _ = large
    res = cli("draft", path, "-o", tmp_path, "-q")
    assert res.exit_code == 0, res.output
    res = cli("plan", tmp_path / "threatmodel.yaml", "-f", "markdown")
    assert res.exit_code == 0, res.output
    assert "By control" not in res.stdout and "placements that bring" not in res.stdout


# ---------------------------------------------------------------- the terminal summary


def test_draft_prints_a_capped_table_and_says_the_report_summarises(large, cli, tmp_path):
    path, model, _ = large
    res = cli("draft", path, "-o", tmp_path)
    assert res.exit_code == 0, res.output
    assert f"the 60 most severe of {len(model.threats)} threats" in res.stdout
    assert "the report summarises a model this large" in res.stdout
    report = (tmp_path / "threatmodel.md").read_text(encoding="utf-8")
    assert len(index_rows(report)) == len(model.threats)
