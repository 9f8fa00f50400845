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


# How people also write the format's listed values. The loader reads each one as the
# listed value it means and says so in a warning, instead of refusing a document over a
# word: protocol and authentication are open vocabularies (the format lists the common
# ones), and a draft from a slightly different word beats no draft at all.
# written (lower-case) -> (protocol, encrypted unless the flow says otherwise; None: the protocol's default)
PROTOCOL_SYNONYMS: dict[str, tuple[str, bool | None]] = {
    **dict.fromkeys(["http/1.1", "http1", "http2", "http/2", "h2", "h2c", "rest-http"], ("http", None)),
    **dict.fromkeys(["rest", "rest-api", "restful", "json-rpc", "openapi", "webhook", "webhooks",
                     "https/rest", "https-rest", "http3", "http/3", "h3", "quic", "s3", "aws-sdk", "aws-api",
                     "cloud-api"], ("https", None)),
    **dict.fromkeys(["ssl", "tls1.2", "tls1.3", "tls-1.2", "tls-1.3", "tcp/tls", "tcp+tls", "ldaps", "dtls",
                     "ipsec", "vpn", "wireguard", "ftps", "imaps", "pop3s"], ("tls", True)),
    **dict.fromkeys(["mutual-tls", "m-tls"], ("mtls", None)),
    **dict.fromkeys(["grpcs", "grpc+tls", "grpc-tls"], ("grpc", True)),
    **dict.fromkeys(["amqps", "amqp+tls", "rabbitmq"], ("amqp", None)),
    **dict.fromkeys(["kafka+tls", "kafka-tls"], ("kafka", True)),
    **dict.fromkeys(["mqtts", "mqtt+tls", "mqtt-tls", "secure-mqtt"], ("mqtt", True)),
    **dict.fromkeys(["wss", "websockets", "secure-websocket"], ("websocket", True)),
    **dict.fromkeys(["ws", "web-socket", "web-sockets"], ("websocket", None)),
    **dict.fromkeys(["jdbc", "odbc", "postgres", "postgresql", "pg", "mysql", "mariadb", "mssql", "tds",
                     "oracle", "sqlserver", "sql-server", "tsql", "t-sql"], ("sql", None)),
    **dict.fromkeys(["scp", "rsync", "git+ssh", "git-ssh"], ("ssh", None)),
    **dict.fromkeys(["smtps", "esmtp", "starttls"], ("smtp", True)),
    **dict.fromkeys(["smb", "cifs", "nfs", "nfs4", "file-transfer", "filesystem", "file-system", "local-file",
                     "shared-file"], ("file", None)),
    **dict.fromkeys(["gql"], ("graphql", None)),
}

AUTHENTICATION_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(["oidc", "openid", "openid-connect", "oauth", "oauth-2", "oauth2.0", "oauth-2.0",
                     "bearer", "bearer-token", "access-token", "token", "sso", "workload-identity",
                     "managed-identity", "service-account", "client-credentials"], "oauth2"),
    **dict.fromkeys(["basic", "basic-auth", "http-basic", "username-password", "user-password", "credentials",
                     "login", "form", "form-login", "ldap", "ntlm", "digest", "pin"], "password"),
    **dict.fromkeys(["cookie", "session-cookie", "sessions", "cookies"], "session"),
    **dict.fromkeys(["apikey", "api-keys", "api-token", "key", "shared-key", "static-token",
                     "personal-access-token", "pat"], "api-key"),
    **dict.fromkeys(["certificate", "certificates", "client-certificate", "client-cert", "x509", "x.509",
                     "mutual-tls", "tls-client-auth", "device-certificate"], "mtls"),
    **dict.fromkeys(["hmac", "signature", "signed", "sigv4", "aws-sigv4", "iam", "aws-iam",
                     "webhook-signature", "signed-requests"], "signed-request"),
    **dict.fromkeys(["jwt-bearer", "jws", "id-token"], "jwt"),
    **dict.fromkeys(["saml2", "saml-2.0", "saml2.0"], "saml"),
    **dict.fromkeys(["anonymous", "public", "unauthenticated", "no", "false", "open"], "none"),
}

