"""The rule condition language: every operator, nesting, and the compile-time errors."""

from __future__ import annotations

import pytest

from threatline.engine.conditions import Compiler, ConditionError, FactSpec
from threatline.engine.facts import COMPONENT_FACTS, FLOW_FACTS, OPEN_PREFIXES

VOCAB = {
    "name": FactSpec("str", "a string"),
    "type": FactSpec("str", "a string"),
    "flag": FactSpec("bool", "a boolean"),
    "count": FactSpec("int", "a number"),
    "tags": FactSpec("list", "a list"),
    "trust": FactSpec("trust", "trust level"),
    "other.trust": FactSpec("trust", "another trust level"),
    "classification": FactSpec("classification", "classification"),
    "other.classification": FactSpec("classification", "another classification"),
    "value": FactSpec("any", "free-form"),
}

C = Compiler(VOCAB, open_prefixes=["properties."])

FACTS = {
    "name": "Payment API",
    "type": "service",
    "flag": True,
    "count": 3,
    "tags": ["pci", "PII"],
    "trust": "partner",
    "other.trust": "internal",
    "classification": "confidential",
    "other.classification": "public",
    "value": 2.5,
    "properties.owner": "Team-A",
    "properties.regions": ["eu", "us"],
}


def holds(cond, facts=FACTS) -> bool:
    return C.compile(cond)(facts)


def error(cond) -> str:
    with pytest.raises(ConditionError) as exc:
        C.compile(cond)
    return str(exc.value)


# ---------------------------------------------------------------- equality


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"type": "service"}, True),
        ({"type": "SERVICE"}, True),  # case-insensitive
        ({"type": "database"}, False),
        ({"type": {"eq": "service"}}, True),
        ({"type": {"eq": "api"}}, False),
        ({"type": {"ne": "api"}}, True),
        ({"type": {"ne": "service"}}, False),
        ({"flag": True}, True),
        ({"flag": False}, False),
        ({"count": 3}, True),
        ({"count": {"ne": 3}}, False),
        ({"tags": "pci"}, True),  # plain value on a list fact: the list contains it
        ({"tags": "pii"}, True),  # case-insensitive members
        ({"tags": "phi"}, False),
        ({"tags": {"ne": "phi"}}, True),
        ({"trust": "partner"}, True),
        ({"trust": {"eq": "internal"}}, False),
        ({"properties.owner": "TEAM-A"}, True),
        ({"properties.regions": "eu"}, True),  # a free-form list: membership, as for list facts
        ({"properties.regions": {"ne": "eu"}}, False),
        ({"properties.regions": "asia"}, False),
    ],
)
def test_equality(cond, expected):
    assert holds(cond) is expected


def test_equality_against_an_absent_fact_is_false_and_null_matches_it():
    assert holds({"type": "service"}, {}) is False
    assert holds({"type": None}, {}) is True
    assert holds({"type": {"ne": "service"}}, {}) is True


# ---------------------------------------------------------------- membership


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"type": {"in": ["api", "service"]}}, True),
        ({"type": {"in": ["api", "database"]}}, False),
        ({"type": {"not_in": ["api", "database"]}}, True),
        ({"type": {"not_in": ["service"]}}, False),
        ({"tags": {"in": ["phi", "pci"]}}, True),  # list fact: any overlap
        ({"tags": {"in": ["phi"]}}, False),
        ({"tags": {"any": ["phi", "pii"]}}, True),
        ({"tags": {"any": ["phi", "secret"]}}, False),
        ({"tags": {"all": ["pci", "pii"]}}, True),
        ({"tags": {"all": ["pci", "phi"]}}, False),
        ({"tags": {"none": ["phi", "secret"]}}, True),
        ({"tags": {"none": ["phi", "pci"]}}, False),
        ({"tags": {"not_in": ["pci"]}}, False),
        ({"trust": {"in": ["untrusted", "partner"]}}, True),
        ({"trust": {"not_in": ["untrusted", "partner"]}}, False),
        ({"properties.regions": {"any": ["us"]}}, True),
        ({"properties.regions": {"none": ["us"]}}, False),
        ({"properties.regions": {"all": ["us", "eu"]}}, True),
    ],
)
def test_membership(cond, expected):
    assert holds(cond) is expected


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"name": {"contains": "payment"}}, True),  # substring, case-insensitive
        ({"name": {"contains": "ledger"}}, False),
        ({"tags": {"contains": "pci"}}, True),  # list: a member
        ({"tags": {"contains": "pc"}}, False),  # ... not a substring of one
        ({"name": {"contains_any": ["ledger", " api"]}}, True),
        ({"name": {"contains_any": ["ledger", "queue"]}}, False),
        ({"tags": {"contains_any": ["pi"]}}, True),  # substring of the joined list
    ],
)
def test_contains(cond, expected):
    assert holds(cond) is expected


def test_list_operators_on_an_absent_fact():
    assert holds({"tags": {"any": ["pci"]}}, {}) is False
    assert holds({"tags": {"none": ["pci"]}}, {}) is True
    assert holds({"tags": {"all": ["pci"]}}, {}) is False
    assert holds({"name": {"contains": "x"}}, {}) is False


