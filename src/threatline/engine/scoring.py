"""Likelihood x impact scoring with named factors (scoring model threatline-5x5/1).

Likelihood starts from the rule's base rate and moves with exposure facts: where
an attacker can reach the element from, internet exposure, missing
authentication. Impact follows the classification and tags of the data at stake
on the CIA dimension the STRIDE category hits. Each adjustment is a Factor with a
one-line reason so a reviewer can see, and later override, why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from threatline.model.architecture import CLASSIFICATION_ORDER, DataAsset
from threatline.model.threatmodel import Factor, RiskFigure, Score, Threat

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


def _score(base: int, factors: list[Factor]) -> Score:
    value = base
    for f in factors:
        value = clamp(value + f.delta)
    return Score(value=value, base=base, factors=factors)


def likelihood(
    base: int, base_reason: str, kind: str, category: str, facts: dict[str, Any], zone_names: dict[str, str]
) -> Score:
    factors = [Factor(name="base", delta=0, reason=base_reason or f"rule base rate {base}")]
    if kind == "component":
        position = facts.get("exposure")
        where = "its zone or a caller's"
    elif kind == "flow":
        ranks = [facts.get("source.zone.trust"), facts.get("target.zone.trust")]
        position = min((r for r in ranks if r), key=_trust_rank, default=None)
        where = "an endpoint's zone"
    else:
        position = facts.get("inbound.from_trust") or facts.get("trust")
        where = "a sending zone"
    if position in _EXPOSURE:
        delta, reason = _EXPOSURE[position]
        if delta:
            factors.append(Factor(name="exposure", delta=delta, reason=f"{reason} ({where} is {position})"))
    if kind == "component" and facts.get("internet_facing") and position != "untrusted":
        factors.append(Factor(name="internet-facing", delta=1, reason="marked internet_facing"))
    if category in ("spoofing", "elevation_of_privilege"):
        if kind == "flow" and facts.get("authentication") == "none":
            factors.append(Factor(name="no-authentication", delta=1, reason="the flow carries no authentication"))
        elif kind == "component" and facts.get("inbound.unauthenticated") and facts.get("inbound.crossing"):
            factors.append(Factor(
                name="no-authentication", delta=1,
                reason="accepts unauthenticated requests from a zone of lower trust",
            ))
    return _score(base, factors)


def _trust_rank(level: str) -> int:
    from threatline.model.architecture import TRUST_ORDER

    return TRUST_ORDER.index(level)


def impact(
    category: str,
    dimension: str | None,
    base: int | None,
    minimum: int,
    reason: str,
    assets: Iterable[DataAsset],
    facts: dict[str, Any],
) -> Score:
    dim = dimension or CATEGORY_DIMENSION[category]
    assets = list(assets)
    if base is not None:
        return Score(value=base, base=base, factors=[Factor(name="base", delta=0, reason=reason or f"rule sets impact {base}")])
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
    factors = [Factor(name="data", delta=0, reason=why)]
    hot = {"confidentiality": CONFIDENTIALITY_TAGS, "integrity": INTEGRITY_TAGS}.get(dim, {"financial", "health", "phi"})
    sensitive = [t for t in tags if t in hot]
    if sensitive:
        factors.append(Factor(name="data-tags", delta=1, reason=f"{dim} of {', '.join(sensitive)} data"))
    crit = str(facts.get("properties.criticality", facts.get("target.properties.criticality", ""))).lower()
    if dim == "availability" and (crit in ("high", "critical") or facts.get("properties.critical") is True):
        factors.append(Factor(name="criticality", delta=1, reason=f"element criticality is {crit or 'critical'}"))
    score = _score(start, factors)
    if score.value < minimum:
        score.factors.append(Factor(name="floor", delta=minimum - score.value, reason=reason or f"this threat's impact is at least {minimum}"))
        score.value = minimum
    return score


_FIGURES: dict[tuple[int, int], RiskFigure] = {}


def figure(likelihood_value: int, impact_value: int) -> RiskFigure:
    """A risk figure; the 25 possible ones are shared (never mutated in place)."""
    key = (clamp(likelihood_value), clamp(impact_value))
    found = _FIGURES.get(key)
    if found is None:
        found = _FIGURES[key] = RiskFigure(
            likelihood=key[0], impact=key[1], severity=severity(*key)
        )
    return found


def explain(lk: Score, im: Score, inherent: RiskFigure, current: RiskFigure, control_notes: list[str]) -> str:
    def parts(score: Score) -> str:
        moves = [f"{'+' if f.delta > 0 else ''}{f.delta} {f.reason}" for f in score.factors if f.delta]
        base = next((f.reason for f in score.factors if f.name in ("base", "data")), "")
        return "; ".join([base, *moves]) if moves else base
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
    target: Score = getattr(updated, score)
    new = Factor(name=factor, delta=delta, reason=reason.strip(), source=source)
    for i, f in enumerate(target.factors):
        if f.name == factor:
            target.factors[i] = new
            break
    else:
        target.factors.append(new)
    value = target.base
    for f in target.factors:
        value = clamp(value + f.delta)
    target.value = value
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
