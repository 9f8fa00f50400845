"""`threatline plan` at a terminal: a large plan is summarised, the formats give it all."""

from __future__ import annotations

from typer.testing import CliRunner

from threatline.cli import app

runner = CliRunner()


def test_plan_at_a_terminal_caps_its_table_and_lists(drafted_model, monkeypatch):
    from threatline import cli

    path = drafted_model
    full = runner.invoke(app, ["plan", str(path)])
    assert full.exit_code == 0, full.output
    assert "all of them: --format markdown or json" not in full.output
    monkeypatch.setattr(cli, "TABLE_ROWS", 2)
    monkeypatch.setattr(cli, "LIST_ROWS", 1)
    capped = runner.invoke(app, ["plan", str(path)])
    assert capped.exit_code == 0, capped.output
    flat = " ".join(capped.output.split())
    assert "the 2 of" in flat and "all of them: --format markdown or json" in flat


def test_plan_json_is_what_the_standard_library_would_write(drafted_model):
    import json

    from threatline.engine.plan import plan as compute_plan
    from threatline.formats.plan_output import plan_json, plan_summary
    from threatline.formats.threatmodel_yaml import load_threat_model

    model = load_threat_model(drafted_model)
    for appetite, budget in (("medium", None), ("low", 20.0), ("high", None)):
        result = compute_plan(model.threats, model.mitigations, appetite, budget, "auto")
        expected = json.dumps(plan_summary(result, model), indent=2, ensure_ascii=False) + "\n"
        assert plan_json(result, model) == expected


def test_plan_rows_escape_every_cell():
    from threatline.formats.markdown import plan_rows

    rows = plan_rows([
        {"name": "WAF | <script>", "control": "waf", "placement": "edge\ngw", "placement_kind": "component",
         "threats": ["T-1", "T-2"], "effort_days": [2.0, 5.0], "latency": "low", "ops": "medium"},
        {"name": "Backups", "control": "backup", "placement": "db", "placement_kind": "component",
         "threats": ["T-3"], "effort_days": None, "latency": "none", "ops": "low"},
    ])
    first, second = str(rows).splitlines()
    assert first == "| WAF \\| &lt;script&gt; (`waf`) | edge gw (component) | 2 | 2.0-5.0 | low | medium |"
    assert second == "| Backups (`backup`) | db (component) | 1 | ? | none | low |"
    assert plan_rows([]) == ""
