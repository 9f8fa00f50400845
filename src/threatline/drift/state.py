"""The compact view of a threat model that drift and `check` need, and its state.

A ModelInfo holds what drift reads of a model: the stored snapshot, the content hash a
published version is named by, the sign-off stage, the drift notes still open, the
risk acceptances and the decided mitigations, and per threat only target, status,
severity, current mitigations and acceptance. It is built from a full model, or read
from the store's index (store/index.py), where threats are kept one line each by
target so that `check` on a very large model reads only the threats of the elements a
change can reach.

A model is *current* when its snapshot equals the architecture's and no drift note is
open; `check` passes when it is current and the latest published version is this
content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from threatline.model.threatmodel import SEVERITY_ORDER, Mitigation, Threat, ThreatModel

CLOSED = ("rejected", "retired")
APPROVED = ("approved", "adjusted", "planned", "implemented", "verified")
INFO_VERSION = 3


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
    worst: str = "low"  # the worst current severity of the live threats it addresses
    drift: list[str] = field(default_factory=list)


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
class AcceptanceInfo:
    threat: str
    title: str
    severity: str
    by: str
    expires: str


@dataclass
class ModelInfo:
    system: str
    appetite: str
    revision: int
    snapshot: dict[str, Any] | None
    content_hash: str  # stage_hash(model, "stakeholder"): what a published version is named by
    stage: str  # draft | security-reviewed | architecture-reviewed | accepted (sign-offs only)
    published: list[str] = field(default_factory=list)
    open: list[OpenItem] = field(default_factory=list)
    acceptances: list[AcceptanceInfo] = field(default_factory=list)
    mitigations: list[MitigationInfo] = field(default_factory=list)  # every one a person decided on or noted
    threat_count: int = 0
    architecture_sha256: str = ""  # of the architecture file the model was drafted from
    # All threats when built from a model; else a reader of the threats of some targets.
    _threats: list[ThreatInfo] | None = field(default=None, repr=False)
    _reader: Callable[[set[str]], list[ThreatInfo]] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, model: ThreatModel, content_hash: str, stage: str) -> ModelInfo:
        threats = [ThreatInfo.of(t) for t in model.threats]
        live = {t.id: t.severity for t in threats if t.live}
        open_items: list[OpenItem] = []
        acceptances: list[AcceptanceInfo] = []
        for t in threats:
            if not t.live:
                continue
            open_items += [OpenItem("security", t.id, t.target, t.severity, t.title, n) for n in t.drift]
            if t.acceptance:
                acc = t.acceptance
                open_items += [OpenItem("risk-owner", t.id, t.target, acc.get("severity", t.severity), t.title, n)
                               for n in acc.get("drift", [])]
                acceptances.append(AcceptanceInfo(t.id, t.title, acc.get("severity", t.severity), acc.get("by", ""),
                                                  acc.get("expires", "")))
        mitigations = []
        for m in model.mitigations:
            if m.status == "proposed" and not m.drift:
                continue  # untouched machine proposals: nothing drift can invalidate
            worst = max((live[x] for x in m.threats if x in live), key=SEVERITY_ORDER.index, default="low")
            mitigations.append(_mitigation(m, worst))
            if m.status != "rejected":
                open_items += [OpenItem("architect", m.id, m.placement, worst, f"{m.name or m.control} on {m.placement}", n)
                               for n in m.drift]
        open_items.sort(key=lambda i: (-SEVERITY_ORDER.index(i.severity), i.role, i.target, i.note))
        return cls(
            system=model.system, appetite=model.appetite, revision=model.revision,
            snapshot=model.architecture.snapshot, content_hash=content_hash, stage=stage,
            published=list(model.published), open=open_items, acceptances=acceptances, mitigations=mitigations,
            threat_count=len(threats), architecture_sha256=model.architecture.sha256, _threats=threats,
        )

    # ------------------------------------------------------------ (de)serialising, for the index
    def header(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return {"info_version": INFO_VERSION, **data}

    def threat_records(self) -> Iterable[tuple[str, dict[str, Any]]]:
        for t in self.all_threats():
            yield t.target, asdict(t)

    @classmethod
    def from_header(cls, data: dict[str, Any], reader: Callable[[set[str]], list[ThreatInfo]]) -> ModelInfo:
        if data.get("info_version") != INFO_VERSION:
            raise ValueError("unknown index version")
        fields = {k: v for k, v in data.items() if k != "info_version"}
        fields["open"] = [OpenItem(**x) for x in fields.get("open", [])]
        fields["acceptances"] = [AcceptanceInfo(**x) for x in fields.get("acceptances", [])]
        fields["mitigations"] = [MitigationInfo(**x) for x in fields.get("mitigations", [])]
        return cls(**fields, _reader=reader)

    # ------------------------------------------------------------ threats
    def all_threats(self) -> list[ThreatInfo]:
        if self._threats is None:
            assert self._reader is not None
            self._threats = self._reader(set())  # an empty set means every target
        return self._threats

    def threats_on(self, targets: set[str]) -> list[ThreatInfo]:
        """The threats whose target is one of `targets`."""
        if self._threats is None and self._reader is not None:
            return self._reader(targets) if targets else []
        return [t for t in self.all_threats() if t.target in targets]

    # ------------------------------------------------------------ state
    def open_items(self) -> list[OpenItem]:
        """Every drift note still waiting for a decision, most severe first."""
        return list(self.open)

    def is_published(self, version_exists: bool) -> bool:
        """The latest published version is exactly this content."""
        return bool(self.published) and self.published[-1] == "V-" + self.content_hash[:12] and version_exists

    def expiring_acceptances(self, today: str, within_days: int = 30) -> list[tuple[AcceptanceInfo, int]]:
        """Risk acceptances that end within `within_days` (negative: already expired)."""
        now = date.fromisoformat(today)
        out = []
        for a in self.acceptances:
            try:
                left = (date.fromisoformat(a.expires) - now).days
            except ValueError:
                continue
            if left <= within_days:
                out.append((a, left))
        return sorted(out, key=lambda x: (x[1], x[0].threat))


def _mitigation(m: Mitigation, worst: str) -> MitigationInfo:
    return MitigationInfo(m.id, m.control, m.name or m.control, m.placement, m.placement_kind, m.status, worst,
                          list(m.drift))
