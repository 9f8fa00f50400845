"""The report's data-flow diagram marks a flow plaintext exactly when the rules do."""

from __future__ import annotations

from threatline.formats.architecture_yaml import load_architecture_text
from threatline.formats.markdown import mermaid

ARCH = """\
version: 1
system: {name: Diagram}
data:
  - {id: orders, name: Orders, classification: internal}
zones:
  - {id: app, name: App, trust: internal}
components:
  - {id: web, name: Web, type: service, zone: app}
  - {id: api, name: API, type: service, zone: app}
flows:
  - {id: f-http, name: Plain, from: web, to: api, protocol: http, data: [orders]}
  - {id: f-mtls, name: Mutual, from: web, to: api, protocol: grpc, authentication: mtls, data: [orders]}
  - {id: f-https, name: Secure, from: api, to: web, protocol: https, data: [orders]}
"""


def _label(diagram: str, name: str) -> str:
    return next(line for line in diagram.splitlines() if f'"{name}:' in line)


def test_plaintext_is_shown_where_the_rules_see_it():
    arch, _ = load_architecture_text(ARCH, "architecture.yaml", set())
    diagram = mermaid(arch)
    assert "(plaintext)" in _label(diagram, "Plain")
    assert "(plaintext)" not in _label(diagram, "Mutual")  # mutual TLS runs over TLS
    assert "(plaintext)" not in _label(diagram, "Secure")
