"""Stable identity: same input, same bytes; unrelated edits leave threat ids alone.

Threat ids are what review decisions hang on, so they must depend on what a
threat is about (rule, element ids) and on nothing else: not on position in the
file, not on display names, not on other elements, not on the run.

Besides the bundled packs, a small test pack adds one rule per element kind with
templates whose text depends on other elements ({callers}, {components.names}),
so component, flow and zone threats are all covered whatever the bundled packs hold.
"""

from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML

from threatline.engine.draft import draft
from threatline.engine.ids import stable_id
from threatline.formats.architecture_yaml import load_architecture_text
from threatline.formats.knowledge_packs import load_knowledge
from threatline.formats.yamlio import dump_yaml
from threatline.service import OUTPUTS

TEST_PACK = """\
pack: stable-id-tests
rules:
  - id: TEST-STABLE-COMPONENT
    category: tampering
    applies_to: component
    title: Test threat on {component.name}
    description: >-
      {component.name} in {zone.name} is called by {callers}, calls {callees}
      and holds {data.names}.
    addressed_by: [audit-logging]
  - id: TEST-STABLE-FLOW
    category: information_disclosure
    applies_to: flow
    title: Test threat on {flow.name}
    description: >-
      {source.name} sends {data.names} to {target.name} over {flow.protocol}.
    addressed_by: [audit-logging]
  - id: TEST-STABLE-ZONE
    category: repudiation
    applies_to: zone
    title: Test threat on {zone.name}
    description: >-
      {zone.name} holds {components.names} and {data.names}.
    addressed_by: [audit-logging]
"""

NEW_COMPONENT = """\
  - id: reporting-db
    name: Reporting database
    type: database
    zone: corp
    tech: clickhouse
    stores: [transaction-records]

"""
NEW_FLOW = """\
  - id: payment-to-reporting
    name: Export to reporting
    from: payment-api
    to: reporting-db
    protocol: sql
    data: [transaction-records]
    authentication: password

"""


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    rules = tmp_path_factory.mktemp("rules")
    (rules / "stable-id-tests.yaml").write_text(TEST_PACK)
    return load_knowledge([rules])


def _draft(text: str, knowledge):
    arch, warnings = load_architecture_text(text, "architecture.yaml", knowledge.control_ids())
    assert not warnings
    return draft(arch, knowledge, source_file="architecture.yaml", source_sha256="0" * 64), arch


def _identity(model) -> dict[str, tuple]:
    return {t.id: (t.target, t.target_kind, t.category.value, t.rule) for t in model.threats}


def _rendered(model, arch) -> dict[str, str]:
    return {name: exporter.render(model, arch) for name, exporter in OUTPUTS.items()}


def _reordered(text: str) -> str:
    data = YAML(typ="safe").load(text)
    for key in ("zones", "components", "flows", "data", "baseline"):
        data[key] = list(reversed(data[key]))
    return dump_yaml(data)


# ---------------------------------------------------------------- same input, same bytes


def test_drafting_the_example_twice_gives_identical_files(tmp_path, cli, example_text):
    arch = tmp_path / "architecture.yaml"
    arch.write_text(example_text)
    outputs = {}
    for run in ("a", "b"):
        result = cli("draft", arch, "-o", tmp_path / run, "-q")
        assert result.exit_code == 0, result.output
        outputs[run] = {name: (tmp_path / run / name).read_bytes() for name in ("threatmodel.yaml", "threatmodel.md")}
    assert outputs["a"] == outputs["b"]
    assert b"T-" in outputs["a"]["threatmodel.yaml"]


def test_redrafting_over_its_own_output_changes_nothing(tmp_path, cli, example_text):
    arch = tmp_path / "architecture.yaml"
    arch.write_text(example_text)
    assert cli("draft", arch, "-q").exit_code == 0
    first = {p: (tmp_path / p).read_bytes() for p in ("threatmodel.yaml", "threatmodel.md")}
    result = cli("draft", arch, "-q")
    assert result.exit_code == 0, result.output
    assert {p: (tmp_path / p).read_bytes() for p in first} == first


def test_json_is_identical_across_runs_and_agrees_with_the_yaml(tmp_path, cli, example_text):
    arch = tmp_path / "architecture.yaml"
    arch.write_text(example_text)
    first = cli("draft", arch, "--format", "json")
    second = cli("draft", arch, "--format", "json")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    ids = [t["id"] for t in doc["threats"]]
    assert ids and len(ids) == len(set(ids))
    assert all(i.startswith("T-") and len(i) == 12 for i in ids)
    assert not list(tmp_path.glob("threatmodel.*")), "--format json writes nothing"

    assert cli("draft", arch, "-o", tmp_path / "out", "-q").exit_code == 0
    written = YAML(typ="safe").load((tmp_path / "out" / "threatmodel.yaml").read_text())
    assert [t["id"] for t in written["threats"]] == ids


def test_the_file_location_does_not_change_ids(tmp_path, cli, example_text):
    ids = []
    for sub in ("one", "two/deeper"):
        d = tmp_path / sub
        d.mkdir(parents=True)
        (d / "architecture.yaml").write_text(example_text)
        result = cli("draft", d / "architecture.yaml", "--format", "json")
        assert result.exit_code == 0
        ids.append([t["id"] for t in json.loads(result.stdout)["threats"]])
    assert ids[0] == ids[1]