# ---------------------------------------------------------------- order


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"count": {"gt": 2}}, True),
        ({"count": {"gt": 3}}, False),
        ({"count": {"gte": 3}}, True),
        ({"count": {"gte": 4}}, False),
        ({"count": {"lt": 4}}, True),
        ({"count": {"lt": 3}}, False),
        ({"count": {"lte": 3}}, True),
        ({"count": {"lte": 2}}, False),
        ({"count": {"gt": 1, "lt": 5}}, True),  # several operators: all hold
        ({"count": {"gt": 1, "lt": 3}}, False),
        ({"value": {"gt": 2}}, True),  # free-form facts compare as numbers
        ({"value": {"lte": 2}}, False),
        # trust: untrusted < partner < internal < restricted; the fact is 'partner'
        ({"trust": {"lte": "partner"}}, True),
        ({"trust": {"lt": "partner"}}, False),
        ({"trust": {"gt": "untrusted"}}, True),
        ({"trust": {"gte": "internal"}}, False),
        ({"trust": {"lt": "restricted"}}, True),
        # classification: public < internal < confidential < restricted; the fact is 'confidential'
        ({"classification": {"gte": "confidential"}}, True),
        ({"classification": {"gt": "confidential"}}, False),
        ({"classification": {"lt": "restricted"}}, True),
        ({"classification": {"lte": "internal"}}, False),
    ],
)
def test_ordered_comparisons(cond, expected):
    assert holds(cond) is expected


def test_ordered_comparisons_never_hold_on_absent_or_non_numeric_values():
    for op in ("gt", "gte", "lt", "lte"):
        assert holds({"count": {op: 0}}, {}) is False
        assert holds({"trust": {op: "partner"}}, {}) is False
        assert holds({"value": {op: 0}}, {"value": "many"}) is False
        assert holds({"value": {op: 0}}, {"value": True}) is False  # a bool is not a number
        assert holds({"trust": {op: "partner"}}, {"trust": "bogus"}) is False


@pytest.mark.parametrize(
    ("cond", "facts", "expected"),
    [
        ({"trust": {"below": "other.trust"}}, {"trust": "partner", "other.trust": "internal"}, True),
        ({"trust": {"below": "other.trust"}}, {"trust": "internal", "other.trust": "internal"}, False),
        ({"trust": {"below": "other.trust"}}, {"trust": "restricted", "other.trust": "internal"}, False),
        ({"trust": {"above": "other.trust"}}, {"trust": "restricted", "other.trust": "internal"}, True),
        ({"trust": {"above": "other.trust"}}, {"trust": "partner", "other.trust": "internal"}, False),
        ({"trust": {"above": "other.trust"}}, {"trust": "partner"}, False),  # other side absent
        (
            {"classification": {"above": "other.classification"}},
            {"classification": "confidential", "other.classification": "public"},
            True,
        ),
        (
            {"classification": {"below": "other.classification"}},
            {"classification": "confidential", "other.classification": "public"},
            False,
        ),
    ],
)
def test_below_and_above_compare_two_facts_on_one_scale(cond, facts, expected):
    assert holds(cond, facts) is expected


@pytest.mark.parametrize(
    ("cond", "facts", "expected"),
    [
        ({"name": {"exists": True}}, {"name": "x"}, True),
        ({"name": {"exists": True}}, {"name": ""}, False),
        ({"name": {"exists": True}}, {}, False),
        ({"name": {"exists": False}}, {}, True),
        ({"tags": {"exists": True}}, {"tags": []}, False),
        ({"tags": {"exists": True}}, {"tags": ["a"]}, True),
        ({"count": {"exists": True}}, {"count": 0}, True),  # zero is a value
        ({"properties.owner": {"exists": True}}, {"properties.owner": "a"}, True),
        ({"properties.owner": {"exists": False}}, {}, True),
    ],
)
def test_exists(cond, facts, expected):
    assert holds(cond, facts) is expected


# ---------------------------------------------------------------- combinators


def test_all_any_not_and_nesting():
    assert holds({"all": [{"type": "service"}, {"flag": True}]}) is True
    assert holds({"all": [{"type": "service"}, {"flag": False}]}) is False
    assert holds({"any": [{"type": "api"}, {"flag": True}]}) is True
    assert holds({"any": [{"type": "api"}, {"flag": False}]}) is False
    assert holds({"not": {"type": "api"}}) is True
    assert holds({"not": {"type": "service"}}) is False
    nested = {
        "all": [
            {"any": [{"type": "api"}, {"tags": {"any": ["pci"]}}]},
            {"not": {"any": [{"trust": "untrusted"}, {"count": {"gt": 10}}]}},
            {"not": {"not": {"flag": True}}},
        ]
    }
    assert holds(nested) is True
    assert holds(nested, {**FACTS, "count": 11}) is False
    assert holds(nested, {**FACTS, "tags": [], "type": "db"}) is False


