"""The normalised architecture a model was drafted from, with a fingerprint per element.

A snapshot is stored in threatmodel.yaml under `architecture.snapshot`:

    version: 1
    digest: 9c1f...                      # sha256 over every (kind, id, fingerprint)
    elements:
    - data card-data 3f2a9c1d0b7e6f51 {"classification":"restricted","tags":["pci"]}
    - component payment-api 0b7e... {"controls":["audit-logging"],"type":"service","zone":"cde"}
    - flow checkout-submit 61d2... {"authentication":"session","encrypted":true,"from":"browser",...}

One line per element, `KIND ID FINGERPRINT ATTRIBUTES`, sorted by kind then id, so the
list diffs line by line in git and costs one scalar per element, not one per attribute.
ATTRIBUTES is canonical JSON (sorted keys, no spaces, ASCII) of the element's
security-relevant attributes: never its id, name or description, so renaming a display
name is not drift, and an element whose id changed but whose content did not keeps its
fingerprint (how a probable rename is recognised). FINGERPRINT is the first 16 hex
digits of sha256("KIND:" + ATTRIBUTES). Defaults are resolved (a flow's `encrypted` is
the effective value) and lists are sorted sets, so equivalent documents give equal
snapshots whatever the order of their elements.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from threatline.model.architecture import (
    Architecture,
    BaselineControl,
    Component,
    DataAsset,
    Flow,
    Zone,
)

SNAPSHOT_VERSION = 1
# Order of the lines, and of the diff: what others refer to comes first.
KINDS: tuple[str, ...] = ("control", "data", "zone", "component", "flow", "baseline")
_KEY_SAFE = "@=,*#:._-/"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def canonical(attrs: Mapping[str, Any]) -> str:
    return _ENCODER.encode(attrs)


def fingerprint(kind: str, attrs_json: str) -> str:
    return hashlib.sha256(f"{kind}:{attrs_json}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Element:
    kind: str
    id: str
    attrs_json: str

    @property
    def fingerprint(self) -> str:
        # Derived from the canonical text, so two elements of a kind have equal fingerprints
        # exactly when their texts are equal (the diff compares the texts and hashes only
        # what it needs: rename candidates, the digest, the stored lines).
        return fingerprint(self.kind, self.attrs_json)

    @property
    def attrs(self) -> dict[str, Any]:
        return json.loads(self.attrs_json)

    def line(self) -> str:
        return f"{self.kind} {quote(self.id, safe=_KEY_SAFE)} {self.fingerprint} {self.attrs_json}"


def make_element(kind: str, ident: str, attrs: Mapping[str, Any]) -> Element:
    return Element(kind, ident, canonical(attrs))


# ---------------------------------------------------------------- normalisation


def _sorted_set(values: Iterable[Any]) -> list[Any]:
    return sorted({str(v) for v in values})


def _plain(value: Any) -> Any:
    """JSON-safe copy of free-form property values (dates and the like become text)."""
    if isinstance(value, dict) and all(isinstance(v, (str, bool, int, float)) or v is None for v in value.values()):
        return {str(k): v for k, v in value.items()}
    return json.loads(_ENCODER.encode(value))


def data_attrs(d: DataAsset) -> dict[str, Any]:
    attrs: dict[str, Any] = {"classification": d.classification.value}
    if d.tags:
        attrs["tags"] = _sorted_set(d.tags)
    return attrs


def zone_attrs(z: Zone) -> dict[str, Any]:
    attrs: dict[str, Any] = {"trust": z.trust.value}
    if z.parent:
        attrs["parent"] = z.parent
    return attrs


def component_attrs(c: Component) -> dict[str, Any]:
    attrs: dict[str, Any] = {"type": c.type.value, "zone": c.zone}
    tech = c.tech.strip().lower()
    if tech:
        attrs["tech"] = tech
    if c.stores:
        attrs["stores"] = _sorted_set(c.stores)
    if c.controls:
        attrs["controls"] = _sorted_set(c.controls)
    if c.properties:
        attrs["properties"] = _plain(c.properties)
    return attrs


def flow_attrs(f: Flow) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "from": f.source,
        "to": f.target,
        "protocol": f.protocol.value,
        "encrypted": f.is_encrypted,
        "authentication": f.authentication.value,
        "bidirectional": f.bidirectional,
    }
    if f.data:
        attrs["data"] = _sorted_set(f.data)
    if f.controls:
        attrs["controls"] = _sorted_set(f.controls)
    extra = getattr(f, "model_extra", None) or {}
    props = extra.get("properties")
    if isinstance(props, dict) and props:
        attrs["properties"] = _plain(props)
    return attrs


# The canonical text of the two most numerous kinds, written directly: what
# canonical(component_attrs(c)) and canonical(flow_attrs(f)) give, character for character
# (keys in sorted order, strings escaped by the function the canonical encoder itself uses,
# no spaces), without building a dict and sorting its keys for each of tens of thousands of
# elements. tests/test_drift.py checks the equality on generated architectures.
_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _text_set(values: Iterable[Any]) -> str:
    return "[" + ",".join(map(_text, _sorted_set(values))) + "]"


def component_json(c: Component) -> str:
    parts: list[str] = []
    if c.controls:
        parts.append('"controls":' + _text_set(c.controls))
    if c.properties:
        parts.append('"properties":' + canonical(_plain(c.properties)))
    if c.stores:
        parts.append('"stores":' + _text_set(c.stores))
    tech = c.tech.strip().lower()
    if tech:
        parts.append('"tech":' + _text(tech))
    parts.append('"type":' + _text(c.type.value))
    parts.append('"zone":' + _text(c.zone))
    return "{" + ",".join(parts) + "}"


def flow_json(f: Flow) -> str:
    parts = ['"authentication":' + _text(f.authentication.value),
             '"bidirectional":' + ("true" if f.bidirectional else "false")]
    if f.controls:
        parts.append('"controls":' + _text_set(f.controls))
    if f.data:
        parts.append('"data":' + _text_set(f.data))
    parts.append('"encrypted":' + ("true" if f.is_encrypted else "false"))
    parts.append('"from":' + _text(f.source))
    extra = getattr(f, "model_extra", None) or {}
    props = extra.get("properties")
    if isinstance(props, dict) and props:
        parts.append('"properties":' + canonical(_plain(props)))
    parts.append('"protocol":' + _text(f.protocol.value))
    parts.append('"to":' + _text(f.target))
    return "{" + ",".join(parts) + "}"


def baseline_attrs(b: BaselineControl) -> dict[str, Any]:
    selector = {k: v for k, v in b.applies_to.model_dump(mode="json", exclude_none=True).items() if v is not None}
    return {"control": b.control, "applies_to": _plain(selector)}


def baseline_key(attrs: Mapping[str, Any]) -> str:
    """Baseline entries have no id: they are named by their content ('waf@zone=edge')."""
    selector = attrs.get("applies_to") or {}
    where = ",".join(f"{k}={selector[k]}" for k in sorted(selector)) or "*"
    return f"{attrs.get('control')}@{where}"


def control_attrs(mitigates: Iterable[Any]) -> dict[str, Any]:
    return {"mitigates": _sorted_set(getattr(m, "value", m) for m in mitigates)}


# ---------------------------------------------------------------- the snapshot


class Snapshot:
    """Elements by kind and id; equal snapshots have equal digests."""

    def __init__(self, elements: Iterable[Element]):
        self._by_kind: dict[str, dict[str, Element]] = {k: {} for k in KINDS}
        for e in elements:
            self._by_kind[e.kind][e.id] = e
        self._digest: str | None = None

    # ------------------------------------------------------------ building
    @classmethod
    def from_architecture(cls, arch: Architecture) -> Snapshot:
        elements: list[Element] = []
        elements += [make_element("control", c.id, control_attrs(c.mitigates)) for c in arch.controls]
        elements += [make_element("data", d.id, data_attrs(d)) for d in arch.data]
        elements += [make_element("zone", z.id, zone_attrs(z)) for z in arch.zones]
        elements += [Element("component", c.id, component_json(c)) for c in arch.components]
        elements += [Element("flow", f.id, flow_json(f)) for f in arch.flows]
        seen: dict[str, int] = {}
        for b in arch.baseline:
            attrs = baseline_attrs(b)
            key = baseline_key(attrs)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = f"{key}#{seen[key]}"
            elements.append(make_element("baseline", key, attrs))
        return cls(elements)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Snapshot:
        """Read a stored snapshot; a line that does not parse raises ValueError."""
        if doc.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {doc.get('version')!r} is not {SNAPSHOT_VERSION}")
        raw = doc.get("elements") or []
        lines = raw.splitlines() if isinstance(raw, str) else raw
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ValueError("snapshot elements must be a list of lines, one element each")
        elements: list[Element] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split(" ", 3)
            if len(parts) != 4 or parts[0] not in KINDS:
                raise ValueError(f"snapshot line {number} is not 'KIND ID FINGERPRINT ATTRIBUTES'")
            kind, ident, _, attrs_json = parts
            if not (attrs_json.startswith("{") and attrs_json.endswith("}")):
                raise ValueError(f"snapshot line {number}: attributes are not a JSON object")
            # The stored fingerprint is not trusted: it is derived from the text, so an edited
            # line cannot pass for unchanged; the attributes are decoded only for the elements
            # that changed.
            elements.append(Element(kind, unquote(ident) if "%" in ident else ident, attrs_json))
        return cls(elements)

    def to_doc(self) -> dict[str, Any]:
        return {"version": SNAPSHOT_VERSION, "digest": self.digest, "elements": [e.line() for e in self.elements()]}

    # ------------------------------------------------------------ reading
    def elements(self) -> list[Element]:
        return [self._by_kind[k][i] for k in KINDS for i in sorted(self._by_kind[k])]

    def of(self, kind: str) -> dict[str, Element]:
        return self._by_kind[kind]

    def get(self, kind: str, ident: str) -> Element | None:
        return self._by_kind[kind].get(ident)

    def kind_of(self, ident: str) -> str | None:
        """The kind of an element id (ids are unique across data, zones, components and flows)."""
        for kind in ("component", "flow", "zone", "data", "control"):
            if ident in self._by_kind[kind]:
                return kind
        return None

    def fingerprints(self) -> dict[str, str]:
        return {f"{e.kind}:{e.id}": e.fingerprint for e in self.elements()}

    @property
    def digest(self) -> str:
        if self._digest is None:
            h = hashlib.sha256()
            for e in self.elements():
                h.update(f"{e.kind} {e.id} {e.fingerprint}\n".encode())
            self._digest = h.hexdigest()
        return self._digest

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)


def snapshot_doc(arch: Architecture) -> dict[str, Any]:
    """What `draft` stores in the model: the snapshot of the architecture it drafted."""
    return Snapshot.from_architecture(arch).to_doc()


def stored_snapshot(doc: Mapping[str, Any] | None) -> Snapshot | None:
    """The snapshot a model carries, or None for a model drafted before snapshots existed."""
    if not doc:
        return None
    return Snapshot.from_doc(doc)
