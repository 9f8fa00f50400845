"""Documents written by people who do not know our exact words still draft.

Case and separators of listed values are read silently; protocol and authentication
synonyms are read as the listed value they mean, with a located warning; an unknown
protocol or authentication is read as 'other' with a warning. Component types,
classifications and trust levels stay MUST values: beyond case they are refused, and
the hint names the type meant.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threatline.engine.draft import draft
from threatline.formats.architecture_yaml import load_architecture_text
from threatline.model.architecture import (
    AUTHENTICATION_SYNONYMS,
    PROTOCOL_SYNONYMS,
    Authentication,
    Protocol,
    vocabulary_word,
)
from threatline.model.diagnostics import InputError

DOC = """\
version: 1
system: {{name: Shop}}
data:
  - {{id: pii, classification: {classification}, tags: [{tag}]}}
zones:
  - {{id: internet, trust: untrusted}}
  - {{id: app, trust: {trust}}}
components:
  - {{id: user, type: actor, zone: internet}}
  - {{id: web, type: {type}, zone: app, controls: [{control}]}}
  - {{id: db, type: database, zone: app, stores: [pii]}}
flows:
  - {{id: visit, from: user, to: web, protocol: https, data: [pii]}}
  - {{id: query, from: web, to: db, protocol: {protocol}, authentication: {authentication}, data: [pii]}}
baseline:
  - {{control: {baseline}, applies_to: {{tag: {selector_tag}}}}}
