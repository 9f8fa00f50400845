"""`threatline draft ARCH -o DIR` end to end: the re-draft merge builds its model from
shallow copies without altering its inputs, a re-draft that changes nothing writes
nothing, and the content hashes sign-offs bind to keep their values."""

from __future__ import annotations

import shutil
from pathlib import Path

from threatline import service
from threatline.formats.yamlio import dump_yaml, load_yaml
from threatline.model.threatmodel import (
    Factor,
    Generator,
    Mitigation,
    RiskFigure,
    Score,
    Signoff,
    Threat,
    ThreatModel,
)
from threatline.store import index
from threatline.store.directory import ModelStore
from threatline.workflow.actions import stage_hash, valid_signoffs
from threatline.workflow.merge import merge

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "payments" / "architecture.yaml"

# stage_hash of _fixed_model() as computed before the draft-pipeline performance work.
SECURITY = '61d0682c879dcaec6c6064106c1b77f8cf83012553abffc6a8d8a32d45fdceff'
ARCHITECTURE = '5db7705f5b311110d64b5b3325358d710f6248a65491dd642b8261e2dfbcecd0'
STAKEHOLDER = '100b0e2b14d091c0857f1155966db368eadbb42eee72ce2e985ef20de3ee98cf'


def _reviewed(model: ThreatModel, still_drafted: set[str]) -> ThreatModel:
    """The model with the decisions a review leaves (each kind the merge carries over)."""
    model = model.model_copy(deep=True)
    # Decisions on threats the re-draft still produces.
    t = [x for x in model.threats if x.id in still_drafted]
    t[0].status, t[0].reject_reason = "rejected", "not-applicable"
    t[1].status, t[1].title, t[1].description = "tightened", "Tightened title", "Tightened text"
    t[2].status, t[2].retired_reason = "retired", "gone once"
    t[3].status = "confirmed"
    model.threats.append(t[4].model_copy(update={
        "id": "T-manual", "source": "manual:alice", "rule": None,
        "proposed_mitigations": ["M-not-any-more", *t[4].proposed_mitigations]}))
    model.mitigations[0].status = "approved"
    model.mitigations[1].status, model.mitigations[1].placement = "adjusted", "elsewhere"
    return model


def _changed_architecture(tmp_path: Path) -> Path:
    data, _ = load_yaml(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    removed = data["components"].pop(1)["id"]
    data["flows"] = [f for f in data.get("flows", []) if removed not in f.values()]
    path = tmp_path / "architecture.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


def test_merge_leaves_both_inputs_as_they_were(tmp_path: Path) -> None:
    fresh = service.draft_file(_changed_architecture(tmp_path)).model
    old = _reviewed(service.draft_file(EXAMPLE).model, {t.id for t in fresh.threats})
    old_before, fresh_before = old.model_dump_json(), fresh.model_dump_json()

    merged, report = merge(old, fresh)

    assert old.model_dump_json() == old_before
    assert fresh.model_dump_json() == fresh_before
    assert report.retired and report.kept
    by_id = {t.id: t for t in merged.threats}
    decided = {t.status: t for t in old.threats if t.status != "draft" and t.id != "T-manual"}
    tightened = by_id[decided["tightened"].id]
    assert (tightened.status, tightened.title) == ("tightened", "Tightened title")
    assert by_id[decided["rejected"].id].status == "rejected"
    assert by_id[decided["retired"].id].status == "draft"  # fires again: back to review
    assert decided["retired"].id in report.revived
    # The manual threat keeps only the mitigations that still exist, on a copy.
    assert "M-not-any-more" not in by_id["T-manual"].proposed_mitigations
    assert "M-not-any-more" in old.threats[-1].proposed_mitigations
    # Kept threats are new objects sharing the fresh draft's frozen values.
    kept = next(t for t in fresh.threats if t.id == decided["confirmed"].id)
    assert by_id[kept.id] is not kept and by_id[kept.id].likelihood is kept.likelihood
    adjusted = next(m for m in merged.mitigations if m.id == old.mitigations[1].id)
    assert adjusted.placement == "elsewhere"


def test_redraft_of_the_same_architecture_writes_nothing(tmp_path: Path) -> None:
    arch = tmp_path / "architecture.yaml"
    shutil.copy(EXAMPLE, arch)
    first = service.write_outputs(service.draft_file(arch), tmp_path, now="2026-01-01T00:00:00+00:00")
    model_path = tmp_path / "threatmodel.yaml"
    written = model_path.read_bytes()
    assert first.changed
    assert index.indexed_content_hash(model_path, service.file_sha256(model_path)) == stage_hash(first.model, "stakeholder")

    again = service.write_outputs(service.draft_file(arch), tmp_path, now="2026-01-02T00:00:00+00:00")

    assert not again.changed and again.merge is not None and len(again.merge.kept) == len(first.model.threats)
    assert model_path.read_bytes() == written
    assert len(ModelStore(model_path).journal()) == 1


def test_redraft_without_a_usable_index_compares_the_models(tmp_path: Path) -> None:
    arch = tmp_path / "architecture.yaml"
    shutil.copy(EXAMPLE, arch)
    service.write_outputs(service.draft_file(arch), tmp_path, now="2026-01-01T00:00:00+00:00")
    model_path = tmp_path / "threatmodel.yaml"
    # A reviewer's decision saved without the index (it now describes other bytes).
    store = ModelStore(model_path)
    model = store.load().model
    model.threats[0].status = "confirmed"
    service.save_model(model, model_path)
    assert index.indexed_content_hash(model_path, service.file_sha256(model_path)) is None

    again = service.write_outputs(service.draft_file(arch), tmp_path, now="2026-01-02T00:00:00+00:00")
    assert not again.changed  # the decision is kept: the content is the same

    index.index_path(model_path).write_text("not json\n", encoding="utf-8")
    _changed_architecture(tmp_path)  # rewrites tmp_path/architecture.yaml
    third = service.write_outputs(service.draft_file(arch), tmp_path, now="2026-01-03T00:00:00+00:00")
    assert third.changed and third.merge is not None and third.merge.retired


def _fixed_model() -> ThreatModel:
    """A hand-built model: its stage hashes must not move (existing sign-offs bind to them)."""
    figure = RiskFigure(likelihood=3, impact=4, severity="high")
    score = Score(value=3, base=2, factors=[Factor(name="exposure", delta=1, reason="internet-facing")])
    threat = Threat(
        id="T-0001", target="api", target_kind="component", category="spoofing", title="Spoofed caller",
        description="An attacker calls the API as someone else.", severity="high", source="rule:R-1",
        rule="R-1", likelihood=score, impact=Score(value=4, base=4), inherent=figure, current=figure,
        residual=RiskFigure(likelihood=2, impact=4, severity="medium"), proposed_mitigations=["M-1"],
    )
    mitigation = Mitigation(id="M-1", control="mfa", name="MFA", placement="api", placement_kind="component",
                            threats=["T-0001"], status="approved", implemented_by="PR-7")
    return ThreatModel(system="Fixed", generator=Generator(version="0.1", scoring_model="v1"),
                       threats=[threat], mitigations=[mitigation])


def test_stage_hashes_keep_their_values() -> None:
    model = _fixed_model()
    assert {stage: stage_hash(model, stage) for stage in ("security", "architecture", "stakeholder")} == {
        "security": SECURITY, "architecture": ARCHITECTURE, "stakeholder": STAKEHOLDER}
    signed = model.model_copy(update={"signoffs": [
        Signoff(stage="security", by="a@x", at="2026-01-01", content_hash=SECURITY)]})
    assert list(valid_signoffs(signed)) == ["security"]
