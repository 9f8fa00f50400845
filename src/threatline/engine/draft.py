"""The draft: run every rule over every component, flow and zone; score; group.

One threat per (rule, target): a rule that matches a component once yields one
threat naming all the data at stake, never one per data asset. Ids hash the rule
and the target (plus both endpoints for flows), never a position, so the same
input always gives the same ids and unrelated edits leave them alone.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from threatline import __version__
from threatline.engine import scoring
from threatline.engine.conditions import (
    Phrases,
    _norm,
    find_mention,
    mention_sentence,
    mentions_in,
    text_words,
    word_gates,
)
from threatline.engine.facts import AppliedControl, ArchitectureView, ElementFacts
from threatline.engine.ids import stable_id
from threatline.engine.knowledge import (
    INDEX_FACTS,
    TEMPLATE_PATTERN,
    Knowledge,
    Pin,
    Rule,
    pinned_values,
)
from threatline.engine.mitigations import combine, propose_mitigations, steps
from threatline.model.architecture import Architecture, StrideCategory
from threatline.model.threatmodel import (
    ArchitectureRef,
    CurrentMitigation,
    Generator,
    Score,
    Threat,
    ThreatModel,
    share_fields_set,
)

CATEGORY_ORDER = [c.value for c in StrideCategory]


class Template:
    """A title or description template, split once into literal text and variable
    names: rendering one per threat then joins strings instead of running a regex.
    An unknown variable stays as written ({name}); runs of whitespace become one space."""

    __slots__ = ("_pieces",)

    def __init__(self, template: str):
        # With its one group, split gives literal, name, literal, name, ..., literal.
        parts = TEMPLATE_PATTERN.split(template)
        self._pieces: list[tuple[str, str | None]] = [
            (parts[i], parts[i + 1] if i + 1 < len(parts) else None) for i in range(0, len(parts), 2)
        ]

    def render(self, variables: dict[str, str]) -> str:
        out: list[str] = []
        for literal, name in self._pieces:
            out.append(literal)
            if name is not None:
                out.append(variables.get(name, "{" + name + "}"))
        # str.split() and the former re.sub(r"\s+", " ").strip() agree on what whitespace is.
        return " ".join("".join(out).split())


def render(template: str, variables: dict[str, str]) -> str:
    return Template(template).render(variables)


@dataclass(frozen=True)
class _PreparedRule:
    """What drafting needs from a rule beyond its fields, derived once per Knowledge."""

    wanted: dict[str, bool]  # canonical control id -> partial, for the controls it lists
    title: Template
    description: Template
    pins: dict[str, Pin]  # values of INDEX_FACTS its condition requires (see pinned_values)
    # (fact, phrases) its condition looks for with mentions_any, when a template quotes them
    stated: tuple[tuple[str, Phrases], ...] = ()
    # (fact, words) its condition needs one of in that fact's text (see word_gates)
    gates: tuple[tuple[str, frozenset[str]], ...] = ()


def _admits(pins: dict[str, Pin], facts: tuple[str, ...], values: tuple[Any, ...]) -> bool:
    for fact, value in zip(facts, values, strict=True):
        pin = pins.get(fact)
        if pin is not None:
            allowed, excluded = pin
            if (allowed is not None and value not in allowed) or value in excluded:
                return False
    return True


def _through(gates: tuple[tuple[str, frozenset[str]], ...], facts: dict[str, Any],
             words: dict[str, frozenset[str]]) -> bool:
    """Whether the element's texts pass a rule's word gates (each fact's words read once)."""
    for fact, first_words in gates:
        found = words.get(fact)
        if found is None:
            found = words[fact] = text_words(facts.get(fact))
        if first_words.isdisjoint(found):
            return False
    return True


def _prepared(rule: Rule, knowledge: Knowledge) -> _PreparedRule:
    cache: dict[int, tuple[Rule, _PreparedRule]] = knowledge.derived.setdefault("draft.rules", {})
    entry = cache.get(id(rule))
    if entry is None or entry[0] is not rule:  # the identity check makes a reused id() harmless
        prepared = _PreparedRule(
            wanted={knowledge.aliases.get(ab.control, ab.control): ab.partial for ab in rule.addressed_by},
            title=Template(rule.title),
            description=Template(rule.description),
            pins=pinned_values(rule.when, INDEX_FACTS[rule.applies_to]),
            stated=tuple(mentions_in(rule.when)) if rule.uses_stated() else (),
            gates=word_gates(rule.when),
        )
        entry = cache[id(rule)] = (rule, prepared)
    return entry[1]


def _custom_controls(arch: Architecture) -> dict[str, set[str]]:
    return {c.id: {m.value for m in c.mitigates} for c in arch.controls}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a draft builds its model.

    A draft allocates a few hundred thousand small objects that all survive and
    form no cycles (threats, mitigations and their pydantic internals). Every
    automatic full collection re-traverses all of them and the architecture: at
    1,000 components that was ~40% of a draft's time, for nothing to collect.
    Reference counting frees memory as usual meanwhile; only cycle detection waits.
    Nesting and concurrent drafts are safe: only a caller that found the collector
    on turns it back on, and a collector left on early only costs time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def match_threats(elements: list[ElementFacts], view: ArchitectureView, knowledge: Knowledge) -> dict[str, Threat]:
    """Every rule over the given elements: one threat per (rule, element), with a
    specific rule retiring the generic one it supersedes on the same element."""
    with collector_paused():
        return _match_threats(elements, view, knowledge)


def _match_threats(elements: list[ElementFacts], view: ArchitectureView, knowledge: Knowledge) -> dict[str, Threat]:
    custom = _custom_controls(view.arch)
    zone_names = {z.id: z.label for z in view.arch.zones}
    # Each rule with its pins and word gates, per kind of element it applies to.
    by_kind: dict[str, list[tuple[Rule, dict[str, Pin], tuple[tuple[str, frozenset[str]], ...]]]] = {
        "component": [], "flow": [], "zone": []}
    for rule in knowledge.rules:
        prepared = _prepared(rule, knowledge)
        by_kind[rule.applies_to].append((rule, prepared.pins, prepared.gates))
    # Rules that can hold for elements with these values of INDEX_FACTS, per kind.
    candidates: dict[tuple[str, tuple[Any, ...]], list[tuple[Rule, tuple[tuple[str, frozenset[str]], ...]]]] = {}
    # Which rules hold where first; threats are built afterwards, only for matches
    # that no more specific rule on the same element retires (building is the costly part).
    matches: list[tuple[Rule, ElementFacts]] = []
    fired: set[tuple[str, str]] = set()  # (rule id, element id)
    for ef in elements:
        index_facts = INDEX_FACTS[ef.kind]
        group = (ef.kind, tuple(_norm(ef.facts.get(fact)) for fact in index_facts))
        rules_here = candidates.get(group)
        if rules_here is None:
            rules_here = candidates[group] = [
                (rule, gates) for rule, pins, gates in by_kind[ef.kind]
                if not pins or _admits(pins, index_facts, group[1])
            ]
        words: dict[str, frozenset[str]] = {}  # the element's text facts as word sets
        for rule, gates in rules_here:
            if gates and not _through(gates, ef.facts, words):
                continue
            if rule.predicate is None or not rule.predicate(ef.facts):
                continue
            matches.append((rule, ef))
            fired.add((rule.id, ef.id))
    rules = {r.id: r for r in knowledge.rules}
    retired: set[tuple[str, str]] = set()
    for rid, eid in fired:
        # A retired rule still retires the ones it supersedes (chains: A > B > C leaves A).
        retired.update((weaker, eid) for weaker in rules[rid].supersedes if (weaker, eid) in fired)
    threats: dict[str, Threat] = {}
    for rule, ef in matches:
        if (rule.id, ef.id) not in retired:
            threat = _make_threat(rule, ef, view, knowledge, custom, zone_names)
            threats[threat.id] = threat
    return threats


def draft(
    arch: Architecture, knowledge: Knowledge, source_file: str = "", source_sha256: str = ""
) -> ThreatModel:
    with collector_paused():
        return _draft(arch, knowledge, source_file, source_sha256)


def _draft(arch: Architecture, knowledge: Knowledge, source_file: str, source_sha256: str) -> ThreatModel:
    view = ArchitectureView(arch, knowledge.implied(), knowledge.aliases)
    elements: list[ElementFacts] = [view.component(c.id) for c in arch.components]
    elements += [view.flow(f) for f in arch.flows]
    elements += [view.zone(z) for z in arch.zones]
    threats = match_threats(elements, view, knowledge)
    rules = {r.id: r for r in knowledge.rules}

    facts_by_key = {(ef.kind, ef.id): ef for ef in elements}
    mitigations = propose_mitigations(threats.values(), rules, knowledge, view, facts_by_key)

    category_rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    ordered = sorted(
        threats.values(),
        key=lambda t: (t.target_kind != "component", t.target, category_rank[t.category.value], t.rule or "", t.id),
    )
    return ThreatModel(
        system=arch.system.name,
        generator=Generator(version=__version__, scoring_model=scoring.SCORING_MODEL, rule_packs=knowledge.packs),
        architecture=ArchitectureRef(file=source_file, sha256=source_sha256),
        threats=ordered,
        mitigations=sorted(mitigations, key=lambda m: (m.placement, m.control)),
    )


# Current-mitigation entries repeat across threats (same control, via, note): frozen, shared.
_CURRENT_MITIGATIONS: dict[tuple[str, str, str, bool], CurrentMitigation] = {}


def _current_mitigation(applied: AppliedControl, partial: bool) -> CurrentMitigation:
    key = (applied.control, applied.via, applied.note, partial)
    return scoring.shared(
        _CURRENT_MITIGATIONS, key,
        lambda: CurrentMitigation(control=applied.control, via=applied.via, note=applied.note, partial=partial),
    )


def _addressing(
    rule: Rule, ef: ElementFacts, wanted: dict[str, bool], custom: dict[str, set[str]]
) -> list[tuple[AppliedControl, bool]]:
    """Controls in effect on the element that address this rule, with 'partial'."""
    found: list[tuple[AppliedControl, bool]] = []
    in_order = ef.memo.get("controls in order")
    if in_order is None:
        in_order = ef.memo["controls in order"] = sorted(ef.controls.items())
    for cid, applied in in_order:
        if cid in wanted:
            found.append((applied, wanted[cid]))
        elif cid in custom and rule.category.value in custom[cid]:
            found.append((applied, True))
    return found


def _likelihood(rule: Rule, category: str, ef: ElementFacts) -> Score:
    """scoring.likelihood, computed once per element for each distinct rule base,
    reason and kind of category (rules on one element mostly share them)."""
    authentication = scoring.authentication_matters(category)
    key = ("likelihood", authentication, rule.likelihood, rule.likelihood_reason)
    found = ef.memo.get(key)
    if found is None:
        exposure = ef.memo.get(("exposure", authentication))
        if exposure is None:
            exposure = ef.memo[("exposure", authentication)] = scoring.exposure_factors(ef.kind, category, ef.facts)
        base = rule.likelihood
        found = ef.memo[key] = scoring.scored(
            base, [("base", 0, rule.likelihood_reason or f"rule base rate {base}"), *exposure]
        )
    return found


def _impact(rule: Rule, category: str, ef: ElementFacts, view: ArchitectureView) -> Score:
    """scoring.impact, computed once per element for each distinct dimension, floor
    and reason (the element's data factors once per dimension)."""
    spec = rule.impact
    if spec.base is not None:
        return scoring.impact(category, spec.dimension, spec.base, spec.min, spec.reason, [], ef.facts)
    dim = spec.dimension or scoring.CATEGORY_DIMENSION[category]
    key = ("impact", dim, spec.min, spec.reason)
    found = ef.memo.get(key)
    if found is None:
        data = ef.memo.get(("data", dim))
        if data is None:
            data = ef.memo[("data", dim)] = scoring.data_factors(dim, [view.data[d] for d in ef.data], ef.facts)
        start, specs = data
        found = ef.memo[key] = scoring.floored(start, specs, spec.min, spec.reason)
    return found


def _make_threat(
    rule: Rule,
    ef: ElementFacts,
    view: ArchitectureView,
    knowledge: Knowledge,
    custom: dict[str, set[str]],
    zone_names: dict[str, str],
) -> Threat:
    if ef.kind == "flow":
        source, flow_id, target = ef.elements
        tid = stable_id("T", rule.id, "flow", flow_id, source, target)
    else:
        tid = stable_id("T", rule.id, ef.kind, ef.id)
    category = rule.category.value
    lk = _likelihood(rule, category, ef)
    im = _impact(rule, category, ef, view)
    inherent = scoring.figure(lk.value, im.value)
    prepared = _prepared(rule, knowledge)
    present = _addressing(rule, ef, prepared.wanted, custom)
    notes: list[str] = []
    details: list[CurrentMitigation] = []
    lk_steps: list[int] = []
    im_steps: list[int] = []
    for applied, partial in present:
        a, b = steps(knowledge.controls.get(applied.control), partial)
        lk_steps.append(a)
        im_steps.append(b)
        notes.append(applied.control + (" (partial)" if partial else ""))
        details.append(_current_mitigation(applied, partial))
    effect = scoring.shared_steps(combine(lk_steps), combine(im_steps))
    current = scoring.figure(lk.value - effect.likelihood, im.value - effect.impact)
    if any(not p for _, p in present):
        coverage = "mitigated"
    elif present:
        coverage = "partial"
    else:
        coverage = "open"
    variables = ef.variables
    if prepared.stated:
        variables = {**variables, "stated": stated_quote(ef, prepared.stated, view)}
    title = prepared.title.render(variables)
    if len(title) > TITLE_ROOM:
        short = _short_names(variables)
        title = prepared.title.render(short)
        if len(title) > TITLE_ROOM:  # a long list of data names: the description lists them
            title = prepared.title.render({**short, "data.short": "its data", "data.names": "its data"})
    return share_fields_set(Threat(
        id=tid,
        target=ef.id,
        target_kind=ef.kind,  # type: ignore[arg-type]
        category=rule.category,
        title=title,
        description=prepared.description.render(variables),
        severity=current.severity,
        source=f"rule:{rule.id}",
        rule=rule.id,
        elements=list(ef.elements),
        data=sorted(ef.data),
        likelihood=lk,
        impact=im,
        inherent=inherent,
        current=current,
        current_effect=effect,
        severity_reason=scoring.explain(lk, im, inherent, current, notes),
        coverage=coverage,  # type: ignore[arg-type]
        current_mitigations=[d.control for d in details],
        mitigation_details=details,
        cwe=list(rule.cwe),
        capec=list(rule.capec),
    ))


# A title is a heading: past this length, the names in it lose their parenthesised detail
# ("Ring to phone BLE sync (GATT, Just Works pairing)" -> "Ring to phone BLE sync"); the
# description keeps them whole.
TITLE_ROOM = 100


def _short_names(variables: dict[str, str]) -> dict[str, str]:
    return {k: _without_detail(v) if k.endswith(".name") or k in ("data.short", "callers", "callees") else v
            for k, v in variables.items()}


def _without_detail(name: str) -> str:
    while (start := name.find(" (")) > 0 and (end := name.find(")", start)) > 0:
        name = name[:start] + name[end + 1:]
    return name


def stated_quote(
    ef: ElementFacts, looked_for: tuple[tuple[str, Phrases], ...], view: ArchitectureView
) -> str:
    """The architecture's own words behind a rule that reads them: the sentence in which
    the first of its mentions_any conditions found a phrase, quoted as written."""
    for fact, phrases in looked_for:
        text = ef.facts.get(fact)
        if not isinstance(text, str):
            continue
        span = find_mention(text, phrases)
        if span is None:
            continue
        written = _written(ef, fact, view)
        source = written if written is not None and len(written) == len(text) else text
        return '"' + mention_sentence(source, span) + '"'
    return "(see its description)"


def _written(ef: ElementFacts, fact: str, view: ArchitectureView) -> str | None:
    """The original-case text behind a lower-cased text fact, when there is one."""
    if fact == "text":
        return view.element_text(ef.kind, ef.id)
    if ef.kind == "flow" and fact in ("source.text", "target.text"):
        endpoint = ef.elements[0] if fact == "source.text" else ef.elements[2]
        return view.element_text("component", endpoint)
    return None


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
