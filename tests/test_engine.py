"""Behaviour of the draft engine: grouping, current mitigations, scoring, packs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from threatline.cli import app
from threatline.engine.draft import draft
from threatline.formats.architecture_yaml import load_architecture_text
from threatline.service import draft_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()


def _draft(text: str, knowledge):
    arch, _ = load_architecture_text(text, "test.yaml", knowledge.control_ids())
    return draft(arch, knowledge)


MINI = """
version: 1
system: {name: Mini}
data:
  - {id: a, name: Alpha, classification: restricted, tags: [pci]}
  - {id: b, name: Beta, classification: confidential, tags: [pii]}
  - {id: c, name: Gamma, classification: internal}
zones:
  - {id: net, trust: untrusted}
  - {id: dc, trust: internal}
components:
  - {id: client, type: browser, zone: net}
  - {id: app, name: App, type: service, zone: dc}
  - {id: db, name: Main DB, type: database, zone: dc, stores: [a, b, c]}
flows:
  - {id: f1, from: client, to: app, protocol: https, data: [a, b], authentication: session}
  - {id: f2, from: app, to: db, protocol: sql, data: [a, b, c], authentication: password}
"""


def test_bundled_example_reads_like_a_first_pass(knowledge):
    result = draft_file(EXAMPLE)
    threats = result.model.threats
    assert 20 <= len(threats) <= 40, len(threats)
    assert {t.category.value for t in threats} == {
        "spoofing", "tampering", "repudiation", "information_disclosure",
        "denial_of_service", "elevation_of_privilege",
    }
    keys = Counter((t.rule, t.target) for t in threats)
    assert max(keys.values()) == 1
    titles = Counter((t.target, t.title) for t in threats)
    assert max(titles.values()) == 1, [k for k, v in titles.items() if v > 1]


def test_one_threat_per_rule_and_target_lists_all_data(knowledge):
    model = _draft(MINI, knowledge)
    on_flow = [t for t in model.threats if t.target == "f2" and t.rule == "FLOW-INFO-EAVESDROP"]
    assert len(on_flow) == 1
    assert on_flow[0].data == ["a", "b", "c"]
    assert "Alpha" in on_flow[0].description and "Gamma" in on_flow[0].description


def test_mtls_flow_is_mitigated_not_unencrypted(knowledge):
    text = MINI.replace("protocol: sql, data: [a, b, c], authentication: password",
                        "protocol: mtls, data: [a, b, c], authentication: mtls")
    model = _draft(text, knowledge)
    on_flow = [t for t in model.threats if t.target == "f2"]
    eaves = [t for t in on_flow if t.rule == "FLOW-INFO-EAVESDROP"]
    assert eaves and eaves[0].coverage == "mitigated"
    assert "mtls" in eaves[0].current_mitigations
    assert not any("unencrypted" in t.title.lower() or "plaintext" in t.title.lower() for t in on_flow)


def test_baseline_control_is_shown_not_dropped(knowledge):
    text = MINI + """
baseline:
  - control: tls
    applies_to: {flow: f2}
    note: Database connections are TLS-only (SEC-3)
"""
    model = _draft(text, knowledge)
    eaves = next(t for t in model.threats if t.target == "f2" and t.rule == "FLOW-INFO-EAVESDROP")
    assert eaves.coverage == "mitigated"
    detail = next(d for d in eaves.mitigation_details if d.control == "tls")
    assert detail.via == "baseline" and "SEC-3" in detail.note


def test_severity_has_reasons_and_follows_factors(knowledge):
    model = _draft(MINI, knowledge)
    for t in model.threats:
        value = t.likelihood.base
        for f in t.likelihood.factors:
            assert f.reason
            value = max(1, min(5, value + f.delta))
        assert value == t.likelihood.value
        assert t.inherent.likelihood == t.likelihood.value and t.inherent.impact == t.impact.value
        assert t.current.likelihood <= t.inherent.likelihood
        assert t.severity == t.current.severity
        assert str(t.likelihood.value) in t.severity_reason


def test_restricted_pci_data_raises_confidentiality_impact(knowledge):
    model = _draft(MINI, knowledge)
    f2 = next(t for t in model.threats if t.target == "f2" and t.rule == "FLOW-INFO-EAVESDROP")
    assert f2.impact.value == 5
    public = MINI.replace("classification: restricted, tags: [pci]", "classification: public").replace(
        "classification: confidential, tags: [pii]", "classification: public").replace(
        "{id: c, name: Gamma, classification: internal}", "{id: c, name: Gamma, classification: internal}")
    model2 = _draft(public, knowledge)
    f2b = next(t for t in model2.threats if t.target == "f2" and t.rule == "FLOW-INFO-EAVESDROP")
    assert f2b.impact.value < f2.impact.value


def test_organisation_pack_adds_and_replaces_rules(tmp_path, knowledge):
    pack = tmp_path / "ours"
    pack.mkdir()
    (pack / "extra.yaml").write_text(
        """
