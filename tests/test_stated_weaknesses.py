"""Weaknesses an architecture states in words: the mentions_any operator, the `text`
fact, the {stated} quote and the stated-weaknesses pack."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from threatline.engine.conditions import (
    ConditionError,
    Phrases,
    _negated,
    _phrases,
    find_mention,
    mention_sentence,
)
from threatline.engine.draft import draft
from threatline.formats.architecture_yaml import load_architecture
from threatline.formats.knowledge_packs import (
    bundled_dir,
    load_controls,
    load_knowledge,
    load_rules,
)
from threatline.model.diagnostics import InputError

FIXTURE = bundled_dir() / "fixtures" / "stated-ops.yaml"


def mentions(text: str, *phrases: str) -> bool:
    return find_mention(text.lower(), _phrases(list(phrases), "test")) is not None


@pytest.mark.parametrize("text", [
    "Engineers sign in with a shared admin account",
    "Local user accounts shared by the contractor's engineers, no MFA",
    "shared accounts",
    "ops: shared account for the night shift",
])
def test_a_stated_phrase_is_a_mention(text: str) -> None:
    assert mentions(text, "shared admin account", "accounts shared", "shared account")


@pytest.mark.parametrize("text", [
    "No shared accounts are allowed",
    "We never use shared accounts",
    "Named accounts replaced the shared admin account in 2024",
    "Shared accounts are disabled",
    "Without a shared account, each engineer signs in",
    "Engineers don't use shared accounts",
])
def test_a_denied_phrase_is_not_a_mention(text: str) -> None:
    assert not mentions(text, "shared admin account", "shared account")


def test_denial_stops_at_the_clause() -> None:
    assert mentions("Planned migration to certificates (not yet done; shared keys today)", "shared key")
    assert mentions("No VPN, shared accounts for the contractor", "shared account")
    assert not mentions("no VPN and shared accounts", "shared account")  # same clause: read as denied


def test_a_phrase_carrying_its_own_negation_is_the_weakness() -> None:
    assert mentions("Password sign-in; there is no MFA", "no mfa")
    assert mentions("The key is never rotated", "never rotated")
    assert mentions("No second approval and no log of what was signed", "no log")


def test_word_boundaries_plurals_and_prefixes() -> None:
    assert not mentions("Design documents", "des")
    assert mentions("Uses DES for the legacy link", "des")
    assert mentions("three shared runners", "shared runner")
    assert not mentions("shared runnerless build", "shared runner")
    assert mentions("authors can self-approve", "self-approv*")
    assert not mentions("evaluation harness", "eval")


def test_a_gap_stands_for_up_to_two_words_of_the_same_clause() -> None:
    assert mentions("A shared operator login per line", "shared ... login")
    assert mentions("shared desk logins", "shared ... login")
    assert mentions('a shared "ops" login', "shared ... login")  # a quoted name is a word
    assert mentions("Accounts are shared by the shift", "account ... shared")
    assert mentions("shared login", "shared ... login")
    assert not mentions("shared a b c login", "shared ... login")  # three words: too far apart
    assert not mentions("shared drive, login by badge", "shared ... login")  # another clause
    assert not mentions("No shared operator login", "shared ... login")
    assert not mentions("sharedx login", "shared ... login")
    text = "Operators use a shared operator login per line. Engineers use named accounts."
    span = find_mention(text.lower(), _phrases(["shared ... login"], "t"))
    assert span is not None and text[span[0]:span[1]] == "shared operator login"
    assert mention_sentence(text, span) == "Operators use a shared operator login per line"


def test_a_gap_needs_words_on_both_sides() -> None:
    for bad in ("... login", "shared ...", "shared ... ... login"):
        with pytest.raises(ConditionError):
            _phrases([bad], "when.text.mentions_any")


def test_the_quote_is_the_sentence_around_the_mention() -> None:
    text = "Terminates tracker connections. Legacy units are identified by IMEI only. MQTT units use certificates."
    span = find_mention(text.lower(), _phrases(["identified by imei"], "t"))
    assert span is not None
    assert mention_sentence(text, span) == "Legacy units are identified by IMEI only"


def test_mentions_any_needs_a_list_of_phrases() -> None:
    with pytest.raises(ConditionError):
        _phrases([], "when.text.mentions_any")
    with pytest.raises(ConditionError):
        _phrases("shared account", "when.text.mentions_any")


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@given(phrase=WORDS, before=st.lists(WORDS, max_size=5), after=st.lists(WORDS, max_size=5))
@example(phrase="disable", before=[], after=[])
@example(phrase="denied", before=["shared"], after=["login"])
def test_property_a_phrase_alone_in_its_clause_is_found_and_denied_by_no(phrase, before, after):
    negators = {"no", "not", "never", "without", "nor", "none", "non"}
    if phrase in negators or any(w in negators for w in before + after):
        return
    found_alone = find_mention(phrase, _phrases([phrase], "p"))
    if _negated([phrase]):
        # A phrase that is itself a denial ("disable", "deny") carries its own negation,
        # which an earlier "no" does not undo; it is found alone (sometimes found is enough).
        assert found_alone is not None
        return
    found = find_mention(" ".join([*before, ".", phrase, ",", *after]), _phrases([phrase], "p"))
    assert found is not None
    text = " ".join([*before, ".", "no", phrase])
    span = find_mention(text, _phrases([phrase], "p"))
    # Only an earlier, undenied occurrence among the words before may still be found.
    assert span is None or span[0] < text.rindex("no " + phrase)


@given(text=st.text(max_size=200), phrases=st.lists(WORDS, min_size=1, max_size=3))
def test_property_a_mention_starts_with_a_phrase_at_a_word_start(text, phrases):
    span = find_mention(text.lower(), _phrases(phrases, "p"))
    if span is not None:
        start, end = span
        assert any(text.lower().startswith(p, start) for p in phrases)
        assert start == 0 or not text.lower()[start - 1].isalnum()
        assert end <= len(text)


@pytest.fixture(scope="module")
def stated_model():
    knowledge = load_knowledge()
    arch, _ = load_architecture(FIXTURE, set(knowledge.controls))
    return draft(arch, knowledge)


def _by_rule(model, rule: str, target: str):
    return [t for t in model.threats if t.rule == rule and t.target == target]


def test_stated_threats_quote_the_architecture_as_written(stated_model) -> None:
    [shared] = _by_rule(stated_model, "STATED-SHARED-ACCOUNTS", "ops-console")
    assert '"Engineers sign in with a shared admin account and password; there is no MFA"' in shared.description
    [transport] = _by_rule(stated_model, "STATED-WEAK-TRANSPORT", "orders-report")
    assert "sslmode=prefer" in transport.description and "does not require SSL" in transport.description


def test_a_description_stating_the_control_raises_no_weakness(stated_model) -> None:
    stated_on_clean = [t.rule for t in stated_model.threats
                       if t.target in ("clean-console", "billing-api", "hardened-db") and t.rule.startswith("STATED-")]
    assert stated_on_clean == []


def test_a_stated_threat_replaces_the_generic_one_it_sharpens(stated_model) -> None:
    assert _by_rule(stated_model, "STATED-SQL-BUILT", "orders-api")
    assert not _by_rule(stated_model, "SVC-SQL-INJECTION", "orders-api")


def _pack(tmp_path: Path, rule_body: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "ours.yaml").write_text("rules:\n" + rule_body)
    return d


def test_stated_without_mentions_any_is_a_located_load_error(tmp_path: Path) -> None:
    rules = _pack(tmp_path, """\
  - id: OURS-QUOTE
    category: spoofing
    applies_to: component
    when: {type: service}
    title: Quote {stated}
    description: This rule quotes a sentence it never looked for.
    addressed_by: [authn]
