"""The compact view of a threat model that drift and `check` need, and its state.

A ModelInfo holds, per threat and mitigation, only what drift reads (target, status,
severity, current mitigations, acceptance, drift notes), plus the stored snapshot and
the content hash a published version is named by. It is built from a full model, or
read from the store's index (store/index.py) so that `check` on a very large model does
not parse every threat.

A model is *current* when its snapshot equals the architecture's and no drift note is
open; `check` passes when it is current and the latest published version is this
content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from threatline.model.threatmodel import SEVERITY_ORDER, Mitigation, Threat, ThreatModel

CLOSED = ("rejected", "retired")
APPROVED = ("approved", "adjusted", "planned", "implemented", "verified")
INFO_VERSION = 1


@dataclass
class ThreatInfo:
    id: str
    target: str
    target_kind: str
    title: str
    severity: str
    status: str
    source: str
    rule: str | None = None
    elements: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    current_mitigations: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    acceptance: dict[str, Any] | None = None  # by, severity, expires, drift

    @classmethod
    def of(cls, t: Threat) -> ThreatInfo:
        acc = None
        if t.acceptance is not None:
            acc = {"by": t.acceptance.by, "severity": t.acceptance.severity, "expires": t.acceptance.expires,
                   "drift": list(t.acceptance.drift)}
        return cls(t.id, t.target, t.target_kind, t.title, t.severity, t.status, t.source, t.rule,
                   list(t.elements), list(t.data), list(t.current_mitigations), list(t.drift), acc)

    @property
    def live(self) -> bool:
        return self.status not in CLOSED

    @property
    def manual(self) -> bool:
        return self.source.startswith("manual:")


@dataclass
class MitigationInfo:
    id: str
    control: str
    name: str
    placement: str
    placement_kind: str
    status: str
    threats: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, m: Mitigation) -> MitigationInfo:
        return cls(m.id, m.control, m.name or m.control, m.placement, m.placement_kind, m.status,
                   list(m.threats), list(m.drift))


@dataclass
class OpenItem:
    """A drift note recorded in the model and not yet resolved."""

    role: str
    target: str  # threat or mitigation id
    element: str  # the architecture element it is about
    severity: str
    title: str
    note: str


@dataclass
class ModelInfo:
    system: str
    appetite: str
    revision: int
    snapshot: dict[str, Any] | None
    content_hash: str  # stage_hash(model, "stakeholder"): what a published version is named by
    stage: str  # draft | security-reviewed | architecture-reviewed | accepted (sign-offs only)
    published: list[str] = field(default_factory=list)
    threats: list[ThreatInfo] = field(default_factory=list)
    mitigations: list[MitigationInfo] = field(default_factory=list)

    @classmethod
    def of(cls, model: ThreatModel, content_hash: str, stage: str) -> ModelInfo:
        return cls(
            system=model.system, appetite=model.appetite, revision=model.revision,
            snapshot=model.architecture.snapshot, content_hash=content_hash, stage=stage,
            published=list(model.published),
            threats=[ThreatInfo.of(t) for t in model.threats],
            mitigations=[MitigationInfo.of(m) for m in model.mitigations],
        )

    def to_dict(self) -> dict[str, Any]:
        return {"info_version": INFO_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        if data.get("info_version") != INFO_VERSION:
            raise ValueError("unknown index version")
        fields = {k: v for k, v in data.items() if k != "info_version"}
        fields["threats"] = [ThreatInfo(**t) for t in fields.get("threats", [])]
        fields["mitigations"] = [MitigationInfo(**m) for m in fields.get("mitigations", [])]
        return cls(**fields)

    # ------------------------------------------------------------ state
    def open_items(self) -> list[OpenItem]:
        """Every drift note still waiting for a decision, most severe first."""
        items: list[OpenItem] = []
        for t in self.threats:
            if not t.live:
                continue
            items += [OpenItem("security", t.id, t.target, t.severity, t.title, n) for n in t.drift]
            if t.acceptance:
                items += [OpenItem("risk-owner", t.id, t.target, t.acceptance.get("severity", t.severity), t.title, n)
                          for n in t.acceptance.get("drift", [])]
        sev = {t.id: t.severity for t in self.threats if t.live}
        for m in self.mitigations:
            if m.status == "rejected":
                continue
            worst = max((sev[x] for x in m.threats if x in sev), key=SEVERITY_ORDER.index, default="low")
            items += [OpenItem("architect", m.id, m.placement, worst, f"{m.name} on {m.placement}", n) for n in m.drift]
        items.sort(key=lambda i: (-SEVERITY_ORDER.index(i.severity), i.role, i.target, i.note))
        return items

    def is_published(self, version_exists: bool) -> bool:
        """The latest published version is exactly this content."""
        return bool(self.published) and self.published[-1] == "V-" + self.content_hash[:12] and version_exists

    def expiring_acceptances(self, today: str, within_days: int = 30) -> list[tuple[ThreatInfo, int]]:
        """Live threats whose risk acceptance ends within `within_days` (negative: already expired)."""
        from datetime import date

        now = date.fromisoformat(today)
        out = []
        for t in self.threats:
            if t.live and t.acceptance and t.acceptance.get("expires"):
                try:
                    left = (date.fromisoformat(t.acceptance["expires"]) - now).days
                except ValueError:
                    continue
                if left <= within_days:
                    out.append((t, left))
        return sorted(out, key=lambda x: (x[1], x[0].id))