# Component types people write for the listed ones: an unknown type stays an error (the
# format says MUST), but the hint names the type meant.
TYPE_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(["user", "person", "human", "customer", "operator", "admin", "attacker"], "actor"),
    **dict.fromkeys(["web-browser", "spa", "frontend", "single-page-app"], "browser"),
    **dict.fromkeys(["mobile", "ios-app", "android-app", "app"], "mobile-app"),
    **dict.fromkeys(["desktop", "client", "thick-client"], "desktop-app"),
    **dict.fromkeys(["iot", "iot-device", "sensor", "plc", "embedded", "hardware"], "device"),
    **dict.fromkeys(["webapp", "website", "web-server", "webserver", "portal"], "web-app"),
    **dict.fromkeys(["microservice", "backend", "server", "process", "application", "app-server"], "service"),
    **dict.fromkeys(["lambda", "serverless", "cloud-function", "faas"], "function"),
    **dict.fromkeys(["job", "batch", "consumer", "cron", "scheduler"], "worker"),
    **dict.fromkeys(["gateway", "apigateway", "api-gw"], "api-gateway"),
    **dict.fromkeys(["lb", "loadbalancer", "alb", "elb", "nlb"], "load-balancer"),
    **dict.fromkeys(["proxy", "ingress", "nginx", "waf"], "reverse-proxy"),
    **dict.fromkeys(["idp", "iam", "auth-server", "sso", "oauth-server", "identity"], "identity-provider"),
    **dict.fromkeys(["vault", "secrets", "secret-store"], "secrets-manager"),
    **dict.fromkeys(["kms", "hsm"], "key-management"),
    **dict.fromkeys(["db", "datastore", "data-store", "rdbms", "sql", "nosql", "data-warehouse", "warehouse"],
                    "database"),
    **dict.fromkeys(["s3", "bucket", "blob", "blob-storage", "storage"], "object-store"),
    **dict.fromkeys(["file-share", "nfs", "smb", "filesystem", "file-server"], "file-store"),
    **dict.fromkeys(["redis", "memcached"], "cache"),
    **dict.fromkeys(["broker", "message-broker", "topic", "stream", "kafka", "message-queue", "bus", "event-bus"],
                    "queue"),
    **dict.fromkeys(["search", "elasticsearch", "opensearch"], "search-index"),
    **dict.fromkeys(["vector-db", "vectordb", "embeddings-store"], "vector-store"),
    **dict.fromkeys(["model", "ai-model", "llm-api", "language-model"], "llm"),
    **dict.fromkeys(["ci", "pipeline", "build-server", "cicd"], "ci-cd"),
    **dict.fromkeys(["registry", "image-registry", "artifact-registry"], "container-registry"),
    **dict.fromkeys(["kubernetes", "k8s", "cluster", "scheduler-cluster"], "orchestrator"),
    **dict.fromkeys(["siem", "log", "logs", "monitoring"], "logging"),
    **dict.fromkeys(["external", "third-party", "saas", "partner", "external-api"], "external-service"),
}

# Trust levels and classifications people write: hints only (both are MUST values).
TRUST_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(["public", "internet", "external", "low", "none", "untrusted-zone", "hostile"], "untrusted"),
    **dict.fromkeys(["dmz", "semi-trusted", "semitrusted", "third-party", "vendor", "medium", "edge"], "partner"),
    **dict.fromkeys(["trusted", "private", "corporate", "corp", "intranet", "high"], "internal"),
    **dict.fromkeys(["highly-trusted", "critical", "secure", "privileged", "very-high", "pci", "cde"], "restricted"),
}
CLASSIFICATION_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(["open", "unclassified", "none", "low"], "public"),
    **dict.fromkeys(["internal-only", "internal-use", "private", "medium"], "internal"),
    **dict.fromkeys(["sensitive", "personal", "pii", "high", "business-confidential"], "confidential"),
    **dict.fromkeys(["secret", "top-secret", "highly-confidential", "strictly-confidential", "critical",
                     "very-high", "pci", "phi", "highly-sensitive"], "restricted"),
}