""")
    with pytest.raises(InputError) as err:
        load_knowledge([rules])
    text = str(err.value)
    assert "ours.yaml:" in text and "{stated}" in text and "mentions_any" in text


def test_an_organisation_rule_can_quote_its_own_mentions(tmp_path: Path) -> None:
    rules = _pack(tmp_path, """\
  - id: OURS-SHARED-KEY
    category: spoofing
    applies_to: component
    when:
      text: {mentions_any: [admin/admin]}
    title: Vendor password on {component.name}
    description: "{component.name}: {stated}. Change it before go-live."
    addressed_by: [authn]
""")
    knowledge = load_knowledge([rules])
    arch, _ = load_architecture(FIXTURE, set(knowledge.controls))
    [threat] = [t for t in draft(arch, knowledge).threats if t.rule == "OURS-SHARED-KEY"]
    assert threat.target == "thermostat"
    assert threat.description.startswith('Site thermostat: "Ships with the default password admin/admin". Change')


def test_a_when_from_borrowing_a_mentions_condition_may_quote() -> None:
    controls, aliases = load_controls([bundled_dir() / "controls.yaml"], bundled=1)
    loaded, _ = load_rules([bundled_dir() / "rules"], controls, aliases)
    by_id = {lr.rule.id: lr.rule for lr in loaded}
    assert by_id["STATED-SHARED-ACCOUNTS-REPUDIATION"].predicate is not None


PHRASE_TEXT = st.text(alphabet="ab -.s*'", min_size=1, max_size=12)


@given(text=st.text(alphabet="ab -.,s'n\no", max_size=80), raw=st.lists(PHRASE_TEXT, min_size=1, max_size=4))
def test_property_the_word_prefilter_never_changes_the_answer(text, raw):
    try:
        phrases = _phrases(raw, "p")
    except ConditionError:
        return  # a phrase of nothing but '*' and spaces is refused at load time
    searched_always = Phrases(phrases.items, phrases.first_words, unanchored=True)
    assert find_mention(text, phrases) == find_mention(text, searched_always)


def test_word_gates_come_from_the_top_level_conjunction_only() -> None:
    from threatline.engine.conditions import word_gates

    cond = {"all": [{"type": "service"}, {"text": {"mentions_any": ["shared ... login", "no mfa"]}}],
            "any": [{"description": {"mentions_any": ["debug"]}}],
            "not": {"name": {"mentions_any": ["test"]}}}
    [(fact, words)] = word_gates(cond)
    assert fact == "text" and {"shared", "no"} <= words and "debug" not in words and "test" not in words
    assert word_gates({"text": {"mentions_any": ["impersonat*"]}}) == ()  # no whole first word


def test_word_gates_never_change_a_draft(monkeypatch) -> None:
    """The engine skips a rule whose mentions_any words are absent from the element's text;
    drafting with the gates always open gives the same model."""
    from threatline.engine import draft as engine

    knowledge = load_knowledge()
    paths = [FIXTURE, Path(__file__).resolve().parents[1] / "examples" / "payments" / "architecture.yaml"]
    archs = [load_architecture(p, knowledge.control_ids())[0] for p in paths]
    gated = [draft(a, knowledge).model_dump(mode="json") for a in archs]
    monkeypatch.setattr(engine, "_through", lambda gates, facts, words: True)
    assert [draft(a, knowledge).model_dump(mode="json") for a in archs] == gated
    assert any(engine._prepared(r, knowledge).gates for r in knowledge.rules)
