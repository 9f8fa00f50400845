"""`threatline check --format sarif`: valid SARIF 2.1.0 (the official OASIS schema, vendored in
tests/data), results on the architecture lines that changed, stable fingerprints and
security-severity for code scanning."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from threatline.cli import app
from threatline.service import draft_file, write_outputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
runner = CliRunner()


@pytest.fixture(scope="module")
def validator():
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    return jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def drafted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as in a repository checkout
    Path("architecture.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    write_outputs(draft_file(Path("architecture.yaml")), Path("."), who="dev@example.com")
    return tmp_path


def sarif(*extra: str) -> tuple[int, dict]:
    res = runner.invoke(app, ["check", "architecture.yaml", "threatmodel.yaml", "--format", "sarif", *extra])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout) if "-o" not in extra else {}


def line_of(text: str, needle: str, after: str) -> int:
    start = text.index(after)
    return text[:text.index(needle, start)].count("\n") + 1


def edit(old: str, new: str) -> None:
    path = Path("architecture.yaml")
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def test_the_schema_is_the_official_one():
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    assert "result" in SCHEMA["definitions"] and "reportingDescriptor" in SCHEMA["definitions"]


def test_drift_results_are_valid_sarif_on_the_changed_lines(drafted, validator):
    edit("    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    edit("    zone: cde\n    tech: postgresql\n", "    zone: edge\n    tech: postgresql\n")
    edit("flows:\n", "  - id: reporting\n    type: service\n    zone: corp\n\nflows:\n")
    code, log = sarif()
    assert code == 1
    validator.validate(log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"threatline.drift.flow.changed", "threatline.drift.component.changed",
                            "threatline.drift.component.added"}
    text = Path("architecture.yaml").read_text(encoding="utf-8")
    expected = {
        "threatline.drift.flow.changed": line_of(text, "protocol: http", "- id: checkout-submit"),
        "threatline.drift.component.changed": line_of(text, "zone: edge", "- id: payments-db"),
        "threatline.drift.component.added": line_of(text, "id: reporting", "components:"),
    }
    for rid, r in results.items():
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "architecture.yaml"
        assert loc["region"]["startLine"] == expected[rid], rid
        assert rules[r["ruleIndex"]] == rid
        assert float(r["properties"]["security-severity"]) > 0
        assert r["level"] in ("error", "warning", "note")
        assert len(r["partialFingerprints"]["threatlineDrift/v1"]) == 32
    flow = results["threatline.drift.flow.changed"]
    assert flow["level"] == "error" and flow["properties"]["security-severity"] in ("8.0", "9.5")
    assert "protocol https → http" in flow["message"]["text"] and "current mitigation no longer true" in flow["message"]["text"]
    assert any(i["controls"] == ["tls"] for i in flow["properties"]["impact"] if i["kind"] == "mitigation-lost")
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["properties"]["security-severity"] in ("3.0", "5.5", "8.0", "9.5")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_fingerprints_are_stable_when_lines_move(drafted, validator):
    edit("    to: api-gateway\n    protocol: https\n", "    to: api-gateway\n    protocol: http\n")
    _, first = sarif()
    _, again = sarif()
    assert first == again, "the same input gives the same log"
    path = Path("architecture.yaml")
    path.write_text("# a comment\n# and another\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    _, moved = sarif()
    validator.validate(moved)
    a, b = first["runs"][0]["results"][0], moved["runs"][0]["results"][0]
    assert a["partialFingerprints"] == b["partialFingerprints"]
    assert b["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        a["locations"][0]["physicalLocation"]["region"]["startLine"] + 2


def test_model_states_are_valid_sarif(drafted, validator):
    # An unchanged architecture with an unpublished model: one result on the model file.
    code, log = sarif()
    assert code == 1
    validator.validate(log)
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "threatline.model.unpublished"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "threatmodel.yaml"

    # Recorded drift items: results on the elements they are about.
    edit("    zone: cde\n    tech: postgresql\n", "    zone: edge\n    tech: postgresql\n")
    res = runner.invoke(app, ["drift", "architecture.yaml", "threatmodel.yaml", "--record", "--as", "dev@example.com"])
    assert res.exit_code == 0, res.output
    code, _ = sarif("-o", "out.sarif")
    assert code == 1
    log = json.loads(Path("out.sarif").read_text(encoding="utf-8"))
    validator.validate(log)
    results = log["runs"][0]["results"]
    assert results and {r["ruleId"] for r in results} == {"threatline.drift.open-item"}
    text = Path("architecture.yaml").read_text(encoding="utf-8")
    db_line = line_of(text, "id: payments-db", "components:")
    assert any(r["locations"][0]["physicalLocation"]["region"]["startLine"] == db_line for r in results)
    assert len({r["partialFingerprints"]["threatlineDrift/v1"] for r in results}) == len(results)
