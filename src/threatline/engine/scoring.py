"""Likelihood x impact scoring with named factors (scoring model threatline-5x5/1).

Likelihood starts from the rule's base rate and moves with exposure facts: where
an attacker can reach the element from, internet exposure, missing
authentication. Impact follows the classification and tags of the data at stake
on the CIA dimension the STRIDE category hits. Each adjustment is a Factor with a
one-line reason so a reviewer can see, and later override, why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from threatline.model.architecture import CLASSIFICATION_ORDER, TRUST_ORDER, DataAsset
from threatline.model.threatmodel import Factor, RiskFigure, Score, Steps, Threat

SCORING_MODEL = "threatline-5x5/1"

# Rows: likelihood 1..5; columns: impact 1..5.
MATRIX: list[list[str]] = [
    ["low", "low", "low", "medium", "medium"],
    ["low", "low", "medium", "medium", "high"],
    ["low", "medium", "medium", "high", "high"],
    ["medium", "medium", "high", "high", "critical"],
    ["medium", "high", "high", "critical", "critical"],
]

CATEGORY_DIMENSION = {
    "spoofing": "integrity",
    "tampering": "integrity",
    "repudiation": "integrity",
    "information_disclosure": "confidentiality",
    "denial_of_service": "availability",
    "elevation_of_privilege": "integrity",
}

CONFIDENTIALITY_TAGS = {"pci", "phi", "health", "credentials", "secret", "keys", "pii"}
INTEGRITY_TAGS = {"financial", "pci", "credentials", "keys", "secret"}

_EXPOSURE = {
    "untrusted": (1, "reachable from an untrusted zone"),
    "partner": (0, ""),
    "internal": (-1, "reachable only from internal zones"),
    "restricted": (-1, "reachable only from restricted zones"),
}


def clamp(value: int) -> int:
    return max(1, min(5, value))


def severity(likelihood: int, impact: int) -> str:
    return MATRIX[clamp(likelihood) - 1][clamp(impact) - 1]


# A draft scores every threat from a handful of distinct reasons, so most Factors,
# Scores and RiskFigures are equal to one built before. They are frozen values:
# building each distinct one once and sharing it saves most of the pydantic
# validations of a draft and the memory of thousands of identical objects. The
# caches are bounded so a long-lived process drafting many architectures does
# not grow without limit (clearing only costs rebuilding).
_SHARED_LIMIT = 100_000
FactorSpec = tuple[str, int, str]  # (name, delta, reason) of a rule-sourced factor
_FACTORS: dict[FactorSpec, Factor] = {}
_SCORES: dict[tuple[int, int, tuple[FactorSpec, ...]], Score] = {}


def shared(cache: dict[Any, Any], key: Any, build: Callable[[], Any]) -> Any:
    """The value cached under key, built once (for frozen values only)."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= _SHARED_LIMIT:
            cache.clear()
        found = cache[key] = build()
    return found


def shared_factor(name: str, delta: int, reason: str) -> Factor:
    """A rule-sourced factor, shared between every threat it applies to."""
    return shared(_FACTORS, (name, delta, reason), lambda: Factor(name=name, delta=delta, reason=reason))


def _shared_score(value: int, base: int, specs: list[FactorSpec]) -> Score:
    key = (value, base, tuple(specs))
    return shared(_SCORES, key, lambda: _new_shared_score(value, base, specs))


# explain()'s wording of each shared Score, by id: a draft explains every threat
# from a few distinct scores. Only shared scores are listed (their factors are
# never edited); the stored Score makes a reused id() harmless.
_SCORE_WORDING: dict[int, tuple[Score, str]] = {}


def _new_shared_score(value: int, base: int, specs: list[FactorSpec]) -> Score:
    score = Score(value=value, base=base, factors=[shared_factor(*spec) for spec in specs])
    if len(_SCORE_WORDING) >= _SHARED_LIMIT:
        _SCORE_WORDING.clear()
    _SCORE_WORDING[id(score)] = (score, _wording(score))
    return score


