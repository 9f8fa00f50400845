#!/usr/bin/env python3
"""Where does `threatline draft` spend its time? In-process timing of each phase.

    python benchmarks/perf/phases.py ARCHITECTURE.yaml [--skip render_yaml,...] [--profile N] [--profile-out FILE]

Phases: import, knowledge (rule packs + controls), read+parse YAML, validate
(pydantic + references), draft (facts, rules, scoring, mitigations), render yaml /
json / markdown (the markdown report includes the mitigation plan), and cli_table
(the rich threat table `draft` prints unless -q). With --profile N, also prints the top N functions by cumulative time
(cProfile, which inflates pure-Python hot loops; the phase times above it are
measured without the profiler). Prints one JSON line first (machine-readable).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
from threatline import service  # noqa: E402
from threatline.engine.draft import draft  # noqa: E402
from threatline.formats.architecture_yaml import parse_architecture  # noqa: E402
from threatline.formats.knowledge_packs import load_knowledge  # noqa: E402
from threatline.formats.yamlio import load_yaml_file  # noqa: E402

T_IMPORT = time.perf_counter() - T0


def run_phases(path: Path, skip: frozenset[str] = frozenset()) -> tuple[dict[str, float], dict[str, int]]:
    times: dict[str, float] = {"import": T_IMPORT}

    def lap(name: str, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        times[name] = time.perf_counter() - t
        return value

    knowledge = lap("knowledge", load_knowledge, None, None)
    data, locator = lap("parse_yaml", load_yaml_file, path)
    arch, _ = lap("validate", parse_architecture, data, str(path), locator, knowledge.control_ids())
    model = lap("draft", draft, arch, knowledge, path.name, service.file_sha256(path))
    for name, exporter in service.OUTPUTS.items():
        if f"render_{name}" in skip:
            continue
        try:
            lap(f"render_{name}", exporter.render, model, arch)
        except Exception as exc:  # the engine is being edited in parallel; report, don't die
            times[f"render_{name}"] = float("nan")
            print(f"render {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if "cli_table" not in skip:
        # The threat table `draft` prints (cli._threat_table, a private helper: skip it if it moved).
        try:
            import io

            from rich.console import Console

            from threatline import cli

            names = ({c.id: c.label for c in arch.components} | {f.id: f.label for f in arch.flows}
                     | {z.id: z.label for z in arch.zones})
            saved, cli.out = cli.out, Console(file=io.StringIO(), width=120)
            try:
                lap("cli_table", cli._threat_table, model, names)
            finally:
                cli.out = saved
        except (ImportError, AttributeError, TypeError) as exc:
            print(f"cli_table skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
    sizes = {"components": len(arch.components), "flows": len(arch.flows), "zones": len(arch.zones),
             "threats": len(model.threats), "mitigations": len(model.mitigations), "rules": len(knowledge.rules)}
    return times, sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("architecture", type=Path)
    p.add_argument("--profile", type=int, default=0, metavar="N", help="also print the top N functions (cProfile)")
    p.add_argument("--profile-out", type=Path, help="save the cProfile stats to this file")
    p.add_argument("--profile-only", action="store_true", help="skip the unprofiled timing run")
    p.add_argument("--skip", default="", help="comma-separated phases to skip, e.g. render_yaml,render_markdown")
    args = p.parse_args(argv)
    skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
    if not args.profile_only:
        times, sizes = run_phases(args.architecture, skip)
        print(json.dumps({"phases": times, "sizes": sizes}))
        for k, v in times.items():
            print(f"  {k:<18} {v:8.3f} s", file=sys.stderr)
        print("  " + ", ".join(f"{k} {v}" for k, v in sizes.items()), file=sys.stderr)
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        run_phases(args.architecture, skip)
        prof.disable()
        if args.profile_out:
            prof.dump_stats(str(args.profile_out))
        stats = pstats.Stats(prof, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
