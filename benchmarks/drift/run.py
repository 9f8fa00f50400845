#!/usr/bin/env python3
"""Benchmark of `threatline drift` and `threatline check` on two versions of a large system.

    . .venv/bin/activate
    python benchmarks/drift/run.py                     # 10,000 components, ~1% edited
    python benchmarks/drift/run.py --components 1000 --repeat 5

Version 1 is the synthetic architecture of benchmarks/perf/generate.py (seeded); it is
drafted once into a threat model (set-up, timed apart: up to --yaml-up-to components by
`threatline draft` itself; above, the engine's draft is written as JSON, which is YAML
too, because rendering hundreds of MB of YAML takes ruamel tens of minutes) and indexed
as every model write is. Version 2 is version 1 with about 1% of its elements edited the
way a pull request would: flows losing TLS or changing authentication, components moving
zone or losing a control, new internet-facing components, removed flows, renamed display
names. Then, each time in a fresh process (spawn to exit, interpreter start-up included):

  drift            `threatline drift V2 MODEL --format json`
  check            `threatline check V2 MODEL --format sarif -o FILE`
  check-text       `threatline check V2 MODEL` (terminal summary)
  check-unchanged  `threatline check V1 MODEL --format json` (no drift: the fixed cost)
  check-rehash     `check` after touching the model file, as after a fresh checkout in CI:
                   the index is verified against the model's sha256 before use
  check-cold       (--cold) `check` without the index: parses the whole model once

Wall time is the median of --repeat runs; CPU is the child's own user+system time
(os.wait4), which a busy machine inflates less than wall time. Results: a table on
stdout, PASS/FAIL against the 2 s target, out/results.json and out/results.md.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "perf"))
try:
    from bytecode import compile_package  # benchmarks/perf/bytecode.py
    from generate import generate, to_yaml  # benchmarks/perf/generate.py
except ImportError:  # pragma: no cover - the perf benchmark is not there
    sys.exit("benchmarks/perf/generate.py is needed to make the synthetic architectures")

TARGET_SECONDS = 2.0
BIN = Path(sys.executable).with_name("threatline")


def edit(doc: dict[str, Any], share: float, seed: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Version 2: about `share` of the components and flows edited, as a pull request would."""
    rng = random.Random(f"threatline-drift:{seed}")
    new = copy.deepcopy(doc)
    comps, flows = new["components"], new["flows"]
    n = max(5, round(len(comps) * share))
    counts: dict[str, int] = {}

    def count(kind: str) -> None:
        counts[kind] = counts.get(kind, 0) + 1

    for f in rng.sample(flows, n):  # a third lose TLS, the others change authentication or data
        r = rng.random()
        if r < 0.34:
            f["protocol"], f["encrypted"] = "http", False
            count("flow loses encryption")
        elif r < 0.67:
            f["authentication"] = "none" if f.get("authentication") != "none" else "jwt"
            count("flow authentication changed")
        else:
            f["controls"] = sorted(set(f.get("controls", [])) | {"rate-limiting"})
            count("flow control added")
    zones = [z["id"] for z in new["zones"]]
    for c in rng.sample(comps, n // 2):
        if rng.random() < 0.5:
            c["zone"] = rng.choice(zones)
            count("component moved zone")
        else:
            c["controls"] = c.get("controls", [])[1:] or ["audit-logging"]
            count("component controls changed")
    for i in range(n // 5):
        cid = f"new-portal-{i}"
        comps.append({"id": cid, "name": f"New portal {i}", "type": "web-app", "zone": "dmz",
                      "properties": {"internet_facing": True}})
        src = next(c["id"] for c in comps if c["zone"] == "internet")
        flows.append({"id": f"new-flow-{i}", "from": src, "to": cid, "protocol": "https",
                      "data": [new["data"][i % len(new["data"])]["id"]], "authentication": "none"})
        count("component added (with a flow from the internet)")
    removed = set(rng.sample([f["id"] for f in flows[: len(flows) // 2]], n // 5))
    new["flows"] = [f for f in flows if f["id"] not in removed]
    counts["flow removed"] = len(removed)
    for c in rng.sample(comps, n // 5):
        c["name"] = c["name"] + " (renamed)"
        count("display name changed (not drift)")
    return new, counts


def run(cmd: list[str], stdout: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the child, exit code."""
    with open(stdout, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def measure_phases(arch_path: Path, model_path: Path) -> dict[str, Any]:
    """Where `check` spends its CPU time (the same steps as drift_service.analyse)."""
    from threatline.drift.affected import Weights, affected
    from threatline.drift.diff import diff
    from threatline.drift.impact import impact, superseders
    from threatline.drift.rerun import narrowed, threats_for, view_for
    from threatline.drift.snapshot import Snapshot, stored_snapshot
    from threatline.drift_service import analyse, collector_paused
    from threatline.formats import drift_sarif
    from threatline.formats.architecture_yaml import load_architecture
    from threatline.formats.knowledge_packs import load_knowledge
    from threatline.store.directory import ModelStore
    from threatline.store.index import load_info

    out: dict[str, Any] = {}

    def step(name: str, fn: Any) -> Any:
        start = time.process_time()
        result = fn()
        out[name] = round(time.process_time() - start, 3)
        return result

    knowledge = step("rules", lambda: load_knowledge(None, None))
    with collector_paused():  # as analyse() runs them
        arch, _ = step("load architecture", lambda: load_architecture(arch_path, knowledge.control_ids()))
        info = step("model index", lambda: load_info(ModelStore(model_path)))
        changes = step("snapshot + diff",
                       lambda: diff(stored_snapshot(info.snapshot), Snapshot.from_architecture(arch)))
        weights = Weights(arch)
        touched = step("affected", lambda: affected(changes, arch, weights))
        view = view_for(arch, knowledge, touched)
        scope = step("narrowed", lambda: narrowed(touched, changes, arch, knowledge, view))
        fresh = step("rules re-run", lambda: threats_for(arch, knowledge, scope, view))
        step("impact", lambda: impact(changes, info, fresh, scope, weights, superseders(knowledge.rules)))
        out["re-run scope"] = f"{len(scope.components)} components, {len(scope.flows)} flows, {len(scope.zones)} zones"
    analysis = analyse(arch_path, model_path, knowledge=knowledge)
    with collector_paused():  # as `check` renders it
        step("sarif", lambda: drift_sarif.render(analysis))
    return out


def _phase(name: str, value: Any) -> str:
    return f"{name} {value:.2f}" if isinstance(value, float) else f"{name}: {value}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", "-n", type=int, default=10_000)
    p.add_argument("--share", type=float, default=0.01, help="share of components/flows edited in version 2")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "out")
    p.add_argument("--yaml-up-to", type=int, default=2000,
                   help="largest size whose model is written by 'threatline draft' itself (YAML)")
    p.add_argument("--cold", action="store_true", help="also time check without the index (parses the whole model)")
    args = p.parse_args(argv)
    compile_package()  # as an installed package starts: from bytecode (see benchmarks/perf/bytecode.py)

    out = args.out / f"n{args.components}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ, THREATLINE_MAX_BYTES=str(1 << 30), THREATLINE_USER="bench@example.com",
               COLUMNS="160")

    v1 = generate(args.components, seed=args.seed)
    v2, counts = edit(v1, args.share, args.seed)
    (out / "v1.yaml").write_text(to_yaml(v1), encoding="utf-8")
    (out / "v2.yaml").write_text(to_yaml(v2), encoding="utf-8")
    print(f"v1: {len(v1['components'])} components, {len(v1['flows'])} flows; v2 edits: {counts}", flush=True)

    os.environ["THREATLINE_MAX_BYTES"] = env["THREATLINE_MAX_BYTES"]
    from threatline.formats.threatmodel_yaml import HEADER
    from threatline.service import draft_file, write_outputs
    from threatline.store.index import write_index

    start = time.perf_counter()
    model_dir = out / "model"
    model = model_dir / "threatmodel.yaml"
    result = draft_file(out / "v1.yaml")
    if args.components <= args.yaml_up_to:
        threats = len(write_outputs(result, model_dir, who="bench@example.com").model.threats)
        how = "threatline draft (YAML)"
    else:
        # Rendering hundreds of MB of YAML takes ruamel tens of minutes and more memory than
        # drafting: write the same model as JSON, which is YAML too, and index it as a
        # commit would. drift and check read the index either way.
        text = HEADER + json.dumps(result.model.model_dump(mode="json"), ensure_ascii=False) + "\n"
        model_dir.mkdir(parents=True, exist_ok=True)
        model.write_text(text, encoding="utf-8")
        write_index(model, result.model, hashlib.sha256(text.encode("utf-8")).hexdigest())
        threats = len(result.model.threats)
        how = "engine draft, model written as JSON"
    setup = time.perf_counter() - start
    del result
    size_mb = model.stat().st_size / 1e6
    print(f"set-up: drafted v1 in {setup:.1f} s via {how} ({threats} threats, threatmodel.yaml "
          f"{size_mb:.1f} MB)", flush=True)
    time.sleep(2.5)  # let the model file's time stamp age past the index's racy window

    tl = str(BIN)
    commands = {
        "drift": [tl, "drift", str(out / "v2.yaml"), str(model), "--format", "json"],
        "check": [tl, "check", str(out / "v2.yaml"), str(model), "--format", "sarif", "-o", str(out / "check.sarif")],
        "check-text": [tl, "check", str(out / "v2.yaml"), str(model)],
        "check-unchanged": [tl, "check", str(out / "v1.yaml"), str(model), "--format", "json"],
    }
    commands["check-rehash"] = commands["check"]
    results: dict[str, dict[str, Any]] = {}
    for name, cmd in commands.items():
        walls, cpus, codes = [], [], set()
        for _ in range(args.repeat):
            if name == "check-rehash":
                os.utime(model)  # as after a fresh checkout: the index is verified by the model's sha256
            wall, cpu, code = run(cmd, out / f"{name}.stdout", env)
            walls.append(wall)
            cpus.append(cpu)
            codes.add(code)
        results[name] = {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "runs": walls,
                         "exit": sorted(codes)}
        print(f"{name:16} wall {results[name]['wall']:.2f} s  cpu {results[name]['cpu']:.2f} s  exit {sorted(codes)}",
              flush=True)
    if args.cold:
        index = model_dir / ".threatline" / "threatmodel.index.json"
        index.unlink()
        wall, cpu, code = run(commands["check"], out / "check-cold.stdout", env)
        results["check-cold"] = {"wall": wall, "cpu": cpu, "runs": [wall], "exit": [code]}
        print(f"{'check-cold':16} wall {wall:.2f} s  cpu {cpu:.2f} s  exit [{code}] (parses the model, rewrites the index)")

    phases = measure_phases(out / "v2.yaml", model)
    print("in-process CPU by phase (drift of v2): " + ", ".join(_phase(k, v) for k, v in phases.items()))

    report = json.loads((out / "drift.stdout").read_text(encoding="utf-8"))
    summary = {
        "components": len(v2["components"]), "flows": len(v2["flows"]), "edits": counts,
        "threats": threats, "model_mb": round(size_mb, 1), "setup_s": round(setup, 1), "setup": how,
        "changes": len(report["changes"]), "items": len(report["items"]), "counts": report["counts"],
        "results": results, "phases_cpu_s": phases, "target_s": TARGET_SECONDS,
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    (args.out / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    rows = ["| command | wall s (median) | CPU s | exit | target ≤ 2 s (wall) |", "|---|---:|---:|---:|---|"]
    for name, r in results.items():
        verdict = "PASS" if r["wall"] <= TARGET_SECONDS else "FAIL"
        if name == "check-cold":
            verdict = "n/a (one-off)"
        rows.append(f"| `{name}` | {r['wall']:.2f} | {r['cpu']:.2f} | {','.join(map(str, r['exit']))} | {verdict} |")
    md = (f"{summary['components']:,} components, {summary['flows']:,} flows, {summary['threats']:,} threats "
          f"(threatmodel.yaml {size_mb:.0f} MB); version 2: {summary['changes']} structural changes, "
          f"{summary['items']} items to review ({', '.join(f'{n} {s}' for s, n in report['counts'].items())}).\n\n"
          + "\n".join(rows) + "\n")
    md += "\nCPU seconds by phase, in process: " + ", ".join(_phase(k, v) for k, v in phases.items()) + ".\n"
    (args.out / "results.md").write_text(md, encoding="utf-8")
    print()
    print(md)
    return 0 if all(r["wall"] <= TARGET_SECONDS for k, r in results.items() if k != "check-cold") else 1


if __name__ == "__main__":
    sys.exit(main())
