"""`when_from`: a rule that holds exactly where another rule holds (one flaw, two categories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatline.engine.draft import draft
from threatline.formats.architecture_yaml import load_architecture_text
from threatline.formats.knowledge_packs import load_knowledge
from threatline.model.diagnostics import InputError

ARCH = """\
version: 1
system: {name: Shop}
data: [{id: orders, classification: confidential}]
zones: [{id: internet, trust: untrusted}, {id: app, trust: internal}]
components:
  - {id: user, type: actor, zone: internet}
  - {id: api, type: api, zone: app}
  - {id: worker, type: worker, zone: app}
flows:
  - {id: call, from: user, to: api, protocol: https, authentication: jwt, data: [orders]}
  - {id: job, from: api, to: worker, protocol: amqp, data: [orders]}
"""

BASE = """\
  - id: ORG-READ
    category: information_disclosure
    applies_to: component
    when: {type: api}
    title: Reading other users' objects in {component.name}
    description: Any caller of {component.name} reads objects of others by changing an id.
    addressed_by: [authz-rbac]
"""


def pack(tmp_path: Path, rules: str) -> Path:
    directory = tmp_path / "org-rules"
    directory.mkdir()
    (directory / "org.yaml").write_text("pack: org\nrules:\n" + rules, encoding="utf-8")
    return directory


def companion(source: str = "ORG-READ", applies_to: str = "component", extra: str = "") -> str:
    return f"""\
  - id: ORG-WRITE
    category: elevation_of_privilege
    applies_to: {applies_to}
    when_from: {source}
{extra}    title: Changing other users' objects in {{component.name}}
    description: Any caller of {{component.name}} changes objects of others by changing an id.
    addressed_by: [authz-rbac]
"""


def test_a_borrowed_condition_holds_exactly_where_the_other_rule_holds(tmp_path):
    knowledge = load_knowledge([pack(tmp_path, BASE + companion())])
    arch, _ = load_architecture_text(ARCH, "arch.yaml", knowledge.control_ids())
    model = draft(arch, knowledge)
    where = {rule: sorted(t.target for t in model.threats if t.rule == rule) for rule in ("ORG-READ", "ORG-WRITE")}
    assert where == {"ORG-READ": ["api"], "ORG-WRITE": ["api"]}
    write = next(t for t in model.threats if t.rule == "ORG-WRITE")
    assert write.category.value == "elevation_of_privilege"


def test_a_bundled_rule_can_lend_its_condition(tmp_path, knowledge):
    bundled = next(r for r in knowledge.rules if r.applies_to == "component" and r.when is not None)
    loaded = load_knowledge([pack(tmp_path, companion(source=bundled.id))])
    borrowed = next(r for r in loaded.rules if r.id == "ORG-WRITE")
    assert borrowed.when == bundled.when and borrowed.predicate is not None


@pytest.mark.parametrize(("rules", "message"), [
    (companion(source="ORG-NOPE"), "when_from names unknown rule 'ORG-NOPE'"),
    (BASE + companion(applies_to="flow").replace("{component.name}", "{flow.name}"),
     "when_from names ORG-READ, a component rule; ORG-WRITE applies to flow"),
    (BASE + companion() + companion(source="ORG-WRITE").replace("ORG-WRITE\n    category", "ORG-THIRD\n    category"),
     "when_from names ORG-WRITE, which borrows its own condition from ORG-READ"),
])
def test_bad_when_from_is_a_located_error(tmp_path, rules, message):
    with pytest.raises(InputError) as exc:
        load_knowledge([pack(tmp_path, rules)])
    d = exc.value.diagnostics[0]
    assert message in d.message
    assert d.file.endswith("org.yaml") and d.key.endswith(".when_from") and d.line is not None


def test_when_and_when_from_together_is_an_error(tmp_path):
    with pytest.raises(InputError) as exc:
        load_knowledge([pack(tmp_path, BASE + companion(extra="    when: {type: api}\n"))])
    assert "either 'when' or 'when_from'" in exc.value.diagnostics[0].message
