"""The living threat model: what changed in the architecture since the model was drafted.

Pure core, no I/O:

- `snapshot`: the normalised architecture a model was drafted from, one fingerprint per
  element (stored in threatmodel.yaml, `architecture.snapshot`);
- `diff`: the structural difference of two snapshots (added, removed, changed with the
  attributes, probable renames);
- `affected` / `rerun`: which elements a change can touch, and the engine re-run on them;
- `impact`: what each change means for the reviewed model (threats to re-review or retire,
  new threats, current mitigations no longer true, approved mitigations whose placement
  is gone, risk acceptances whose basis changed), ranked, with the role that decides;
- `record`: drift notes attached to the model when a changed architecture is re-drafted;
- `state`: the compact view of a model that drift and `check` need (`ModelInfo`).
"""