def scored(base: int, specs: list[FactorSpec]) -> Score:
    """A (shared) score: base moved by each factor's delta, clamped to 1..5 at each step."""
    value = base
    for _, delta, _ in specs:
        value = clamp(value + delta)
    return _shared_score(value, base, specs)


def likelihood(
    base: int, base_reason: str, kind: str, category: str, facts: dict[str, Any], zone_names: dict[str, str]
) -> Score:
    specs = [("base", 0, base_reason or f"rule base rate {base}"), *exposure_factors(kind, category, facts)]
    return scored(base, specs)


def exposure_factors(kind: str, category: str, facts: dict[str, Any]) -> tuple[FactorSpec, ...]:
    """The element's side of likelihood: where it can be reached from, internet
    exposure, missing authentication. The same for every rule on the element that
    hits the same category, so a draft computes it once per element (and auth kind)."""
    factors: list[FactorSpec] = []
    if kind == "component":
        position = facts.get("exposure")
        where = "its zone or a caller's"
    elif kind == "flow":
        ranks = [facts.get("source.zone.trust"), facts.get("target.zone.trust")]
        position = min((r for r in ranks if r), key=TRUST_ORDER.index, default=None)
        where = "an endpoint's zone"
    else:
        position = facts.get("inbound.from_trust") or facts.get("trust")
        where = "a sending zone"
    if position in _EXPOSURE:
        delta, reason = _EXPOSURE[position]
        if delta:
            factors.append(("exposure", delta, f"{reason} ({where} is {position})"))
    if kind == "component" and facts.get("internet_facing") and position != "untrusted":
        factors.append(("internet-facing", 1, "marked internet_facing"))
    if authentication_matters(category):
        if kind == "flow" and facts.get("authentication") == "none":
            factors.append(("no-authentication", 1, "the flow carries no authentication"))
        elif kind == "component" and facts.get("inbound.unauthenticated") and facts.get("inbound.crossing"):
            factors.append(
                ("no-authentication", 1, "accepts unauthenticated requests from a zone of lower trust")
            )
    return tuple(factors)


def authentication_matters(category: str) -> bool:
    """Missing authentication raises the likelihood of these categories only."""
    return category in ("spoofing", "elevation_of_privilege")


def impact(
    category: str,
    dimension: str | None,
    base: int | None,
    minimum: int,
    reason: str,
    assets: Iterable[DataAsset],
    facts: dict[str, Any],
) -> Score:
    if base is not None:
        return _shared_score(base, base, [("base", 0, reason or f"rule sets impact {base}")])
    start, specs = data_factors(dimension or CATEGORY_DIMENSION[category], list(assets), facts)
    return floored(start, specs, minimum, reason)


def data_factors(dim: str, assets: list[DataAsset], facts: dict[str, Any]) -> tuple[int, tuple[FactorSpec, ...]]:
    """The element's side of impact on one CIA dimension: the start value and the
    factors its data and criticality give. The same for every rule on the element
    that hits that dimension, so a draft computes it once per element and dimension."""
    top = max(assets, key=lambda a: CLASSIFICATION_ORDER.index(a.classification.value), default=None)
    tags = sorted({t for a in assets for t in a.tags})
    if top is None:
        start, why = 2, "no classified data named on this element"
    else:
        rank = CLASSIFICATION_ORDER.index(top.classification.value)
        if dim == "confidentiality":
            start = rank + 1
        elif dim == "integrity":
            start = max(2, rank + 1)
        else:
            start = 2 if rank < 2 else 3
        why = f"{dim} of {top.classification.value} data ({top.label})"
    factors: list[FactorSpec] = [("data", 0, why)]
    hot = {"confidentiality": CONFIDENTIALITY_TAGS, "integrity": INTEGRITY_TAGS}.get(dim, {"financial", "health", "phi"})
    sensitive = [t for t in tags if t in hot]
    if sensitive:
        factors.append(("data-tags", 1, f"{dim} of {', '.join(sensitive)} data"))
    crit = str(facts.get("properties.criticality", facts.get("target.properties.criticality", ""))).lower()
    if dim == "availability" and (crit in ("high", "critical") or facts.get("properties.critical") is True):
        factors.append(("criticality", 1, f"element criticality is {crit or 'critical'}"))
    return start, tuple(factors)


