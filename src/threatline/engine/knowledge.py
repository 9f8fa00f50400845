"""Schemas of the knowledge packs: threat rules and the controls catalogue.

Packs are YAML data (src/threatline/knowledge/). This module validates already
parsed data and compiles rule conditions; reading files is the adapters' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from threatline.engine.conditions import Compiler, ConditionError, Predicate, _norm, mentions_in
from threatline.engine.facts import (
    COMPONENT_FACTS,
    FLOW_FACTS,
    OPEN_PREFIXES,
    TEMPLATE_VARIABLES,
    ZONE_FACTS,
)
from threatline.model.architecture import StrideCategory

ElementKind = Literal["component", "flow", "zone"]
Level = Literal["none", "low", "medium", "high"]

_TEMPLATE_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")

COMPILERS = {
    "component": Compiler(COMPONENT_FACTS, OPEN_PREFIXES["component"]),
    "flow": Compiler(FLOW_FACTS, OPEN_PREFIXES["flow"]),
    "zone": Compiler(ZONE_FACTS, OPEN_PREFIXES["zone"]),
}


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- controls


class ControlCost(_Doc):
    effort_days: tuple[float, float] = Field(description="person-days, low and high estimate")
    latency: Level = "none"
    latency_note: str = ""
    ops: Level = "none"
    ops_note: str = ""

    @field_validator("effort_days")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] < 0 or v[1] < v[0]:
            raise ValueError("effort_days is [low, high] with 0 <= low <= high")
        return v


class ControlEffect(_Doc):
    likelihood: int = Field(default=2, ge=0, le=4, description="steps it lowers likelihood")
    impact: int = Field(default=0, ge=0, le=4, description="steps it lowers impact")
    ineffective_when: list[str] = Field(default_factory=list)


class ControlReferences(_Doc):
    asvs: list[str] = Field(default_factory=list)
    nist: list[str] = Field(default_factory=list)
    cwe: list[str] = Field(default_factory=list)


class Control(_Doc):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    description: str
    mitigates: list[StrideCategory] = Field(min_length=1)
    placement: list[ElementKind] = Field(min_length=1)
    effect: ControlEffect = Field(default_factory=ControlEffect)
    cost: ControlCost
    references: ControlReferences = Field(default_factory=ControlReferences)
    aliases: list[str] = Field(default_factory=list)
    implied_by: dict[ElementKind, Any] = Field(default_factory=dict)
    # Compiled implied_by conditions; built by `compile`.
    compiled_implied: dict[str, Predicate] = Field(default_factory=dict, exclude=True, repr=False)

    def compile(self) -> None:
        self.compiled_implied = {}
        for kind, cond in self.implied_by.items():
            if "controls" in repr(cond):
                raise ConditionError(f"implied_by.{kind}", "an implied control cannot depend on 'controls'")
            self.compiled_implied[kind] = COMPILERS[kind].compile(cond, f"implied_by.{kind}")


class ControlCatalogue(_Doc):
    controls: list[Control]


# ---------------------------------------------------------------- rules


class AddressedBy(_Doc):
    control: str
    partial: bool = False
    # Only propose this control where the condition holds (e.g. no mTLS for browsers).
    when: Any = None
    predicate: Predicate | None = Field(default=None, exclude=True, repr=False)
    # Where the control goes: the threatened element itself, a flow's source or
    # target component, or the element's zone.
    at: Literal["element", "source", "target", "zone"] = "element"


class ImpactSpec(_Doc):
    dimension: Literal["confidentiality", "integrity", "availability"] | None = None
    base: int | None = Field(default=None, ge=1, le=5)
    min: int = Field(default=1, ge=1, le=5)
    reason: str = ""


class Fixtures(_Doc):
    """Example architectures a rule is checked against: 'file.yaml#element-id'.

    fires: the rule yields a threat on that element; mitigated: it does, and the
    threat is fully covered by a control in place; silent: it yields none.
    """

    fires: list[str] = Field(default_factory=list)
    mitigated: list[str] = Field(default_factory=list)
    silent: list[str] = Field(default_factory=list)


class Rule(_Doc):
    id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]*$")
    category: StrideCategory
    applies_to: ElementKind
    when: Any = None
    # The condition of another rule, for a second threat wherever that one holds (the same
    # flaw seen from another STRIDE category): resolved when all packs are loaded.
    when_from: str | None = None
    title: str = Field(min_length=5)
    description: str = Field(min_length=20)
    likelihood: int = Field(default=3, ge=1, le=5)
    likelihood_reason: str = ""
    impact: ImpactSpec = Field(default_factory=ImpactSpec)
    cwe: list[str] = Field(default_factory=list)
    capec: list[str] = Field(default_factory=list)
    addressed_by: list[AddressedBy] = Field(min_length=1)
    fixtures: Fixtures = Field(default_factory=Fixtures)
    references: list[str] = Field(default_factory=list)
    supersedes: list[str] = Field(default_factory=list)
    pack: str = ""
    predicate: Predicate | None = Field(default=None, exclude=True, repr=False)
    type_filter: frozenset[str] | None = Field(default=None, exclude=True, repr=False)

    @field_validator("addressed_by", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"control": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("cwe")
    @classmethod
    def _cwe(cls, value: list[str]) -> list[str]:
        for v in value:
            if not re.fullmatch(r"CWE-\d+", v):
                raise ValueError(f"'{v}' is not a CWE id like CWE-89")
        return value

    @field_validator("capec")
    @classmethod
    def _capec(cls, value: list[str]) -> list[str]:
        for v in value:
            if not re.fullmatch(r"CAPEC-\d+", v):
                raise ValueError(f"'{v}' is not a CAPEC id like CAPEC-66")
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if self.when is not None and self.when_from is not None:
            raise ValueError("give either 'when' or 'when_from', not both")
        return self

    @model_validator(mode="after")
    def _templates(self) -> Rule:
        allowed = TEMPLATE_VARIABLES[self.applies_to]
        for attr in ("title", "description"):
            for var in _TEMPLATE_VAR.findall(getattr(self, attr)):
                if var not in allowed:
                    raise ValueError(
                        f"{attr} uses unknown variable {{{var}}}; for {self.applies_to} rules: "
                        + ", ".join(sorted(allowed))
                    )
        return self

    def compile(self) -> None:
        if self.when_from is not None and self.when is None:
            self.predicate = None  # never fires until resolve_when_from() copies the other rule's condition
        else:
            self.predicate = (
                COMPILERS[self.applies_to].compile(self.when, "when") if self.when is not None else (lambda f: True)
            )
        for i, ab in enumerate(self.addressed_by):
            if ab.when is not None:
                ab.predicate = COMPILERS[self.applies_to].compile(ab.when, f"addressed_by.{i}.when")
        self.type_filter = _type_filter(self.when) if self.applies_to == "component" else None
        if self.predicate is not None and self.uses_stated() and not mentions_in(self.when):
            raise ConditionError("title", "{stated} quotes what a mentions_any condition found; "
                                 "this rule's condition has none (outside a 'not')")

    def uses_stated(self) -> bool:
        return "stated" in _TEMPLATE_VAR.findall(self.title + " " + self.description)


def resolve_when_from(rules: dict[str, Rule]) -> list[tuple[Rule, str]]:
    """Give each rule with `when_from` the condition of the rule it names, and compile it.
    Returns (rule, problem) for a name that is unknown, of another element kind, or itself
    borrowed (one level only, so that a condition is always written out in one place)."""
    problems: list[tuple[Rule, str]] = []
    for rule in rules.values():
        if rule.when_from is None:
            continue
        source = rules.get(rule.when_from)
        if source is None:
            problems.append((rule, f"when_from names unknown rule '{rule.when_from}'"))
        elif source.applies_to != rule.applies_to:
            problems.append((rule, f"when_from names {source.id}, a {source.applies_to} rule; {rule.id} applies to "
                                   f"{rule.applies_to}"))
        elif source.when_from is not None:
            problems.append((rule, f"when_from names {source.id}, which borrows its own condition from "
                                   f"{source.when_from}: name {source.when_from} instead"))
        else:
            rule.when = source.when
            try:
                rule.compile()
            except ConditionError as exc:
                problems.append((rule, f"with the condition of {source.id}: {exc}"))
    return problems


def _type_filter(cond: Any) -> frozenset[str] | None:
    """Component types a condition can match at all, when its top level pins them."""
    if not isinstance(cond, dict):
        return None
    candidates: list[Any] = []
    if "type" in cond:
        candidates.append(cond["type"])
    for item in cond.get("all", []) if isinstance(cond.get("all"), list) else []:
        if isinstance(item, dict) and "type" in item:
            candidates.append(item["type"])
    for matcher in candidates:
        if isinstance(matcher, str):
            return frozenset([matcher])
        if isinstance(matcher, dict) and set(matcher) == {"in"} and isinstance(matcher["in"], list):
            return frozenset(str(v) for v in matcher["in"])
    return None


# Single-valued facts rules most often pin at the top of their condition (the
# component type; a flow's endpoint types and protocol): drafting groups elements
# by these values and evaluates only the rules that can hold for the group.
INDEX_FACTS: dict[str, tuple[str, ...]] = {
    "component": ("type",),
    "flow": ("source.type", "target.type", "protocol"),
    "zone": (),
}

Pin = tuple["frozenset[Any] | None", "frozenset[Any]"]  # (allowed or None for any, excluded)


def pinned_values(cond: Any, facts: tuple[str, ...]) -> dict[str, Pin]:
    """For each of `facts` that the condition's top-level conjunction constrains with
    eq/in/ne/not_in (or a plain value), the normalised values it allows or excludes.

    Exact for the facts given (single strings, where a plain value means equality):
    an element whose value is outside a pin fails that conjunct, so the whole
    condition, whatever else it says. Conditions under any/not pin nothing."""
    pins: dict[str, Pin] = {}

    def restrict(fact: str, allowed: frozenset[Any] | None, excluded: frozenset[Any]) -> None:
        old_allowed, old_excluded = pins.get(fact, (None, frozenset()))
        if allowed is not None and old_allowed is not None:
            allowed = allowed & old_allowed
        elif allowed is None:
            allowed = old_allowed
        pins[fact] = (allowed, old_excluded | excluded)

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        for key, matcher in node.items():
            if key == "all":
                walk(matcher)
            elif key in facts:
                if not isinstance(matcher, (dict, list)):
                    restrict(key, frozenset([_norm(matcher)]), frozenset())
                elif isinstance(matcher, dict):
                    for op, operand in matcher.items():
                        many = isinstance(operand, list)
                        if op == "eq" and not many and not isinstance(operand, dict):
                            restrict(key, frozenset([_norm(operand)]), frozenset())
                        elif op == "in" and many:
                            restrict(key, frozenset(_norm(v) for v in operand), frozenset())
                        elif op == "ne" and not many and not isinstance(operand, dict):
                            restrict(key, None, frozenset([_norm(operand)]))
                        elif op == "not_in" and many:
                            restrict(key, None, frozenset(_norm(v) for v in operand))

    walk(cond)
    return pins


class RulePack(_Doc):
    pack: str = ""
    description: str = ""
    rules: list[Rule]


TEMPLATE_PATTERN = _TEMPLATE_VAR


@dataclass
class Knowledge:
    """Validated, compiled rules and controls, ready to draft with."""

    rules: list[Rule]
    controls: dict[str, Control]
    aliases: dict[str, str] = field(default_factory=dict)
    packs: list[str] = field(default_factory=list)
    # What the engine derives from the rules to draft with (e.g. compiled templates),
    # computed once per Knowledge rather than once per threat. Not part of its value.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def control_ids(self) -> set[str]:
        return set(self.controls) | set(self.aliases)

    def implied(self) -> dict[str, dict]:
        return {cid: c.compiled_implied for cid, c in self.controls.items() if c.compiled_implied}
