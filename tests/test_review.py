"""The review loop: roles, gates, sign-offs bound to content, versions, journal, merge."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threatline.cli import app
from threatline.service import draft_file, write_outputs
from threatline.store.directory import ConcurrentUpdate, ModelStore
from threatline.workflow import actions
from threatline.workflow.actions import WorkflowError
from threatline.workflow.merge import merge
from threatline.workflow.queue import queue
from threatline.workflow.stats import review_stats
from threatline.workflow.team import Team

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
runner = CliRunner()

ANA, ARCH, RAJ, DEV, LOW = "ana@example.com", "arch@example.com", "raj@example.com", "dev@example.com", "lo@example.com"
NOW = "2026-11-27T10:00:00+00:00"

TEAM_TOML = f"""
[team]
appetite = "medium"

[[team.members]]
email = "{ANA}"
roles = ["security"]

[[team.members]]
email = "{ARCH}"
roles = ["architect", "security"]

[[team.members]]
email = "{RAJ}"
roles = ["risk-owner"]
max_accept = "critical"

[[team.members]]
email = "{LOW}"
roles = ["risk-owner"]
max_accept = "medium"

[[team.members]]
email = "{DEV}"
roles = ["author"]
"""


def team() -> Team:
    """The team of TEAM_TOML, as `threatline.toml` gives it to the CLI."""
    return Team.model_validate(tomllib.loads(TEAM_TOML)["team"])


@pytest.fixture
def workspace(tmp_path):
    arch = tmp_path / "architecture.yaml"
    arch.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "threatline.toml").write_text(TEAM_TOML, encoding="utf-8")
    write_outputs(draft_file(arch), tmp_path, who=DEV, now="2026-11-27T09:00:00+00:00")
    return tmp_path


def apply(store: ModelStore, fn, who, *args, now=NOW, **kwargs):
    loaded = store.load()
    new, event = fn(loaded.model, team(), who, now, *args, **kwargs)
    return store.commit(loaded, new, [event], who, now)


def test_end_to_end_from_draft_to_published(workspace):
    """The seed's story: 8 tightened, 5 added, 3 rejected as mitigated elsewhere."""
    store = ModelStore(workspace / "threatmodel.yaml")
    model = store.load().model
    threats = [t for t in model.threats]
    assert len(threats) >= 16
    for t in threats[:8]:
        apply(store, actions.tighten, ANA, t.id, None, t.description + " Specifically via the public checkout endpoint.",
              "name the concrete endpoint")
    for t in threats[8:11]:
        apply(store, actions.reject, ANA, t.id, "mitigated-elsewhere", "covered by the platform team's controls")
    for t in threats[11:]:
        apply(store, actions.confirm, ANA, t.id)
    for i in range(5):
        apply(store, actions.add_threat, ANA, role="security", target="payment-api", target_kind="component",
              category="repudiation" if i % 2 else "tampering", title=f"Manual threat {i}",
              description=f"Reviewer-found threat number {i} on the payment API.", likelihood=3, impact=3,
              reason="found in review")
    model = store.load().model
    # Approve every proposed mitigation of a live threat; the architect judges them feasible.
    live = {t.id for t in model.threats if t.status not in ("rejected", "retired")}
    for m in model.mitigations:
        if set(m.threats) & live:
            apply(store, actions.approve, ANA, m.id)
    apply(store, actions.signoff, ANA, "security")
    model = store.load().model
    for m in model.mitigations:
        if m.status == "approved":
            apply(store, actions.feasibility, ARCH, m.id, "feasible", "")
    apply(store, actions.signoff, ARCH, "architecture")
    model = store.load().model
    for t, _ in actions.above_appetite(model):
        apply(store, actions.accept_risk, RAJ, t.id, "compensating fraud monitoring", "2026-12-20")
    apply(store, actions.signoff, RAJ, "stakeholder")
    model = store.load().model
    assert actions.model_status(model, NOW) == "accepted"
    assert actions.valid_signoffs(model).keys() == {"security", "architecture", "stakeholder"}

    res = runner.invoke(app, ["publish", str(store.path), "--as", DEV])
    assert res.exit_code == 0, res.output
    assert len(store.versions()) == 1
    res = runner.invoke(app, ["verify", str(store.path)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["status", str(store.path)])
    assert "published" in res.output

    stats = review_stats(store.load().model, store.journal())
    assert stats.tightened == 8
    assert stats.added_by_hand == 5
    assert stats.rejected == {"mitigated-elsewhere": 3}
    assert stats.still_draft == 0
    assert stats.kept_as_is == len(threats) - 11
    assert stats.hours_to_publish is not None and stats.hours_to_publish >= 0
    res = runner.invoke(app, ["stats", str(store.path), "--format", "json"])
    assert json.loads(res.stdout)["tightened"] == 8

    # A tightened threat keeps its old text.
    tightened = next(t for t in store.load().model.threats if t.status == "tightened")
    assert tightened.history and tightened.history[0].description != tightened.description


def test_wrong_role_and_unknown_identity_are_refused(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    t = store.load().model.threats[0]
    with pytest.raises(WorkflowError, match="is not a security"):
        apply(store, actions.confirm, RAJ, t.id)
    with pytest.raises(WorkflowError, match="unknown identity"):
        apply(store, actions.confirm, "eve@example.com", t.id)
    with pytest.raises(WorkflowError, match="is not a risk-owner"):
        apply(store, actions.accept_risk, ANA, t.id, "x", "2026-12-01")
    res = runner.invoke(app, ["threat", "confirm", str(store.path), t.id, "--as", RAJ])
    assert res.exit_code == 1 and "is not a security" in res.output


def test_nobody_approves_what_they_proposed(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    t = store.load().model.threats[0]
    model = apply(store, actions.propose_mitigation, ANA, role="security", control="tokenization", name="",
                  placement="payment-api", placement_kind="component", threats=[t.id], effort_days=(5, 10),
                  reason="scope reduction")
    mid = next(m.id for m in model.mitigations if m.source == f"manual:{ANA}")
    with pytest.raises(WorkflowError, match="nobody approves what they proposed"):
        apply(store, actions.approve, ANA, mid)
    apply(store, actions.approve, ARCH, mid)


def test_verifier_is_not_the_implementer(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    mid = store.load().model.mitigations[0].id
    apply(store, actions.approve, ANA, mid)
    apply(store, actions.progress, ARCH, mid, "planned")
    with pytest.raises(WorkflowError, match="is not a author"):
        apply(store, actions.progress, ANA, mid, "implemented")
    apply(store, actions.progress, DEV, mid, "implemented")
    with pytest.raises(WorkflowError, match="is not a security"):
        apply(store, actions.progress, DEV, mid, "verified")
    apply(store, actions.progress, ANA, mid, "verified")


def test_security_gate_needs_no_draft_threats(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    with pytest.raises(WorkflowError, match="still in draft"):
        apply(store, actions.signoff, ANA, "security")
    with pytest.raises(WorkflowError, match="security stage is not signed"):
        apply(store, actions.signoff, ARCH, "architecture")


def _review_all(store: ModelStore) -> None:
    for t in store.load().model.threats:
        apply(store, actions.confirm, ANA, t.id)


def test_later_change_voids_signoff_and_blocks_publish(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    _review_all(store)
    apply(store, actions.signoff, ANA, "security")
    assert "security" in actions.valid_signoffs(store.load().model)
    t = store.load().model.threats[0]
    apply(store, actions.tighten, ANA, t.id, "A sharper title", None, "more precise")
    model = store.load().model
    assert "security" not in actions.valid_signoffs(model)
    assert actions.void_signoffs(model) == ["security"]
    res = runner.invoke(app, ["status", str(store.path)])
    assert "void" in res.output
    res = runner.invoke(app, ["publish", str(store.path), "--as", DEV])
    assert res.exit_code == 1 and "not signed on the current content" in res.output


def test_acceptance_band_and_expiry_limits(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    model = store.load().model
    above = actions.above_appetite(model)
    assert above, "the example has residual risk above a medium appetite"
    t, fig = above[0]
    assert fig.severity in ("high", "critical")
    with pytest.raises(WorkflowError, match="escalate"):
        apply(store, actions.accept_risk, LOW, t.id, "fine", "2026-12-01")
    # Beyond the band's maximum: one month for critical, three for high.
    too_late = {"critical": "2027-01-28", "high": "2027-03-28"}[fig.severity]
    with pytest.raises(WorkflowError, match="may be accepted for"):
        apply(store, actions.accept_risk, RAJ, t.id, "fine", too_late)
    apply(store, actions.accept_risk, RAJ, t.id, "compensating control", "2026-12-20")
    model = store.load().model
    assert not any(i.target == t.id for i in queue(model, NOW, "risk-owner"))
    # After the expiry the risk returns to the queue and blocks the stakeholder gate.
    later = "2027-01-05T09:00:00+00:00"
    item = next(i for i in queue(model, later, "risk-owner") if i.target == t.id)
    assert "expired" in item.detail
    assert any(t.id in p and "expired" in p for p in actions.gate_problems(model, "stakeholder", later))


def test_concurrent_writers_lose_no_update(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    first, second = store.load(), store.load()
    t1, t2 = first.model.threats[0].id, first.model.threats[1].id
    new1, ev1 = actions.confirm(first.model, team(), ANA, NOW, t1)
    new2, ev2 = actions.confirm(second.model, team(), ARCH, NOW, t2)
    store.commit(first, new1, [ev1], ANA, NOW)
    before = store.path.read_bytes()
    with pytest.raises(ConcurrentUpdate, match="changed on disk"):
        store.commit(second, new2, [ev2], ARCH, NOW)
    assert store.path.read_bytes() == before
    assert next(t for t in store.load().model.threats if t.id == t1).status == "confirmed"


def test_crash_mid_write_leaves_previous_file(workspace, monkeypatch):
    store = ModelStore(workspace / "threatmodel.yaml")
    before = store.path.read_bytes()
    loaded = store.load()
    new, ev = actions.confirm(loaded.model, team(), ANA, NOW, loaded.model.threats[0].id)

    import threatline.formats.yamlio as yamlio

    real_replace = yamlio.os.replace

    def crash(src, dst):
        if str(dst).endswith("threatmodel.yaml"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(yamlio.os, "replace", crash)
    with pytest.raises(OSError):
        store.commit(loaded, new, [ev], ANA, NOW)
    assert store.path.read_bytes() == before
    assert not list(workspace.glob(".threatmodel.yaml.*.tmp"))


# ---------------------------------------------------------------- journal tampering


def _journal_with_entries(workspace) -> ModelStore:
    store = ModelStore(workspace / "threatmodel.yaml")
    for t in store.load().model.threats[:4]:
        apply(store, actions.confirm, ANA, t.id)
    assert store.verify()[0].ok
    return store


@pytest.mark.parametrize("tamper,expected", [
    ("edit", "line 3 (entry 3) was edited"),
    ("remove", "entry 3 was removed before line 3"),
    ("insert", "line 3 was inserted"),
    ("reorder", "line 3"),
    ("truncate", "removed from the end"),
])
def test_tampered_journal_is_detected(workspace, tamper, expected):
    store = _journal_with_entries(workspace)
    lines = store.journal_path.read_text(encoding="utf-8").splitlines()
    if tamper == "edit":
        entry = json.loads(lines[2])
        entry["actor"] = "mallory@example.com"
        lines[2] = json.dumps(entry)
    elif tamper == "remove":
        del lines[2]
    elif tamper == "insert":
        from threatline.workflow.journal import JournalEntry, seal, to_line

        prev = JournalEntry.model_validate(json.loads(lines[1]))
        forged = seal(prev, at=NOW, actor="mallory@example.com", role="security", action="threat.confirm",
                      target="T-x", reason="")
        lines.insert(2, to_line(forged).strip())
    elif tamper == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
    elif tamper == "truncate":
        lines = lines[:-1]
    store.journal_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report, _ = store.verify()
    assert not report.ok
    assert expected in report.problem
    res = runner.invoke(app, ["verify", str(store.path)])
    assert res.exit_code == 1 and expected in res.output


def test_tampered_version_is_detected(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    v = store.publish(store.load().model, DEV, NOW)
    path = store.versions_dir / f"{v.content_hash}.json"
    path.chmod(0o644)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["threats"][0]["severity"] = "low" if data["model"]["threats"][0]["severity"] != "low" else "high"
    path.write_text(json.dumps(data), encoding="utf-8")
    _, problems = store.verify()
    assert any("was modified" in p for p in problems)


# ---------------------------------------------------------------- re-drafting


def test_redraft_keeps_decisions_retires_and_never_resurrects(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    model = store.load().model
    fraud_threats = [t for t in model.threats if t.target in ("fraud-scoring", "payment-to-fraud")]
    other = next(t for t in model.threats if t.target == "payments-db")
    rejected = next(t for t in model.threats if t.target == "api-gateway")
    apply(store, actions.tighten, ANA, other.id, "DB tightened title", None, "precise")
    apply(store, actions.reject, ANA, rejected.id, "false-positive", "not applicable here")
    apply(store, actions.confirm, ANA, fraud_threats[0].id)

    # Remove the fraud service from the architecture and re-draft.
    arch = workspace / "architecture.yaml"
    text = arch.read_text(encoding="utf-8")
    text = text.replace("""  - id: payment-to-fraud
    name: Fraud check
    from: payment-api
    to: fraud-scoring
    protocol: grpc
    data: [card-data, customer-pii]
    authentication: none
    bidirectional: true
""", "")
    arch.write_text(text, encoding="utf-8")
    saved = write_outputs(draft_file(arch), workspace, who=DEV, now=NOW)
    after = {t.id: t for t in saved.model.threats}
    assert after[other.id].title == "DB tightened title" and after[other.id].status == "tightened"
    assert after[rejected.id].status == "rejected"
    flow_threats = [t for t in fraud_threats if t.target == "payment-to-fraud"]
    for t in flow_threats:
        assert after[t.id].status == "retired"
        assert "no longer fires" in after[t.id].retired_reason
    assert saved.merge is not None and set(saved.merge.retired) >= {t.id for t in flow_threats}

    # Re-drafting the same architecture again changes nothing, byte for byte.
    before = store.path.read_bytes()
    again = write_outputs(draft_file(arch), workspace, who=DEV, now=NOW)
    assert not again.changed and store.path.read_bytes() == before


def test_merge_keeps_reviewer_overrides(workspace):
    from threatline.engine.scoring import override_factor

    store = ModelStore(workspace / "threatmodel.yaml")
    model = store.load().model
    t = model.threats[0]
    model.threats[0] = override_factor(t, "likelihood", "exposure", -3, "behind the VPN", "reviewer:ana")
    fresh = draft_file(workspace / "architecture.yaml").model
    merged, _ = merge(model, fresh)
    kept = next(x for x in merged.threats if x.id == t.id)
    assert any(f.source == "reviewer:ana" and f.reason == "behind the VPN" for f in kept.likelihood.factors)
    assert kept.likelihood.value == model.threats[0].likelihood.value


def test_diff_between_versions(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    v1 = store.publish(store.load().model, DEV, NOW)
    t = store.load().model.threats[0]
    apply(store, actions.tighten, ANA, t.id, "Sharper", None, "precise")
    res = runner.invoke(app, ["diff", str(store.path), v1.id, "current", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    changed = {c["id"]: c for c in doc["changed"]}
    assert changed[t.id]["changes"]["title"][1] == "Sharper"
    assert changed[t.id]["changes"]["status"] == ["draft", "tightened"]
    assert [d["action"] for d in doc["decisions"]] == ["threat.tighten"]
    res = runner.invoke(app, ["diff", str(store.path), v1.id, "current", "--format", "markdown"])
    assert "## Changed (1)" in res.stdout and "## Decisions (1)" in res.stdout


def test_cli_review_queue_for_my_role(workspace):
    res = runner.invoke(app, ["review", str(workspace / "threatmodel.yaml"), "--as", ANA])
    assert res.exit_code == 0, res.output
    assert "Review queue (security)" in res.output and "threat-rev" in res.output
    res = runner.invoke(app, ["review", str(workspace / "threatmodel.yaml"), "--as", RAJ])
    assert "Review queue (risk-owner)" in res.output and "threat-rev" not in res.output


def test_team_file_errors_are_clear(workspace):
    (workspace / "threatline.toml").write_text("[team\nbroken", encoding="utf-8")
    res = runner.invoke(app, ["review", str(workspace / "threatmodel.yaml"), "--as", ANA])
    assert res.exit_code == 2 and "threatline.toml" in res.output and "Traceback" not in res.output
    (workspace / "threatline.toml").write_text('[team]\nmembers = [{email = "a@b.c", roles = ["boss"]}]\n', encoding="utf-8")
    res = runner.invoke(app, ["review", str(workspace / "threatmodel.yaml"), "--as", ANA])
    assert res.exit_code == 2 and "roles" in res.output


def test_architecture_gate_needs_cost_and_feasibility(workspace):
    store = ModelStore(workspace / "threatmodel.yaml")
    _review_all(store)
    t = store.load().model.threats[0]
    model = apply(store, actions.propose_mitigation, ARCH, role="architect", control="tokenization", name="",
                  placement="payment-api", placement_kind="component", threats=[t.id], effort_days=None,
                  reason="scope reduction")
    mid = next(m.id for m in model.mitigations if m.source == f"manual:{ARCH}")
    apply(store, actions.approve, ANA, mid)
    apply(store, actions.signoff, ANA, "security")
    with pytest.raises(WorkflowError) as exc:
        apply(store, actions.signoff, ARCH, "architecture")
    assert f"{mid} has no cost estimate" in str(exc.value)
    assert f"{mid} has no feasibility verdict" in str(exc.value)