def floored(start: int, specs: Iterable[FactorSpec], minimum: int, reason: str) -> Score:
    """An impact score from its start and factors, raised to a rule's minimum (with a
    'floor' factor saying so) when the factors leave it lower."""
    factors = list(specs)
    value = start
    for _, delta, _ in factors:
        value = clamp(value + delta)
    if value < minimum:
        factors.append(("floor", minimum - value, reason or f"this threat's impact is at least {minimum}"))
        value = minimum
    return _shared_score(value, start, factors)


_FIGURES: dict[tuple[int, int], RiskFigure] = {}


def figure(likelihood_value: int, impact_value: int) -> RiskFigure:
    """A risk figure; the 25 possible ones are shared (never mutated in place)."""
    found = _FIGURES.get((likelihood_value, impact_value))  # in range and built before
    if found is not None:
        return found
    key = (clamp(likelihood_value), clamp(impact_value))
    found = _FIGURES.get(key)
    if found is None:
        found = _FIGURES[key] = RiskFigure(
            likelihood=key[0], impact=key[1], severity=severity(*key)
        )
    return found


_STEPS: dict[tuple[int, int], Steps] = {}


def shared_steps(likelihood_steps: int, impact_steps: int) -> Steps:
    """The score steps of a set of controls; the few possible ones are shared."""
    key = (likelihood_steps, impact_steps)
    return shared(_STEPS, key, lambda: Steps(likelihood=likelihood_steps, impact=impact_steps))


def _wording(score: Score) -> str:
    moves = [f"{'+' if f.delta > 0 else ''}{f.delta} {f.reason}" for f in score.factors if f.delta]
    base = next((f.reason for f in score.factors if f.name in ("base", "data")), "")
    return "; ".join([base, *moves]) if moves else base


def explain(lk: Score, im: Score, inherent: RiskFigure, current: RiskFigure, control_notes: list[str]) -> str:
    def parts(score: Score) -> str:
        known = _SCORE_WORDING.get(id(score))
        return known[1] if known is not None and known[0] is score else _wording(score)

    text = (
        f"likelihood {lk.value} ({parts(lk)}) x impact {im.value} ({parts(im)}) "
        f"gives {inherent.severity}"
    )
    if control_notes:
        text += f"; with {', '.join(control_notes)} in place: likelihood {current.likelihood}, impact {current.impact}, {current.severity}"
    return text


def override_factor(threat: Threat, score: str, factor: str, delta: int, reason: str, source: str) -> Threat:
    """A reviewer sets one factor of likelihood or impact; every figure follows.

    The factor keeps its name, takes the reviewer's delta, reason and source; a
    factor the rule did not have is added. Inherent, current and residual figures
    and the severity are recomputed from the factors and the control effects.
    """
    if score not in ("likelihood", "impact"):
        raise ValueError("score is 'likelihood' or 'impact'")
    if not reason.strip():
        raise ValueError("an override needs a reason")
    updated = threat.model_copy(deep=True)
    # Scores are frozen (the engine shares them between threats): build a new one.
    old: Score = getattr(updated, score)
    new = Factor(name=factor, delta=delta, reason=reason.strip(), source=source)
    factors = list(old.factors)
    for i, f in enumerate(factors):
        if f.name == factor:
            factors[i] = new
            break
    else:
        factors.append(new)
    value = old.base
    for f in factors:
        value = clamp(value + f.delta)
    setattr(updated, score, old.model_copy(update={"factors": factors, "value": value}))
    updated.inherent = figure(updated.likelihood.value, updated.impact.value)
    updated.current = figure(
        updated.inherent.likelihood - updated.current_effect.likelihood,
        updated.inherent.impact - updated.current_effect.impact,
    )
    updated.residual = figure(
        updated.current.likelihood - updated.proposed_effect.likelihood,
        updated.current.impact - updated.proposed_effect.impact,
    )
    updated.severity = updated.current.severity
    updated.severity_reason = explain(
        updated.likelihood, updated.impact, updated.inherent, updated.current, list(updated.current_mitigations)
    )
    return updated