_STRIDE_SYNONYMS = {
    "dos": "denial_of_service", "ddos": "denial_of_service", "info_disclosure": "information_disclosure",
    "disclosure": "information_disclosure", "eop": "elevation_of_privilege", "elevation": "elevation_of_privilege",
    "privilege_escalation": "elevation_of_privilege", "spoof": "spoofing", "tamper": "tampering",
}


def vocabulary_word(value: str) -> str:
    """A listed value as people vary it: case, surrounding space, '_' or ' ' for '-'."""
    return "-".join(value.strip().lower().replace("_", " ").split())


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

    @field_validator("properties", mode="before")
    @classmethod
    def _yes_no_properties(cls, value: Any) -> Any:
        # In the model, not the loader: a document validated directly reads the same.
        if value and isinstance(value, dict):
            value = dict(value)  # the caller's document stays as written
            _read_properties(value)
        return value

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


# ---------------------------------------------------------------------------
# Reading the vocabulary leniently


_LISTED: dict[str, frozenset[str]] = {
    "classification": frozenset(Classification.__members__.values()),
    "trust": frozenset(Trust.__members__.values()),
    "type": frozenset(ComponentType.__members__.values()),
    "protocol": frozenset(Protocol.__members__.values()),
    "authentication": frozenset(Authentication.__members__.values()),
}


def _listed(kind: str, value: Any) -> str | None:
    """The listed value `value` spells with other case or separators, else None."""
    if not isinstance(value, str):
        return None
    word = vocabulary_word(value)
    return word if word in _LISTED[kind] else None


def _stride(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    word = vocabulary_word(value).replace("-", "_")
    word = _STRIDE_SYNONYMS.get(word, word)
    return word if word in StrideCategory.__members__ else None


def _control_word(value: Any, pool: set[str]) -> str | None:
    if not isinstance(value, str) or value in pool:
        return None
    word = vocabulary_word(value)
    return word if word in pool else None


def read_leniently(data: dict[str, Any], known_controls: set[str]) -> list[Problem]:
    """Rewrite, in the raw document, the values people write differently from the format's
    lists, and return a warning for each rewrite that changes meaning-bearing words.

    Case and separators are silent (`Restricted`, `API_Gateway`, `TLS`): they are the listed
    value. A protocol or authentication synonym is read as the listed value it means
    (`mqtts` -> mqtt over TLS, `oidc` -> oauth2), an unknown one as `other`, each with a
    warning naming what was read. Component types, classifications and trust levels are
    MUST values: beyond case and separators they are left for validation to refuse.
    Tags are compared lower-case. Runs before validation, on the parsed document only.
    """
    notes: list[Problem] = []
    if isinstance(data.get("system"), str) and data["system"].strip():
        data["system"] = {"name": data["system"].strip()}  # 'system: Payments' names it

    def items(section: str) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(section)
        if not isinstance(value, list):
            return []
        return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]

    def respell(item: dict[str, Any], key: str, kind: str) -> None:
        value = item.get(key)
        if isinstance(value, str) and value not in _LISTED[kind]:
            word = _listed(kind, value)
            if word is not None:
                item[key] = word

    pool = set(known_controls) | {c["id"] for _, c in items("controls") if isinstance(c.get("id"), str)}

    def read_controls(element: dict[str, Any]) -> None:
        controls = element.get("controls")
        if not controls or not isinstance(controls, list):
            return
        try:
            if pool.issuperset(controls):  # the common case: every name as the catalogue writes it
                return
        except TypeError:  # an unhashable entry: validation reports it
            return
        element["controls"] = [_control_word(c, pool) or c for c in controls]

    for _, asset in items("data"):
        respell(asset, "classification", "classification")
        tags = asset.get("tags")
        if isinstance(tags, list):
            asset["tags"] = [t.strip().lower() if isinstance(t, str) else t for t in tags]
    for _, zone in items("zones"):
        respell(zone, "trust", "trust")
    types = _LISTED["type"]
    for _, comp in items("components"):
        kind = comp.get("type")
        if kind.__class__ is not str or kind not in types:  # not str first: a list is unhashable
            respell(comp, "type", "type")
        read_controls(comp)
    protocols, authentications = _LISTED["protocol"], _LISTED["authentication"]
    for i, flow in items("flows"):
        # the common case, listed words as written, decided here without a call
        protocol, authentication = flow.get("protocol", "other"), flow.get("authentication", "none")
        if protocol.__class__ is not str or protocol not in protocols:
            _read_protocol(flow, i, notes)
        if authentication.__class__ is not str or authentication not in authentications:
            _read_authentication(flow, i, notes)
        read_controls(flow)
    for _, base in items("baseline"):
        selector = base.get("applies_to")
        if isinstance(selector, dict):
            respell(selector, "type", "type")
            if isinstance(selector.get("tag"), str):
                selector["tag"] = selector["tag"].strip().lower()
        word = _control_word(base.get("control"), pool)
        if word is not None:
            base["control"] = word
    for _, custom in items("controls"):
        mitigates = custom.get("mitigates")
        if isinstance(mitigates, list):
            custom["mitigates"] = [_stride(m) or m for m in mitigates]
    return notes


