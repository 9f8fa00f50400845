#!/usr/bin/env python3
"""Deterministic generator of synthetic Threatline architectures (format version 1).

    python benchmarks/perf/generate.py --components 1000 -o out.yaml [--seed 1] [--json out.json]

N components of mixed, realistic types; about two flows per component with mixed
protocols, authentication and encryption; a tree of about N/50 nested zones covering
every trust level; data assets of every classification with the known tags; some
component and flow controls, a custom (organisation) control and a few baseline
controls with every selector kind. The same (N, seed) always gives the same bytes.

Importable, standard library only (so other benchmarks and the pytm venv can use it):

    from generate import generate, to_yaml, generate_yaml
    doc = generate(1000, seed=1)      # plain dict, the document
    text = to_yaml(doc)               # YAML text, ready for `threatline draft`
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- vocabulary

# (type, weight, role). Roles decide the zone and how flows attach.
TYPES: list[tuple[str, int, str]] = [
    ("service", 14, "app"),
    ("api", 8, "app"),
    ("function", 7, "app"),
    ("worker", 6, "worker"),
    ("web-app", 5, "edge"),
    ("database", 8, "data"),
    ("cache", 4, "data"),
    ("queue", 5, "queue"),
    ("object-store", 4, "data"),
    ("search-index", 2, "data"),
    ("vector-store", 1, "data"),
    ("file-store", 1, "data"),
    ("external-service", 5, "external"),
    ("browser", 3, "client"),
    ("mobile-app", 2, "client"),
    ("desktop-app", 1, "client"),
    ("device", 3, "client"),
    ("actor", 2, "client"),
    ("api-gateway", 2, "edge"),
    ("load-balancer", 2, "edge"),
    ("cdn", 1, "edge"),
    ("reverse-proxy", 1, "edge"),
    ("identity-provider", 1, "platform"),
    ("llm", 2, "platform"),
    ("secrets-manager", 1, "platform"),
    ("key-management", 1, "platform"),
    ("logging", 1, "platform"),
    ("ci-cd", 1, "platform"),
    ("container-registry", 1, "platform"),
    ("orchestrator", 1, "platform"),
    ("other", 1, "app"),
]
ROLE_OF = {t: r for t, _, r in TYPES}

TECH = {
    "service": ["python/fastapi", "java/spring-boot", "go/grpc", "node/express", "kotlin/ktor", "dotnet/aspnet"],
    "api": ["python/django-rest", "node/nestjs", "java/quarkus", "go/gin"],
    "function": ["aws-lambda/python", "aws-lambda/node", "gcp-cloud-functions", "azure-functions"],
    "worker": ["python/celery", "java/spring-batch", "go/worker", "ruby/sidekiq"],
    "web-app": ["react/next.js", "django", "rails", "php/laravel"],
    "database": ["postgresql", "mysql", "mongodb", "aurora", "cassandra", "sql-server"],
    "cache": ["redis", "memcached", "valkey"],
    "queue": ["kafka", "rabbitmq", "sqs", "pubsub", "nats"],
    "object-store": ["s3", "gcs", "azure-blob", "minio"],
    "search-index": ["elasticsearch", "opensearch", "solr"],
    "vector-store": ["pgvector", "pinecone", "qdrant"],
    "file-store": ["nfs", "efs", "smb share"],
    "external-service": ["stripe api", "twilio", "sendgrid", "salesforce", "partner rest api", "adyen"],
    "browser": ["chrome", "firefox", "safari"],
    "mobile-app": ["ios/swift", "android/kotlin", "react-native"],
    "desktop-app": ["electron", "qt", "wpf"],
    "device": ["esp32 firmware", "linux embedded", "pos terminal"],
    "actor": [""],
    "api-gateway": ["kong", "aws api gateway", "apigee", "envoy"],
    "load-balancer": ["aws alb", "haproxy", "nginx"],
    "cdn": ["cloudfront", "fastly", "akamai"],
    "reverse-proxy": ["nginx", "traefik", "envoy"],
    "identity-provider": ["keycloak", "okta", "auth0", "entra id"],
    "llm": ["gpt-4o", "claude", "llama-3 self-hosted", "mistral"],
    "secrets-manager": ["vault", "aws secrets manager"],
    "key-management": ["aws kms", "cloud hsm", "gcp kms"],
    "logging": ["splunk", "elk", "datadog"],
    "ci-cd": ["github actions", "gitlab ci", "jenkins"],
    "container-registry": ["ecr", "harbor", "ghcr"],
    "orchestrator": ["kubernetes", "nomad", "ecs"],
    "other": ["legacy mainframe bridge", "custom daemon"],
}

NOUNS = [
    "orders", "payments", "catalog", "inventory", "shipping", "billing", "accounts", "profiles",
    "search", "recommendations", "notifications", "pricing", "checkout", "loyalty", "reviews",
    "reporting", "fraud", "ledger", "invoices", "subscriptions", "onboarding", "support", "media",
    "analytics", "audit", "consent", "identity", "claims", "policies", "telemetry",
]

TYPE_LABEL = {
    "service": "service", "api": "API", "function": "function", "worker": "worker",
    "web-app": "web app", "database": "database", "cache": "cache", "queue": "queue",
    "object-store": "bucket", "search-index": "search index", "vector-store": "vector store",
    "file-store": "file share", "external-service": "provider", "browser": "browser",
    "mobile-app": "mobile app", "desktop-app": "desktop client", "device": "device",
    "actor": "operator", "api-gateway": "gateway", "load-balancer": "load balancer", "cdn": "CDN",
    "reverse-proxy": "proxy", "identity-provider": "identity provider", "llm": "model endpoint",
    "secrets-manager": "secrets vault", "key-management": "KMS", "logging": "log pipeline",
    "ci-cd": "pipeline", "container-registry": "registry", "orchestrator": "cluster", "other": "system",
}

# (name, classification, tags); ids are slugs of the name plus a number.
DATA_KINDS: list[tuple[str, str, list[str]]] = [
    ("Customer PII", "confidential", ["pii"]),
    ("Cardholder data", "restricted", ["pci", "financial"]),
    ("Session tokens", "confidential", ["credentials"]),
    ("API credentials", "restricted", ["credentials", "secret"]),
    ("Health records", "restricted", ["phi", "health", "pii"]),
    ("Product catalogue", "public", []),
    ("Order records", "confidential", ["financial"]),
    ("Service telemetry", "internal", []),
    ("Audit events", "internal", []),
    ("Prompts and completions", "confidential", ["pii"]),
    ("Encryption keys", "restricted", ["keys", "secret"]),
    ("Marketing content", "public", []),
    ("Payroll data", "restricted", ["pii", "financial"]),
    ("Internal documents", "internal", []),
    ("Device readings", "internal", []),
]

COMPONENT_CONTROLS = {
    "app": ["input-validation", "audit-logging", "authz-rbac", "least-privilege", "output-encoding",
            "parameterized-queries", "secrets-rotation", "rate-limiting"],
    "worker": ["input-validation", "idempotency-keys", "least-privilege", "audit-logging"],
    "edge": ["rate-limiting", "waf", "ddos-protection", "authn", "tls"],
    "data": ["encryption-at-rest", "backup", "least-privilege", "audit-logging", "network-policy"],
    "queue": ["encryption-at-rest", "least-privilege", "network-policy"],
    "platform": ["authn-mfa", "audit-logging", "least-privilege", "log-integrity", "hsm"],
    "client": ["authn-mfa"],
    "external": [],
}
FLOW_CONTROLS = ["rate-limiting", "input-validation", "signed-requests", "idempotency-keys", "mtls", "tls"]

AUTH_WEIGHTS = [("none", 3), ("password", 1), ("api-key", 2), ("session", 2), ("oauth2", 3), ("jwt", 3),
                ("mtls", 2), ("saml", 1), ("signed-request", 1), ("other", 1)]

# Flow patterns: (weight, source role set, target role set, protocols)
PATTERNS: list[tuple[int, tuple[str, ...], tuple[str, ...], list[str]]] = [
    (10, ("client",), ("edge",), ["https", "https", "websocket", "mqtt", "http", "graphql"]),
    (14, ("edge",), ("app",), ["http", "https", "grpc", "graphql", "mtls"]),
    (22, ("app",), ("app",), ["grpc", "http", "https", "mtls", "soap", "graphql"]),
    (24, ("app", "worker"), ("data",), ["sql", "tls", "https", "other", "file"]),
    (8, ("app",), ("queue",), ["amqp", "kafka", "mqtt"]),
    (6, ("queue",), ("worker",), ["amqp", "kafka"]),
    (6, ("app", "worker"), ("external",), ["https", "https", "smtp", "sftp", "soap"]),
    (3, ("external",), ("edge", "app"), ["https", "http"]),
    (5, ("app", "worker", "edge"), ("platform",), ["https", "grpc", "tls", "http"]),
    (2, ("platform",), ("app", "data"), ["ssh", "https", "grpc"]),
]


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    items, weights = zip(*pairs, strict=False)
    return rng.choices(items, weights=weights, k=1)[0]


# ---------------------------------------------------------------- zones


def _zones(rng: random.Random, n_zones: int) -> tuple[list[dict], dict[str, list[str]]]:
    """A tree of zones; returns the zones and, per role, the zone ids components of that role live in."""
    zones: list[dict] = [
        {"id": "internet", "name": "Internet", "trust": "untrusted"},
        {"id": "partners", "name": "Partner networks", "trust": "partner"},
        {"id": "corp", "name": "Corporate cloud", "trust": "internal"},
        {"id": "dmz", "name": "Edge (DMZ)", "trust": "partner", "parent": "corp"},
        {"id": "restricted-core", "name": "Restricted core", "trust": "restricted", "parent": "corp"},
    ]
    kind = {"internet": "public", "partners": "partner", "corp": "internal", "dmz": "dmz",
            "restricted-core": "restricted"}
    depth = {"internet": 0, "partners": 0, "corp": 0, "dmz": 1, "restricted-core": 1}
    # Where a new zone of each kind may hang, and its trust.
    parent_kinds = {
        "public": ["public"], "partner": ["partner"], "dmz": ["internal", "dmz"],
        "internal": ["internal"], "restricted": ["internal", "restricted"],
    }
    trust_of = {"public": "untrusted", "partner": "partner", "dmz": "partner", "internal": "internal",
                "restricted": "restricted"}
    label = {"public": "Public segment", "partner": "Partner network", "dmz": "DMZ", "internal": "Internal",
             "restricted": "Restricted"}
    counters: dict[str, int] = {}
    while len(zones) < n_zones:
        k = _weighted(rng, [("public", 1), ("partner", 1), ("dmz", 1), ("internal", 4), ("restricted", 3)])
        candidates = [z["id"] for z in zones if kind[z["id"]] in parent_kinds[k] and depth[z["id"]] < 6]
        parent = rng.choice(candidates)
        counters[k] = counters.get(k, 0) + 1
        noun = rng.choice(NOUNS)
        zid = f"{k}-{noun}-{counters[k]}"
        zones.append({"id": zid, "name": f"{label[k]}: {noun} {counters[k]}", "trust": trust_of[k],
                      "parent": parent})
        kind[zid] = k
        depth[zid] = depth[parent] + 1
    by_kind: dict[str, list[str]] = {}
    for z in zones:
        by_kind.setdefault(kind[z["id"]], []).append(z["id"])
    homes = {
        "client": by_kind["public"],
        "external": by_kind["partner"],
        "edge": by_kind["dmz"],
        "app": by_kind["internal"] + by_kind["restricted"],
        "worker": by_kind["internal"] + by_kind["restricted"],
        "platform": by_kind["internal"] + by_kind["restricted"],
        "queue": by_kind["internal"] + by_kind["restricted"],
        "data": by_kind["restricted"] + by_kind["internal"],
    }
    return zones, homes


# ---------------------------------------------------------------- document


def generate(components: int, seed: int = 1, flows_per_component: float = 2.0) -> dict[str, Any]:
    """The architecture document as a plain dict (keys as in the format; flows use 'from'/'to')."""
    if components < 2:
        raise ValueError("need at least 2 components")
    rng = random.Random(f"threatline-perf:{components}:{seed}")
    n_zones = max(5, round(components / 50))
    n_data = max(len(DATA_KINDS), components // 20)

    zones, homes = _zones(rng, n_zones)

    data: list[dict] = []
    for i in range(n_data):
        name, cls, tags = DATA_KINDS[i % len(DATA_KINDS)]
        n = i // len(DATA_KINDS) + 1
        slug = name.lower().replace(" ", "-")
        noun = rng.choice(NOUNS)
        data.append({"id": f"{slug}-{n}", "name": f"{name} ({noun})", "classification": cls, "tags": list(tags)})
    data_by_class: dict[str, list[str]] = {}
    for d in data:
        data_by_class.setdefault(d["classification"], []).append(d["id"])

    custom_controls = [
        {"id": "org-dlp", "name": "Data loss prevention gateway",
         "description": "Corporate DLP inspection of outbound content", "mitigates": ["information_disclosure"]},
        {"id": "org-change-approval", "name": "Four-eyes change approval",
         "description": "Every production change is approved by a second engineer",
         "mitigates": ["tampering", "repudiation"]},
    ]

    # Components: guarantee every role is present, then draw by weight.
    type_pairs = [(t, w) for t, w, _ in TYPES]
    types: list[str] = []
    for role in ("client", "edge", "app", "worker", "queue", "data", "external", "platform"):
        types.append(next(t for t, _, r in TYPES if r == role))
    while len(types) < components:
        types.append(_weighted(rng, type_pairs))
    types = types[:components]
    rng.shuffle(types)

    comps: list[dict] = []
    by_role: dict[str, list[int]] = {}
    name_count: dict[tuple[str, str], int] = {}
    for i, ctype in enumerate(types):
        role = ROLE_OF[ctype]
        noun = rng.choice(NOUNS)
        key = (noun, ctype)
        name_count[key] = name_count.get(key, 0) + 1
        cid = f"{noun}-{ctype}-{i + 1}"
        c: dict[str, Any] = {
            "id": cid,
            "name": f"{noun.capitalize()} {TYPE_LABEL[ctype]} {name_count[key]}",
            "type": ctype,
            "zone": rng.choice(homes[role]),
        }
        tech = rng.choice(TECH[ctype])
        if tech:
            c["tech"] = tech
        if rng.random() < 0.5:
            c["description"] = f"Handles {noun} for the {rng.choice(NOUNS)} domain"
        if role in ("data", "queue"):
            k = rng.choice([1, 1, 2, 3])
            c["stores"] = sorted(set(rng.sample([d["id"] for d in data], k)))
        elif role in ("app", "worker", "platform") and rng.random() < 0.1:
            c["stores"] = [rng.choice(data)["id"]]
        pool = COMPONENT_CONTROLS[role]
        if pool and rng.random() < 0.35:
            c["controls"] = sorted(set(rng.sample(pool, min(len(pool), rng.choice([1, 1, 2, 3])))))
            if rng.random() < 0.05:
                c["controls"].append(rng.choice(["org-dlp", "org-change-approval"]))
        props: dict[str, Any] = {}
        if role == "edge":
            props["internet_facing"] = rng.random() < 0.8
        if role in ("app", "edge") and rng.random() < 0.4:
            props["authentication"] = rng.choice(["oauth2", "jwt", "session", "api-key", "mtls", "none"])
        if rng.random() < 0.15:
            props["criticality"] = rng.choice(["high", "medium", "low"])
        if role in ("app", "data") and rng.random() < 0.1:
            props["multi_tenant"] = True
        if props:
            c["properties"] = props
        comps.append(c)
        by_role.setdefault(role, []).append(i)

    # Flows: pick a pattern, a source and a target; no self-flows, no duplicate pairs.
    n_flows = round(components * flows_per_component)
    pattern_pairs = [((src, dst, protos), w) for w, src, dst, protos in PATTERNS]
    flows: list[dict] = []
    pairs: set[tuple[int, int]] = set()
    attempts = 0
    while len(flows) < n_flows and attempts < n_flows * 20:
        attempts += 1
        src_roles, dst_roles, protos = _weighted(rng, pattern_pairs)
        src_pool = [r for r in src_roles if by_role.get(r)]
        dst_pool = [r for r in dst_roles if by_role.get(r)]
        if not src_pool or not dst_pool:
            continue
        s = rng.choice(by_role[rng.choice(src_pool)])
        t = rng.choice(by_role[rng.choice(dst_pool)])
        if s == t or (s, t) in pairs:
            continue
        pairs.add((s, t))
        src, dst = comps[s], comps[t]
        protocol = rng.choice(protos)
        if dst["type"] == "database" and rng.random() < 0.7:
            protocol = "sql"
        f: dict[str, Any] = {
            "id": f"flow-{len(flows) + 1}",
            "name": f"{src['name']} to {dst['name']}",
            "from": src["id"],
            "to": dst["id"],
            "protocol": protocol,
        }
        # Data: what the target stores, plus something matching the traffic.
        carried: set[str] = set()
        if dst.get("stores") and rng.random() < 0.7:
            carried.update(rng.sample(dst["stores"], min(len(dst["stores"]), rng.choice([1, 2]))))
        for _ in range(rng.choice([0, 1, 1, 2])):
            cls = _weighted(rng, [("public", 1), ("internal", 3), ("confidential", 4), ("restricted", 2)])
            carried.add(rng.choice(data_by_class[cls]))
        if carried:
            f["data"] = sorted(carried)
        f["authentication"] = _weighted(rng, AUTH_WEIGHTS)
        r = rng.random()
        if r < 0.1:
            f["encrypted"] = True
        elif r < 0.15:
            f["encrypted"] = False
        if rng.random() < 0.2:
            f["controls"] = sorted(set(rng.sample(FLOW_CONTROLS, rng.choice([1, 1, 2]))))
        if rng.random() < 0.6:
            f["bidirectional"] = True
        flows.append(f)

    first = {role: comps[idx[0]]["id"] for role, idx in by_role.items()}
    baseline = [
        {"control": "waf", "applies_to": {"zone": "dmz"}, "note": "All ingress passes the corporate WAF (SEC-12)"},
        {"control": "ddos-protection", "applies_to": {"zone": "dmz"}, "note": "Cloud DDoS protection at the edge"},
        {"control": "encryption-at-rest", "applies_to": {"type": "database"},
         "note": "Managed database volumes are KMS-encrypted (SEC-07)"},
        {"control": "backup", "applies_to": {"type": "database"}, "note": "Nightly immutable snapshots"},
        {"control": "audit-logging", "applies_to": {"zone": "restricted-core"},
         "note": "Restricted workloads ship audit logs to the SIEM"},
        {"control": "network-policy", "applies_to": {"zone": "corp"}, "note": "Default-deny network policies"},
        {"control": "tokenization", "applies_to": {"tag": "pci"}, "note": "PANs are tokenised at capture"},
        {"control": "authn-mfa", "applies_to": {"component": first.get("platform", comps[0]["id"])},
         "note": "Operators use hardware keys"},
        {"control": "mtls", "applies_to": {"flow": flows[0]["id"]}, "note": "Service mesh mTLS on this hop"},
    ]

    return {
        "version": 1,
        "system": {
            "name": f"Synthetic estate ({components} components, seed {seed})",
            "description": "Generated by benchmarks/perf/generate.py for performance measurement",
            "owner": "platform-security",
        },
        "data": data,
        "zones": zones,
        "controls": custom_controls,
        "components": comps,
        "flows": flows,
        "baseline": baseline,
    }


# ---------------------------------------------------------------- YAML text


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    s = str(value)
    plain_ok = (
        s
        and s.strip() == s
        and all(ch.isalnum() or ch in " -_./()'" for ch in s)
        and s[0].isalnum()
        and s.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "none", "y", "n", "~")
        and not _looks_numeric(s)
    )
    return s if plain_ok else json.dumps(s, ensure_ascii=False)


def _looks_numeric(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _flow_list(items: list[Any]) -> str:
    return "[" + ", ".join(_scalar(i) for i in items) + "]"


def _mapping(lines: list[str], d: dict[str, Any], indent: str) -> None:
    for key, value in d.items():
        if isinstance(value, dict):
            if all(not isinstance(v, (dict, list)) for v in value.values()) and len(value) <= 3:
                lines.append(f"{indent}{key}: {{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}")
            else:
                lines.append(f"{indent}{key}:")
                _mapping(lines, value, indent + "  ")
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: {_flow_list(value)}")
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")


def to_yaml(doc: dict[str, Any]) -> str:
    """Block-style YAML, one list item per element, short lists in flow style."""
    lines = [
        "# Synthetic architecture for the Threatline performance benchmark.",
        "# Generated by benchmarks/perf/generate.py; do not edit by hand.",
        f"version: {doc['version']}",
        "system:",
    ]
    _mapping(lines, doc["system"], "  ")
    for section in ("data", "zones", "controls", "components", "flows", "baseline"):
        items = doc.get(section) or []
        lines.append("")
        lines.append(f"{section}:")
        for item in items:
            first = True
            sub: list[str] = []
            _mapping(sub, item, "    ")
            for line in sub:
                if first:
                    lines.append("  - " + line[4:])
                    first = False
                else:
                    lines.append(line)
    return "\n".join(lines) + "\n"


def generate_yaml(components: int, seed: int = 1) -> str:
    return to_yaml(generate(components, seed))


def counts(doc: dict[str, Any]) -> dict[str, int]:
    return {k: len(doc.get(k) or []) for k in ("components", "flows", "zones", "data", "baseline")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", "-n", type=int, required=True, help="number of components")
    p.add_argument("-o", "--output", type=Path, help="YAML file to write (default: stdout)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the document as JSON (sidecar for the pytm model)")
    args = p.parse_args(argv)
    doc = generate(args.components, args.seed)
    text = to_yaml(doc)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        c = counts(doc)
        print(f"wrote {args.output}: {c['components']} components, {c['flows']} flows, {c['zones']} zones, "
              f"{c['data']} data assets, {len(text) / 1048576:.2f} MiB", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
