"""The threat model document: what `draft` writes and later stages refine."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from threatline.model.architecture import StrideCategory

Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_ORDER: list[str] = ["low", "medium", "high", "critical"]
TargetKind = Literal["component", "flow", "zone"]
Coverage = Literal["open", "partial", "mitigated"]
ThreatStatus = Literal["draft", "confirmed", "tightened", "rejected", "retired"]
RejectReason = Literal["false-positive", "mitigated-elsewhere", "not-applicable", "duplicate-of"]
MitigationStatus = Literal["proposed", "approved", "rejected", "adjusted", "planned", "implemented", "verified"]
Stage = Literal["security", "architecture", "stakeholder"]
STAGES: list[str] = ["security", "architecture", "stakeholder"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


_M = TypeVar("_M", bound=BaseModel)


class _Value(_Doc):
    """A small value the engine shares between many threats and mitigations (one
    RiskFigure per likelihood x impact, one Factor per reason...). Frozen, so an
    in-place edit anywhere raises instead of silently changing every sharer:
    build a new one (model_copy(update=...)) instead."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _empty(value: Any) -> bool:
    """Fields added after 0.1 are left out of the document while empty, so models
    written before them keep their bytes and content hashes (and sign-offs)."""
    return value is None or value == []


class Factor(_Value):
    """One named adjustment to a score, with the fact that caused it."""

    name: str
    delta: int
    reason: str
    source: str = "rule"  # rule | reviewer:<who> | llm:<model>


class Score(_Value):
    value: int = Field(ge=1, le=5)
    base: int = Field(ge=1, le=5)
    factors: list[Factor] = Field(default_factory=list)


class RiskFigure(_Value):
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    severity: Severity


class CurrentMitigation(_Value):
    control: str
    via: str  # declared | flow | target | baseline | implied
    note: str = ""
    partial: bool = False

    def describe(self) -> str:
        label = "mitigated by baseline" if self.via == "baseline" else f"{self.via}"
        text = f"{self.control} ({label}"
        if self.note:
            text += f": {self.note}"
        text += ")"
        return text


class Steps(_Value):
    """Score steps a set of controls removes (likelihood, impact)."""

    likelihood: int = 0
    impact: int = 0


class Decision(_Doc):
    """Who decided what about an item, when and why (the last decision of its kind)."""

    by: str
    role: str
    at: str
    reason: str = ""


class Revision(_Doc):
    """The text of a threat before a reviewer tightened it."""

    title: str
    description: str
    by: str
    at: str


class Acceptance(_Doc):
    """A risk owner's acceptance of the residual risk above appetite, until it expires."""

    by: str
    at: str
    severity: Severity
    justification: str
    expires: str  # ISO date
    # The architecture this acceptance rested on changed since (see docs/drift.md):
    # notes for the risk owner, cleared by accepting again.
    drift: list[str] = Field(default_factory=list, exclude_if=_empty)


class Threat(_Doc):
    id: str
    target: str
    target_kind: TargetKind
    category: StrideCategory
    title: str
    description: str
    severity: Severity
    status: ThreatStatus = "draft"
    source: str
    rule: str | None = None
    review: Decision | None = None
    reject_reason: RejectReason | None = None
    duplicate_of: str | None = None
    history: list[Revision] = Field(default_factory=list)
    retired_reason: str = ""
    acceptance: Acceptance | None = None
    escalation: Decision | None = None
    drift: list[str] = Field(default_factory=list)
    elements: list[str] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list)
    likelihood: Score
    impact: Score
    inherent: RiskFigure
    current: RiskFigure
    residual: RiskFigure | None = None
    current_effect: Steps = Field(default_factory=Steps)
    proposed_effect: Steps = Field(default_factory=Steps)
    severity_reason: str = ""
    coverage: Coverage = "open"
    current_mitigations: list[str] = Field(default_factory=list)
    mitigation_details: list[CurrentMitigation] = Field(default_factory=list)
    proposed_mitigations: list[str] = Field(default_factory=list)
    cwe: list[str] = Field(default_factory=list)
    capec: list[str] = Field(default_factory=list)


class Cost(_Value):
    effort_days: tuple[float, float]
    latency: str = "none"
    latency_note: str = ""
    ops: str = "none"
    ops_note: str = ""

    @property
    def effort_mid(self) -> float:
        return (self.effort_days[0] + self.effort_days[1]) / 2


class Outcome(_Doc):
    """What one mitigation does to one threat, applied on top of its current figure."""

    threat: str
    partial: bool = False
    after: RiskFigure


class Mitigation(_Doc):
    id: str
    control: str
    name: str = ""
    placement: str
    placement_kind: TargetKind
    placement_name: str = ""
    threats: list[str] = Field(default_factory=list)
    status: MitigationStatus = "proposed"
    source: str = "rule"
    decision: Decision | None = None
    feasibility: Literal["feasible", "changed"] | None = None
    feasibility_decision: Decision | None = None
    implemented_by: str | None = None
    verified_by: str | None = None
    cost: Cost | None = None
    likelihood_steps: int = 0
    impact_steps: int = 0
    outcomes: list[Outcome] = Field(default_factory=list)
    rationale: str = ""
    residual_risk: str = ""
    # Architecture drift that touches this mitigation (e.g. its placement is gone):
    # notes for the architect, cleared by 'mitigation reconfirm'.
    drift: list[str] = Field(default_factory=list, exclude_if=_empty)


class Generator(_Doc):
    name: str = "threatline"
    version: str
    scoring_model: str
    rule_packs: list[str] = Field(default_factory=list)


class ArchitectureRef(_Doc):
    file: str = ""
    sha256: str = ""
    # The normalised architecture the model was drafted from, one fingerprinted line
    # per element (threatline.drift.snapshot); what `threatline drift` compares against.
    snapshot: dict[str, Any] | None = Field(default=None, exclude_if=_empty)


class Signoff(_Doc):
    stage: Stage
    by: str
    at: str
    content_hash: str


class ThreatModel(_Doc):
    version: Literal[1] = 1
    system: str
    generator: Generator
    architecture: ArchitectureRef = Field(default_factory=ArchitectureRef)
    appetite: Severity = "medium"
    revision: int = 0
    published: list[str] = Field(default_factory=list)
    signoffs: list[Signoff] = Field(default_factory=list)
    threats: list[Threat] = Field(default_factory=list)
    mitigations: list[Mitigation] = Field(default_factory=list)


# One set per distinct set of field names, shared by the models the engine builds.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_set_slot = object.__setattr__


def share_fields_set(model: _M) -> _M:
    """Let `model` share its record of explicitly set fields with every model built
    with the same fields.

    pydantic keeps one such set per instance; a drafted threat's is larger than its
    field values' dict (2.2 KB, a sixth of the model's memory at 10,000 components),
    and all drafted threats hold the same names. Nothing here reads it (no
    exclude_unset, no model_fields_set): a later assignment on one sharer adds the
    name for all, so model_fields_set may over-report on drafted models. Do not rely
    on it for them.
    """
    names = model.__pydantic_fields_set__
    shared = _FIELDS_SETS.get(frozenset(names))
    if shared is None:
        shared = _FIELDS_SETS[frozenset(names)] = set(names)
    _set_slot(model, "__pydantic_fields_set__", shared)
    return model
