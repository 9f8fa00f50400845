"""The architecture document, format version 1 (see docs/format.md).

Pure data and validation: no I/O. Structural checks (types, required keys) are
pydantic's; cross-reference checks live in `check_references`, which returns
problems with a key path so that an adapter can point at the file line.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class Classification(StrEnum):
    public = "public"
    internal = "internal"
    confidential = "confidential"
    restricted = "restricted"


CLASSIFICATION_ORDER = ["public", "internal", "confidential", "restricted"]


class Trust(StrEnum):
    untrusted = "untrusted"
    partner = "partner"
    internal = "internal"
    restricted = "restricted"


TRUST_ORDER = ["untrusted", "partner", "internal", "restricted"]


class ComponentType(StrEnum):
    actor = "actor"
    browser = "browser"
    mobile_app = "mobile-app"
    desktop_app = "desktop-app"
    device = "device"
    web_app = "web-app"
    api = "api"
    service = "service"
    function = "function"
    worker = "worker"
    api_gateway = "api-gateway"
    load_balancer = "load-balancer"
    cdn = "cdn"
    reverse_proxy = "reverse-proxy"
    identity_provider = "identity-provider"
    secrets_manager = "secrets-manager"
    key_management = "key-management"
    database = "database"
    object_store = "object-store"
    file_store = "file-store"
    cache = "cache"
    queue = "queue"
    search_index = "search-index"
    vector_store = "vector-store"
    llm = "llm"
    ci_cd = "ci-cd"
    container_registry = "container-registry"
    orchestrator = "orchestrator"
    logging = "logging"
    external_service = "external-service"
    other = "other"


class Protocol(StrEnum):
    https = "https"
    http = "http"
    grpc = "grpc"
    tls = "tls"
    mtls = "mtls"
    amqp = "amqp"
    kafka = "kafka"
    sql = "sql"
    ssh = "ssh"
    sftp = "sftp"
    smtp = "smtp"
    mqtt = "mqtt"
    websocket = "websocket"
    graphql = "graphql"
    soap = "soap"
    file = "file"
    other = "other"


# Protocols that are encrypted unless the document says otherwise.
ENCRYPTED_BY_DEFAULT = frozenset({"https", "tls", "mtls", "ssh", "sftp"})


class Authentication(StrEnum):
    none = "none"
    password = "password"
    api_key = "api-key"
    session = "session"
    oauth2 = "oauth2"
    jwt = "jwt"
    mtls = "mtls"
    saml = "saml"
    signed_request = "signed-request"
    other = "other"


class StrideCategory(StrEnum):
    spoofing = "spoofing"
    tampering = "tampering"
    repudiation = "repudiation"
    information_disclosure = "information_disclosure"
    denial_of_service = "denial_of_service"
    elevation_of_privilege = "elevation_of_privilege"


class _Strict(BaseModel):
    # Unknown keys are kept (and reported as warnings by the loader) so that a
    # newer document still loads in an older Threatline.
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class System(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    owner: str = ""


class DataAsset(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    classification: Classification
    tags: list[str] = Field(default_factory=list)
    description: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id


class Zone(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    trust: Trust
    parent: str | None = None
    description: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id


class Component(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    type: ComponentType
    zone: str
    tech: str = ""
    description: str = ""
    stores: list[str] = Field(default_factory=list)
    controls: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.id


class Flow(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    protocol: Protocol = Protocol.other
    data: list[str] = Field(default_factory=list)
    authentication: Authentication = Authentication.none
    encrypted: bool | None = None
    controls: list[str] = Field(default_factory=list)
    bidirectional: bool = False
    description: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def is_encrypted(self) -> bool:
        if self.encrypted is not None:
            return self.encrypted
        return self.protocol.value in ENCRYPTED_BY_DEFAULT


class Selector(_Strict):
    zone: str | None = None
    type: ComponentType | None = None
    component: str | None = None
    flow: str | None = None
    tag: str | None = None

    def is_empty(self) -> bool:
        return not any((self.zone, self.type, self.component, self.flow, self.tag))


class BaselineControl(_Strict):
    control: str
    applies_to: Selector = Field(default_factory=Selector)
    note: str = ""


class CustomControl(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = ""
    description: str = ""
    mitigates: list[StrideCategory] = Field(default_factory=list)


class Architecture(_Strict):
    version: Literal[1]
    system: System
    data: list[DataAsset] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    # validate_default: a document without 'components:' gets the same error as 'components: []'.
    components: list[Component] = Field(default_factory=list, validate_default=True)
    flows: list[Flow] = Field(default_factory=list)
    baseline: list[BaselineControl] = Field(default_factory=list)
    controls: list[CustomControl] = Field(default_factory=list)

    @field_validator("components")
    @classmethod
    def _at_least_one_component(cls, value: list[Component]) -> list[Component]:
        if not value:
            raise ValueError("a system needs at least one component")
        return value


# ---------------------------------------------------------------------------
# Cross-reference checks


class Problem(BaseModel):
    """A breach of a MUST rule, located by a key path into the document."""

    path: tuple[str | int, ...]
    message: str
    hint: str = ""
    severity: Literal["error", "warning"] = "error"


def did_you_mean(word: str, candidates: list[str] | set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def check_references(arch: Architecture, known_controls: set[str]) -> list[Problem]:
    """Every MUST rule of the format that pydantic cannot see by itself.

    On a valid document (the usual case) every reference is found: each check is a set
    lookup, and paths, hints and did-you-mean searches are built only for a problem."""
    problems: list[Problem] = []
    seen: dict[str, tuple[str, int]] = {}

    def claim(section: str, index: int, ident: str) -> None:
        first = seen.get(ident)
        if first is not None:
            problems.append(
                Problem(
                    path=(section, index, "id"),
                    message=f"duplicate id '{ident}' (first defined at {first[0]}.{first[1]}.id)",
                    hint="ids must be unique across data, zones, components and flows; rename one",
                )
            )
        else:
            seen[ident] = (section, index)

    sections = (("data", arch.data), ("zones", arch.zones), ("components", arch.components), ("flows", arch.flows))
    unique = {e.id for _, elements in sections for e in elements}
    if len(unique) < sum(len(elements) for _, elements in sections):
        # Some id is claimed twice: find which, and where it was first defined.
        for section, elements in sections:
            for i, e in enumerate(elements):
                claim(section, i, e.id)
    custom_seen: dict[str, int] = {}
    for i, c in enumerate(arch.controls):
        if c.id in custom_seen:
            problems.append(
                Problem(
                    path=("controls", i, "id"),
                    message=f"duplicate control id '{c.id}' (first defined at controls.{custom_seen[c.id]}.id)",
                    hint="declare each organisation control once",
                )
            )
        else:
            custom_seen[c.id] = i

    data_ids = {d.id for d in arch.data}
    zone_ids = {z.id for z in arch.zones}
    comp_ids = {c.id for c in arch.components}
    flow_ids = {f.id for f in arch.flows}
    custom_ids = {c.id for c in arch.controls}
    control_ids = known_controls | custom_ids
    tag_ids = {t for d in arch.data for t in d.tags}

    def ref(path: tuple[str | int, ...], value: str, pool: set[str], what: str) -> None:
        if value not in pool:
            hint = did_you_mean(value, pool)
            if what == "control" and not hint:
                hint = "declare it in the document's 'controls:' section or see 'threatline controls list'"
            elif not hint:
                hint = f"defined {what}s: {', '.join(sorted(pool)[:12]) or 'none'}"
            problems.append(Problem(path=path, message=f"unknown {what} '{value}'", hint=hint))

    def refs(path: tuple[str | int, ...], values: list[str], pool: set[str], what: str) -> None:
        if not pool.issuperset(values):
            for j, value in enumerate(values):
                ref((*path, j), value, pool, what)

    for i, z in enumerate(arch.zones):
        if z.parent is not None and z.parent not in zone_ids:
            ref(("zones", i, "parent"), z.parent, zone_ids, "zone")
    for i, c in enumerate(arch.components):
        if c.zone not in zone_ids:
            ref(("components", i, "zone"), c.zone, zone_ids, "zone")
        if c.stores:
            refs(("components", i, "stores"), c.stores, data_ids, "data asset")
        if c.controls:
            refs(("components", i, "controls"), c.controls, control_ids, "control")
    for i, f in enumerate(arch.flows):
        if f.source not in comp_ids:
            ref(("flows", i, "from"), f.source, comp_ids, "component")
        if f.target not in comp_ids:
            ref(("flows", i, "to"), f.target, comp_ids, "component")
        if f.source == f.target:
            problems.append(
                Problem(
                    path=("flows", i, "to"),
                    message=f"flow '{f.id}' goes from '{f.source}' to itself",
                    hint="a flow's endpoints must differ; model internal calls as properties instead",
                )
            )
        if f.data:
            refs(("flows", i, "data"), f.data, data_ids, "data asset")
        if f.controls:
            refs(("flows", i, "controls"), f.controls, control_ids, "control")
    for i, b in enumerate(arch.baseline):
        ref(("baseline", i, "control"), b.control, control_ids, "control")
        sel = b.applies_to
        base = ("baseline", i, "applies_to")
        if sel.zone is not None:
            ref((*base, "zone"), sel.zone, zone_ids, "zone")
        if sel.component is not None:
            ref((*base, "component"), sel.component, comp_ids, "component")
        if sel.flow is not None:
            ref((*base, "flow"), sel.flow, flow_ids, "flow")
        if sel.tag is not None:
            ref((*base, "tag"), sel.tag, tag_ids, "data tag")

    # Zone parent cycles: walk each chain until it ends or repeats.
    parents = {z.id: z.parent for z in arch.zones}
    reported: set[str] = set()
    for i, z in enumerate(arch.zones):
        chain = [z.id]
        cur = z.parent
        while cur is not None and cur in parents:
            if cur in chain:
                cycle = [*chain[chain.index(cur):], cur]
                key = min(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append(
                        Problem(
                            path=("zones", i, "parent"),
                            message="zone parents form a cycle: " + " -> ".join(cycle),
                            hint="remove one 'parent' so that the zones nest as a tree",
                        )
                    )
                break
            chain.append(cur)
            cur = parents[cur]
    return problems