pack: ours
rules:
  - id: OURS-DB-DUMP
    category: information_disclosure
    applies_to: component
    when: {type: database}
    title: Nightly dump of {component.name} copied to laptops
    description: Analysts copy the nightly dump of {component.name} holding {data.names} to unmanaged laptops.
    addressed_by: [encryption-at-rest]
  - id: FLOW-INFO-EAVESDROP
    category: information_disclosure
    applies_to: flow
    when: {data.classification: {gte: restricted}}
    title: Our wording for sniffing {flow.name}
    description: Someone on the path sniffs {data.names} between {source.name} and {target.name}.
    addressed_by: [tls]
""",
        encoding="utf-8",
    )
    result = draft_file(EXAMPLE, rule_dirs=[pack])
    ours = [t for t in result.model.threats if t.rule == "OURS-DB-DUMP"]
    assert [t.target for t in ours] == ["payments-db"]
    assert "ours" in result.model.generator.rule_packs
    replaced = [t for t in result.model.threats if t.rule == "FLOW-INFO-EAVESDROP"]
    assert replaced and all(t.title.startswith("Our wording") for t in replaced)


def test_rules_check_reports_failing_fixture(tmp_path):
    pack = tmp_path / "bad"
    pack.mkdir()
    (tmp_path / "fx.yaml").write_text(
        "version: 1\nsystem: {name: fx}\nzones: [{id: z, trust: internal}]\n"
        "components: [{id: q, type: queue, zone: z}]\n", encoding="utf-8")
    (pack / "p.yaml").write_text(
        """
rules:
  - id: OURS-NEVER
    category: tampering
    applies_to: component
    when: {type: database}
    title: Database tampering
    description: Tampering with the data held in {component.name}.
    addressed_by: [backup]
    fixtures: {fires: ["../fx.yaml#q"]}
""", encoding="utf-8")
    res = runner.invoke(app, ["rules", "check", str(pack)])
    assert res.exit_code == 1
    assert "OURS-NEVER" in res.output and "did not" in res.output


def test_rule_pack_schema_error_is_located(tmp_path):
    pack = tmp_path / "bad"
    pack.mkdir()
    (pack / "p.yaml").write_text(
        """rules:
  - id: OURS-TYPO
    category: tampering
    applies_to: component
    when: {tpye: database}
    title: Database tampering
    description: Tampering with the data held in {component.name}.
    addressed_by: [backup]
""", encoding="utf-8")
    res = runner.invoke(app, ["rules", "check", str(pack)])
    assert res.exit_code == 2
    assert "p.yaml:5" in res.output and "did you mean 'type'" in res.output


def test_every_bundled_rule_has_a_firing_fixture_and_passes():
    res = runner.invoke(app, ["rules", "check"])
    assert res.exit_code == 0, res.output
    assert "no fixtures" not in res.output


def test_json_contract_fields(knowledge):
    res = runner.invoke(app, ["draft", str(EXAMPLE), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["version"] == 1 and doc["system"] == "Payment processing endpoint"
    for t in doc["threats"]:
        for key in ("id", "target", "target_kind", "category", "title", "description", "severity",
                    "current_mitigations", "proposed_mitigations", "status", "source"):
            assert key in t
        assert t["status"] == "draft" and t["source"].startswith("rule:")
    mids = {m["id"] for m in doc["mitigations"]}
    for t in doc["threats"]:
        assert set(t["proposed_mitigations"]) <= mids