"""

PLAIN = dict(classification="confidential", tag="pii", trust="internal", type="web-app", control="tls",
             protocol="sql", authentication="password", baseline="audit-logging", selector_tag="pii")


def load(known: set[str], **changes: str):
    text = DOC.format(**(PLAIN | changes))
    return load_architecture_text(text, "arch.yaml", known)


@pytest.fixture(scope="module")
def known(knowledge) -> set[str]:
    return knowledge.control_ids()


def test_case_and_separators_are_read_silently(known):
    arch, warnings = load(known, classification="Confidential", tag="PII", trust="INTERNAL", type="Web_App",
                          control="TLS", protocol="SQL", authentication="Password", baseline="Audit_Logging",
                          selector_tag="Pii")
    assert warnings == []
    assert arch.data[0].classification.value == "confidential"
    assert arch.data[0].tags == ["pii"]
    assert arch.zones[1].trust.value == "internal"
    assert arch.components[1].type.value == "web-app"
    assert arch.components[1].controls == ["tls"]
    query = arch.flows[1]
    assert (query.protocol.value, query.authentication.value) == ("sql", "password")
    assert arch.baseline[0].control == "audit-logging"
    assert arch.baseline[0].applies_to.tag == "pii"


def test_protocol_synonym_sets_encryption_and_warns_with_line(known):
    arch, warnings = load(known, protocol="mqtts")
    query = arch.flows[1]
    assert query.protocol is Protocol.mqtt
    assert query.encrypted is True and query.is_encrypted
    assert len(warnings) == 1
    w = warnings[0]
    assert (w.severity, w.line, w.key) == ("warning", 14, "flows[1].protocol")
    assert "'mqtts' read as 'mqtt' with 'encrypted: true'" in w.message


def test_declared_encryption_wins_over_a_synonym(known):
    text = DOC.format(**PLAIN | {"protocol": "mqtts"}).replace("data: [pii]}\nbaseline", "data: [pii], encrypted: false}\nbaseline")
    arch, _ = load_architecture_text(text, "arch.yaml", known)
    assert arch.flows[1].encrypted is False


def test_unknown_protocol_and_authentication_are_read_as_other(known):
    arch, warnings = load(known, protocol="modbus", authentication="kerberos")
    query = arch.flows[1]
    assert (query.protocol, query.authentication) == (Protocol.other, Authentication.other)
    messages = sorted(w.message for w in warnings)
    assert messages == [
        "authentication 'kerberos' is not in the format's list: read as 'other'",
        "protocol 'modbus' is not in the format's list: read as 'other'",
    ]


def test_authentication_synonyms(known):
    for written, meant in [("oidc", "oauth2"), ("Basic", "password"), ("client-certificate", "mtls"),
                           ("HMAC", "signed-request"), ("anonymous", "none")]:
        arch, warnings = load(known, authentication=written)
        assert arch.flows[1].authentication.value == meant, written
        assert f"'{written}' read as '{meant}'" in warnings[0].message


def test_authentication_false_means_none(known):
    arch, warnings = load(known, authentication="false")
    assert arch.flows[1].authentication is Authentication.none
    assert warnings == []


def test_a_document_with_synonyms_drafts_like_the_listed_words(known, knowledge):
    synonyms, _ = load(known, protocol="postgres", authentication="basic-auth")
    listed, _ = load(known, protocol="sql", authentication="password")
    titles = sorted(t.title for t in draft(synonyms, knowledge).threats)
    assert titles and titles == sorted(t.title for t in draft(listed, knowledge).threats)


def test_must_values_beyond_case_are_still_refused_with_the_meant_type(known):
    with pytest.raises(InputError) as exc:
        load(known, type="microservice")
    d = exc.value.diagnostics[0]
    assert d.message == "unknown component type 'microservice'"
    assert d.hint.startswith("did you mean 'service'?")
    with pytest.raises(InputError) as exc:
        load(known, classification="secret")
    assert exc.value.diagnostics[0].hint.startswith("did you mean 'restricted'?")
    with pytest.raises(InputError) as exc:
        load(known, trust="Trusted")  # not 'untrusted', which spelling alone would suggest
    assert exc.value.diagnostics[0].hint.startswith("did you mean 'internal'?")


def test_unknown_control_is_still_an_error(known):
    with pytest.raises(InputError) as exc:
        load(known, control="quantum-shield")
    assert "unknown control 'quantum-shield'" in exc.value.diagnostics[0].message


def test_synonym_tables_point_at_listed_values():
    protocols = {p.value for p in Protocol}
    assert all(p in protocols for p, _ in PROTOCOL_SYNONYMS.values())
    assert set(AUTHENTICATION_SYNONYMS.values()) <= {a.value for a in Authentication}
    # A synonym is never itself a listed word (it would shadow it).
    assert not protocols & set(PROTOCOL_SYNONYMS)
    assert not {a.value for a in Authentication} & set(AUTHENTICATION_SYNONYMS)
    assert all(vocabulary_word(k) == k for k in (*PROTOCOL_SYNONYMS, *AUTHENTICATION_SYNONYMS))


@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=20))
def test_any_protocol_word_loads_or_is_refused_cleanly(known, word):
    # Whatever is written as a protocol, the document loads (read as some listed value) or
    # gets located errors: never a traceback.
    quoted = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    try:
        arch, _ = load(known, protocol=quoted)
    except InputError as exc:
        assert exc.diagnostics
        return
    assert arch.flows[1].protocol in set(Protocol)


def test_common_control_names_resolve_to_catalogue_controls(known, knowledge):
    # Names engineers write for catalogue controls draft exactly like the catalogue's ids.
    for written, control in [("network-segmentation", "network-policy"), ("SIEM", "security-monitoring"),
                             ("Data_Masking", "data-redaction"), ("sast", "vulnerability-scanning")]:
        alias_arch, _ = load(known, control=written)
        listed_arch, _ = load(known, control=control)

        def current(arch):
            return sorted((t.id, tuple(t.current_mitigations)) for t in draft(arch, knowledge).threats)

        assert current(alias_arch) == current(listed_arch), written
        # and the name is read as that control (not dropped), whether or not a drafted threat
        # on this small system happens to list it
        from threatline.engine.facts import ArchitectureView

        facts = ArchitectureView(alias_arch, knowledge.implied(), knowledge.aliases).component("web").facts
        assert control in facts["controls"], written


def test_yes_no_properties_are_booleans_and_property_authentication_takes_synonyms(known, knowledge):
    text = DOC.format(**PLAIN).replace(
        "{id: web, type: web-app, zone: app, controls: [tls]}",
        '{id: web, type: web-app, zone: app, controls: [tls], properties: {internet_facing: "no", mfa: "Yes", '
        'authentication: OIDC, tier: gold}}')
    arch, _ = load_architecture_text(text, "arch.yaml", known)
    props = arch.components[1].properties
    assert props == {"internet_facing": False, "mfa": True, "authentication": "oauth2", "tier": "gold"}
    from threatline.engine.facts import ArchitectureView

    facts = ArchitectureView(arch, knowledge.implied(), knowledge.aliases).component("web").facts
    assert facts["internet_facing"] is False
    assert "authn-mfa" in facts["controls"]


def test_system_given_as_a_name(known):
    arch, warnings = load_architecture_text(DOC.format(**PLAIN).replace("system: {name: Shop}", "system: Shop"),
                                            "arch.yaml", known)
    assert arch.system.name == "Shop" and warnings == []
