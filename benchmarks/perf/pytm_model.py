#!/usr/bin/env python3
"""The synthetic architecture drafted by OWASP pytm, for the side-by-side benchmark.

Runs in the benchmark's own virtualenv (benchmarks/perf/.venv-pytm, see
setup_pytm.sh), standard library + pytm only:

    benchmarks/perf/.venv-pytm/bin/python benchmarks/perf/pytm_model.py ARCH.json OUT.json

ARCH.json is the JSON sidecar written by generate.py (--json). The model is built
one-to-one from it: a Boundary per zone (nested with inBoundary), an element per
component (class by type, below), a Dataflow per flow (protocol, isEncrypted,
authentication, Data objects) and a Data object per data asset. Then pytm runs
exactly what its own `--json FILE` command line does: TM.process() -> check(),
resolve() (every threat of its library against every element) and json.dump of
the model with its findings.

Phase timings (build / process) go to stderr as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
from pytm import (  # noqa: E402
    LLM,
    TM,
    Actor,
    Boundary,
    Classification,
    Data,
    Dataflow,
    Datastore,
    DatastoreType,
    ExternalEntity,
    Lambda,
    Process,
    Server,
)

T_IMPORT = time.perf_counter() - T0

ACTOR_TYPES = {"actor", "browser", "mobile-app", "desktop-app"}
EXTERNAL_TYPES = {"external-service", "device"}
DATASTORE_TYPES = {
    "database": DatastoreType.SQL,
    "cache": DatastoreType.UNKNOWN,
    "queue": DatastoreType.UNKNOWN,
    "object-store": DatastoreType.AWS_S3,
    "file-store": DatastoreType.FILE_SYSTEM,
    "search-index": DatastoreType.UNKNOWN,
    "vector-store": DatastoreType.UNKNOWN,
    "logging": DatastoreType.UNKNOWN,
    "container-registry": DatastoreType.UNKNOWN,
}
SERVER_TYPES = {"web-app", "api", "api-gateway", "load-balancer", "cdn", "reverse-proxy", "identity-provider",
                "secrets-manager", "key-management"}
CLASSIFICATION = {
    "public": Classification.PUBLIC,
    "internal": Classification.RESTRICTED,
    "confidential": Classification.SENSITIVE,
    "restricted": Classification.SECRET,
}
ENCRYPTED_BY_DEFAULT = {"https", "tls", "mtls", "ssh", "sftp"}

# Threatline control -> pytm Controls attributes it corresponds to.
CONTROL_ATTRS = {
    "input-validation": ["validatesInput", "sanitizesInput"],
    "output-encoding": ["encodesOutput"],
    "parameterized-queries": ["usesParameterizedInput"],
    "authz-rbac": ["hasAccessControl", "authorizesSource"],
    "authn": ["authenticatesSource"],
    "authn-mfa": ["usesMFA"],
    "least-privilege": ["implementsPOLP"],
    "encryption-at-rest": ["isEncryptedAtRest"],
    "rate-limiting": ["handlesResourceConsumption"],
    "ddos-protection": ["handlesResourceConsumption", "isResilient"],
    "mtls": ["authenticatesSource", "authenticatesDestination", "isEncrypted"],
    "tls": ["isEncrypted"],
    "signed-requests": ["providesIntegrity"],
    "idempotency-keys": ["implementsNonce"],
    "log-integrity": ["providesIntegrity"],
    "waf": ["implementsStrictHTTPValidation"],
    "network-policy": ["isHardened"],
    "backup": ["isResilient"],
    "hsm": ["isHardened"],
    "secrets-rotation": ["isHardened"],
}


def _apply_controls(element, controls: list[str]) -> None:
    for cid in controls:
        for attr in CONTROL_ATTRS.get(cid, []):
            setattr(element.controls, attr, True)


def build(doc: dict) -> TM:
    tm = TM(doc["system"]["name"], description=doc["system"].get("description") or "synthetic")
    # Several flows between the same pair are legitimate here (different data); do not
    # make pytm refuse them as duplicates (its default is NO_ACTION anyway).
    boundaries: dict[str, Boundary] = {}
    pending = list(doc["zones"])
    while pending:  # parents before children
        rest = []
        for z in pending:
            parent = z.get("parent")
            if parent and parent not in boundaries:
                rest.append(z)
                continue
            kwargs = {"inBoundary": boundaries[parent]} if parent else {}
            boundaries[z["id"]] = Boundary(z.get("name") or z["id"], description=f"trust: {z['trust']}", **kwargs)
        if len(rest) == len(pending):
            raise SystemExit("zone parents form a cycle")
        pending = rest

    data: dict[str, Data] = {}
    for d in doc["data"]:
        tags = set(d.get("tags") or [])
        data[d["id"]] = Data(
            d.get("name") or d["id"],
            description=d["id"],
            classification=CLASSIFICATION[d["classification"]],
            isPII=bool(tags & {"pii", "phi", "health"}),
            isCredentials=bool(tags & {"credentials", "secret", "keys"}),
        )

    elements: dict[str, object] = {}
    for c in doc["components"]:
        ctype = c["type"]
        kwargs = {"inBoundary": boundaries[c["zone"]], "description": c.get("description", "")}
        stored = [data[s] for s in c.get("stores") or []]
        if ctype in ACTOR_TYPES:
            e = Actor(c["name"], **kwargs)
        elif ctype in EXTERNAL_TYPES:
            e = ExternalEntity(c["name"], hasPhysicalAccess=ctype == "device", **kwargs)
        elif ctype in DATASTORE_TYPES:
            e = Datastore(
                c["name"],
                type=DATASTORE_TYPES[ctype],
                isSQL=ctype == "database",
                storesPII=any(d.isPII for d in stored),
                storesSensitiveData=any(d.classification >= Classification.SENSITIVE for d in stored),
                storesLogData=ctype == "logging",
                **kwargs,
            )
        elif ctype == "function":
            e = Lambda(c["name"], **kwargs)
        elif ctype == "llm":
            e = LLM(c["name"], **kwargs)
        elif ctype in SERVER_TYPES:
            e = Server(c["name"], **kwargs)
        else:
            e = Process(c["name"], **kwargs)
        for d in stored:
            d.isStored = True
        _apply_controls(e, c.get("controls") or [])
        elements[c["id"]] = e

    for f in doc["flows"]:
        protocol = f.get("protocol", "other")
        encrypted = f.get("encrypted", protocol in ENCRYPTED_BY_DEFAULT)
        auth = f.get("authentication", "none")
        df = Dataflow(
            elements[f["from"]],
            elements[f["to"]],
            f.get("name") or f["id"],
            protocol=protocol.upper(),
            data=[data[d] for d in f.get("data") or []],
            usesSessionTokens=auth in ("session", "jwt", "oauth2"),
        )
        df.controls.isEncrypted = bool(encrypted)
        if auth != "none":
            df.controls.authenticatesSource = True
            df.controls.authenticationScheme = auth
        _apply_controls(df, f.get("controls") or [])
    return tm


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(argv[1]), Path(argv[2])
    t = time.perf_counter()
    doc = json.loads(src.read_text(encoding="utf-8"))
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    tm = build(doc)
    t_build = time.perf_counter() - t
    # Exactly pytm's own CLI path for `python model.py --json OUT`.
    sys.argv = [argv[0], "--json", str(out)]
    t = time.perf_counter()
    tm.process()
    t_process = time.perf_counter() - t
    findings = len(tm.findings)
    print(json.dumps({"import": T_IMPORT, "read": t_read, "build": t_build, "process": t_process,
                      "findings": findings, "elements": len(TM._elements), "threats_in_library": len(TM._threats)}),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