_YES = frozenset({"true", "yes", "on", "y"})
_NO = frozenset({"false", "no", "off", "n"})


def _read_properties(properties: dict[str, Any]) -> None:
    """'yes'/'no' (YAML 1.1 habits, or quoted) are booleans: rules test `internet_facing: true`,
    and the string 'no' would otherwise count as set. The `authentication` property takes
    the flows' words."""
    for key, value in properties.items():
        if isinstance(value, str) and len(value) <= 7:  # the longest of the words, with space around
            word = value.strip().lower()
            if word in _YES:
                properties[key] = True
            elif word in _NO:
                properties[key] = False
    auth = properties.get("authentication")
    if isinstance(auth, str) and auth not in _LISTED["authentication"]:
        word = vocabulary_word(auth)
        properties["authentication"] = word if word in _LISTED["authentication"] else AUTHENTICATION_SYNONYMS.get(word, auth)


def _unlisted(flow: dict[str, Any], key: str) -> str | None:
    """The value written under `key` when it is neither a listed word nor one respelled
    (case, separators: respelled in place), else None."""
    written = flow.get(key)
    if not isinstance(written, str) or written in _LISTED[key]:
        return None
    word = _listed(key, written)
    if word is not None:
        flow[key] = word
        return None
    return written


def _read_protocol(flow: dict[str, Any], index: int, notes: list[Problem]) -> None:
    written = _unlisted(flow, "protocol")
    if written is None:
        return
    listed = ", ".join(p.value for p in Protocol)
    synonym = PROTOCOL_SYNONYMS.get(vocabulary_word(written))
    if synonym is None:
        flow["protocol"] = Protocol.other.value
        notes.append(Problem(
            path=("flows", index, "protocol"), severity="warning",
            message=f"protocol '{written}' is not in the format's list: read as 'other'",
            hint=f"write one of {listed}; say 'encrypted: true' if the channel is encrypted",
        ))
        return
    protocol, encrypted = synonym
    flow["protocol"] = protocol
    read_as = f"'{protocol}'"
    if encrypted is not None and "encrypted" not in flow:
        flow["encrypted"] = encrypted
        read_as += " with 'encrypted: true'" if encrypted else " with 'encrypted: false'"
    notes.append(Problem(
        path=("flows", index, "protocol"), severity="warning",
        message=f"protocol '{written}' read as {read_as}",
        hint=f"write one of {listed}",
    ))


def _read_authentication(flow: dict[str, Any], index: int, notes: list[Problem]) -> None:
    written = flow.get("authentication")
    if written is False:  # 'authentication: false' says none
        flow["authentication"] = Authentication.none.value
        return
    written = _unlisted(flow, "authentication")
    if written is None:
        return
    listed = ", ".join(a.value for a in Authentication)
    meant = AUTHENTICATION_SYNONYMS.get(vocabulary_word(written))
    flow["authentication"] = meant or Authentication.other.value
    if meant is None:
        message = f"authentication '{written}' is not in the format's list: read as 'other'"
    else:
        message = f"authentication '{written}' read as '{meant}'"
    notes.append(Problem(path=("flows", index, "authentication"), severity="warning",
                         message=message, hint=f"write one of {listed}"))