def test_several_keys_in_one_mapping_must_all_hold():
    assert holds({"type": "service", "flag": True}) is True
    assert holds({"type": "service", "flag": False}) is False
    assert holds({"type": "service", "not": {"flag": True}}) is False


def test_a_list_of_conditions_means_all_of_them():
    assert holds([{"type": "service"}, {"count": 3}]) is True
    assert holds([{"type": "service"}, {"count": 4}]) is False


def test_open_prefix_facts_are_free_form():
    assert holds({"properties.owner": "team-a"}) is True
    assert holds({"properties.owner": {"in": ["team-b", "team-a"]}}) is True
    assert holds({"properties.never_set": "x"}) is False


# ---------------------------------------------------------------- compile-time errors


def test_unknown_fact_is_an_error_with_did_you_mean():
    msg = error({"all": [{"type": "service"}, {"tgas": {"any": ["pci"]}}]})
    assert "unknown fact 'tgas'" in msg
    assert "did you mean 'tags'?" in msg
    assert msg.startswith("when.all[1].tgas")


def test_unknown_fact_did_you_mean_uses_the_real_vocabularies():
    with pytest.raises(ConditionError, match=r"unknown fact 'zone\.trst'; did you mean 'zone\.trust'\?"):
        Compiler(COMPONENT_FACTS, OPEN_PREFIXES["component"]).compile({"zone.trst": "internal"})
    with pytest.raises(ConditionError, match=r"did you mean 'source\.zone\.trust'\?"):
        Compiler(FLOW_FACTS, OPEN_PREFIXES["flow"]).compile({"source.zone.trus": {"lte": "partner"}})


def test_unknown_fact_without_a_close_match_has_no_guess():
    msg = error({"zzzzzzzz": 1})
    assert "unknown fact 'zzzzzzzz'" in msg
    assert "did you mean" not in msg


def test_a_bare_open_prefix_is_not_a_fact():
    assert "unknown fact 'properties.'" in error({"properties.": 1})


def test_unknown_operator_is_an_error_with_did_you_mean():
    msg = error({"count": {"gtee": 1}})
    assert "unknown operator 'gtee'" in msg
    assert "did you mean 'gte'?" in msg
    assert msg.startswith("when.count.gtee")
    assert "unknown operator 'matches'" in error({"name": {"matches": "x.*"}})


@pytest.mark.parametrize(
    "cond",
    [
        {"trust": {"lte": "partnr"}},
        {"trust": "trusted"},
        {"trust": {"ne": "medium"}},
        {"trust": {"in": ["untrusted", "dmz"]}},
        {"classification": {"gte": "secret"}},
        {"classification": {"not_in": ["top-secret"]}},
    ],
)
def test_bad_level_value_is_an_error_listing_the_levels(cond):
    msg = error(cond)
    assert "is not a" in msg
    assert "level" in msg
    if "trust" in cond:
        assert "untrusted, partner, internal, restricted" in msg
    else:
        assert "public, internal, confidential, restricted" in msg


@pytest.mark.parametrize(
    ("cond", "fragment"),
    [
        ({"count": {"gt": "three"}}, "needs a number"),
        ({"count": {"gt": True}}, "needs a number"),
        ({"name": {"gt": 1}}, "does not apply to str fact"),
        ({"tags": {"lte": 1}}, "does not apply to list fact"),
        ({"flag": {"lt": 1}}, "does not apply to bool fact"),
        ({"type": {"in": "service"}}, "takes a list"),
        ({"tags": {"all": "pci"}}, "takes a list"),
        ({"trust": {"below": "count"}}, "compares two"),
        ({"count": {"below": "count"}}, "compares two"),
        ({"trust": {"below": "classification"}}, "compares two"),
        ({"trust": {"below": "nope"}}, "unknown fact 'nope'"),
        ({"type": {}}, "empty matcher"),
        ({}, "non-empty mapping"),
        ("type", "non-empty mapping"),
        ({"all": []}, "non-empty list"),
        ({"any": {"type": "x"}}, "non-empty list"),
        ({"not": []}, "non-empty list"),
        ([], "non-empty list"),
        ({"type": ["api", "service"]}, "a list needs an operator"),
        ({"type": {"eq": ["api", "service"]}}, "compares with one value"),
        ({"tags": {"ne": ["pci"]}}, "compares with one value"),
    ],
)
def test_malformed_conditions_are_errors(cond, fragment):
    assert fragment in error(cond)


def test_errors_carry_the_path_to_the_offending_part():
    with pytest.raises(ConditionError) as exc:
        C.compile({"any": [{"type": "x"}, {"not": {"count": {"gt": "x"}}}]}, "rules[3].when")
    assert exc.value.path == "rules[3].when.any[1].not.count.gt"


def test_a_condition_is_data_not_code():
    """Nothing in a condition is evaluated: a Python expression is just a string to compare."""
    pred = C.compile({"name": "__import__('os').system('touch pwned')"})
    assert pred({"name": "Payment API"}) is False
    assert pred({"name": "__import__('os').system('touch pwned')"}) is True