def test_id_scheme_is_pinned(knowledge, example_text):
    """Changing how ids are computed detaches every recorded review decision."""
    model, _ = _draft(example_text, knowledge)
    by_key = {(t.rule, t.target): t.id for t in model.threats}
    assert stable_id("T", "TEST-STABLE-COMPONENT", "component", "payment-api") == "T-ec30172baf"
    assert by_key[("TEST-STABLE-COMPONENT", "payment-api")] == "T-ec30172baf"
    assert by_key[("TEST-STABLE-FLOW", "checkout-submit")] == stable_id(
        "T", "TEST-STABLE-FLOW", "flow", "checkout-submit", "browser", "api-gateway"
    )
    assert by_key[("TEST-STABLE-ZONE", "cde")] == stable_id("T", "TEST-STABLE-ZONE", "zone", "cde")


# ---------------------------------------------------------------- unrelated edits


def test_adding_a_component_and_a_flow_to_it_keeps_every_existing_id(knowledge, example_text):
    before, _ = _draft(example_text, knowledge)
    edited = example_text.replace("\nflows:\n", "\n" + NEW_COMPONENT + "flows:\n").replace(
        "\nbaseline:\n", "\n" + NEW_FLOW + "baseline:\n"
    )
    after, arch = _draft(edited, knowledge)
    assert "reporting-db" in {c.id for c in arch.components}
    old, new = _identity(before), _identity(after)
    assert {kind for _, kind, _, _ in old.values()} == {"component", "flow", "zone"}
    missing = {i: old[i] for i in old if i not in new}
    assert not missing, f"threats lost or renamed by an unrelated addition: {missing}"
    for tid, ident in old.items():
        assert new[tid] == ident
    added = {new[i][0] for i in set(new) - set(old)}
    assert {"reporting-db", "payment-to-reporting"} <= added


def test_adding_a_disconnected_part_changes_nothing_about_existing_threats(knowledge, example_text):
    before, _ = _draft(example_text, knowledge)
    island = (
        "  - id: analytics\n    name: Analytics account\n    trust: internal\n\n"
    )
    island_components = (
        "  - id: bi-tool\n    name: BI tool\n    type: web-app\n    zone: analytics\n\n"
        "  - id: warehouse\n    name: Warehouse\n    type: database\n    zone: analytics\n\n"
    )
    island_flow = (
        "  - id: bi-query\n    from: bi-tool\n    to: warehouse\n    protocol: sql\n"
        "    authentication: password\n\n"
    )
    edited = (
        example_text.replace("\ncomponents:\n", "\n" + island + "components:\n")
        .replace("\nflows:\n", "\n" + island_components + "flows:\n")
        .replace("\nbaseline:\n", "\n" + island_flow + "baseline:\n")
    )
    after, _ = _draft(edited, knowledge)
    new = {t.id: t for t in after.threats}
    for t in before.threats:
        assert t.id in new
        assert new[t.id].model_dump() == t.model_dump(), f"{t.id} ({t.rule} on {t.target}) changed"


# ---------------------------------------------------------------- order and names


def test_reordering_the_document_keeps_ids(knowledge, example_text):
    before, _ = _draft(example_text, knowledge)
    after, arch = _draft(_reordered(example_text), knowledge)
    assert next(c.id for c in arch.components) == "payment-processor"  # really reordered
    assert _identity(after) == _identity(before)
    assert [t.id for t in after.threats] == [t.id for t in before.threats], "threat order follows ids, not the file"
    assert [m.id for m in after.mitigations] == [m.id for m in before.mitigations]
    for a, b in zip(before.threats, after.threats, strict=True):
        assert (a.title, a.severity, a.data) == (b.title, b.severity, b.data)


def test_reordering_the_document_gives_the_same_output(knowledge, example_text):
    before = _rendered(*_draft(example_text, knowledge))
    after = _rendered(*_draft(_reordered(example_text), knowledge))
    for name in before:
        assert before[name] == after[name], f"{name} output depends on the order of the file"


def test_display_names_do_not_change_ids(knowledge, example_text):
    data = YAML(typ="safe").load(example_text)
    data["system"]["name"] = "Renamed system"
    for key in ("zones", "components", "flows", "data"):
        for item in data[key]:
            # A data asset's name says what it is ("CVV"), which rules may read: keep its words.
            kept = f": {item.get('name', '')}" if key == "data" else ""
            item["name"] = f"Renamed {item['id']} ({key}){kept}"
    before, _ = _draft(example_text, knowledge)
    after, _ = _draft(dump_yaml(data), knowledge)
    assert _identity(after) == _identity(before)
    assert [m.id for m in after.mitigations] == [m.id for m in before.mitigations]
    # The names did reach the text, so the comparison above is not vacuous.
    assert any("Renamed payment-api (components)" in t.title for t in after.threats)


def test_renaming_an_id_changes_only_the_threats_about_it(knowledge, example_text):
    """The converse: ids follow element ids, so renaming one id moves exactly its threats."""
    before, _ = _draft(example_text, knowledge)
    edited = example_text.replace("id: fraud-scoring", "id: fraud-engine").replace(
        "to: fraud-scoring", "to: fraud-engine"
    )
    after, _ = _draft(edited, knowledge)
    old, new = _identity(before), _identity(after)
    gone = {i for i in old if i not in new}
    assert gone, "renaming an element id must move its threats"
    assert all(old[i][0] in ("fraud-scoring", "payment-to-fraud") for i in gone)
    assert {new[i][0] for i in set(new) - set(old)} <= {"fraud-engine", "payment-to-fraud"}
