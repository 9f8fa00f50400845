"""`threatline threat show`: one threat in full, for people and for scripts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from threatline.cli import app
from threatline.store.directory import ModelStore

runner = CliRunner()


def test_text_names_scores_and_proposed_mitigations(drafted_model):
    path = drafted_model
    model = ModelStore(path).load().model
    threat = next(t for t in model.threats if t.proposed_mitigations)
    res = runner.invoke(app, ["threat", "show", str(path), threat.id])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert threat.id in flat and threat.severity.upper() in flat
    assert " ".join(threat.title.split()) in flat
    assert f"likelihood {threat.likelihood.value}" in flat and f"impact {threat.impact.value}" in flat
    for mid in threat.proposed_mitigations:
        assert f"mitigation {mid}" in flat


def test_json_holds_the_threat_and_its_mitigations(drafted_model):
    path = drafted_model
    model = ModelStore(path).load().model
    threat = next(t for t in model.threats if t.proposed_mitigations)
    res = runner.invoke(app, ["threat", "show", str(path), threat.id, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["threat"]["id"] == threat.id
    assert {m["id"] for m in doc["mitigations"]} >= set(threat.proposed_mitigations)


def test_unknown_id_is_a_clear_error(drafted_model):
    path = drafted_model
    res = runner.invoke(app, ["threat", "show", str(path), "T-doesnotexist"])
    assert res.exit_code == 2
    assert "no threat with this id" in res.output and "Traceback" not in res.output

