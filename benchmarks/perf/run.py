#!/usr/bin/env python3
"""Performance benchmark of `threatline draft`, side by side with OWASP pytm.

    . .venv/bin/activate
    python benchmarks/perf/run.py                         # 100, 1,000, 10,000 components
    python benchmarks/perf/run.py --with-pytm             # + pytm in benchmarks/perf/.venv-pytm
    python benchmarks/perf/run.py --sizes 100,1000 --repeat 5 --phases

For each size it generates the synthetic architecture (generate.py, seeded), then
runs, each time in a fresh process:

  files  `threatline draft ARCH -o OUTDIR`            (threatmodel.yaml + threatmodel.md)
  json   `threatline draft ARCH --format json > FILE`
  pytm   the same model built and drafted by pytm, as its `--json FILE` CLI does (optional)

Wall time is the median of --repeat runs (default 3 below 10,000 components, 1 from
10,000), from spawn to exit, so it includes interpreter start-up and imports, as a
user sees it. Peak memory is the child's own maximum resident set size, read from
os.wait4(), which returns the rusage of exactly that child (and its waited-for
descendants): no wrapper, no pollution by other runs. A 10-component "floor" run
measures the fixed cost, so growth can be judged on the size-dependent part.

Results: a table on stdout, PASS/FAIL per target, and out/results.json +
out/results.md (the tables in Markdown, for benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from bytecode import compile_package  # noqa: E402

PYTM_VENV = HERE / ".venv-pytm"
FLOOR_SIZE = 10

TARGET_SECONDS = 3.0
TARGET_MB = 500.0
TARGET_SPEEDUP = 10.0
LINEAR_EXPONENT = 1.15  # net time ~ N^k; k <= 1.15 counts as linear (10x size -> <= 14x time)


@dataclass
class Measurement:
    wall: float | None  # median seconds; None if every run failed or timed out
    peak_mb: float | None  # max over runs, MB (10^6 bytes)
    runs: list[float] = field(default_factory=list)
    cpu: float | None = None  # median user+system CPU seconds of the child (robust to a busy machine)
    status: str = "ok"  # ok | timeout | error
    detail: str = ""


def _measure_once(
    cmd: list[str], stdout_path: Path, timeout: float, env: dict[str, str]
) -> tuple[float, float, float, int, bool, str]:
    stderr_path = stdout_path.with_suffix(stdout_path.suffix + ".stderr")
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen we reaped it
    peak_mb = usage.ru_maxrss * 1024 / 1e6  # Linux reports KiB
    cpu = usage.ru_utime + usage.ru_stime
    tail = ""
    if proc.returncode != 0 and not timed_out.is_set():
        tail = stderr_path.read_text(errors="replace")[-600:]
    return wall, peak_mb, cpu, proc.returncode, timed_out.is_set(), tail


def measure(
    cmd: list[str], stdout_path: Path, repeat: int, timeout: float, env: dict[str, str] | None = None,
    clean: Path | None = None,
) -> Measurement:
    """Median wall time and max peak RSS over `repeat` fresh processes.

    `clean`: a directory emptied before each run, so every run is a first draft
    (with a threatmodel.yaml already there, `draft` merges into it instead).
    """
    env = dict(os.environ if env is None else env)
    env.setdefault("COLUMNS", "120")
    walls: list[float] = []
    peaks: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        if clean is not None:
            shutil.rmtree(clean, ignore_errors=True)
            clean.mkdir(parents=True)
        wall, peak, cpu, rc, timed_out, tail = _measure_once(cmd, stdout_path, timeout, env)
        if timed_out:
            return Measurement(None, peak or None, walls, status="timeout", detail=f"> {timeout:g} s")
        if rc != 0:
            return Measurement(None, peak, walls, status="error", detail=f"exit {rc}: {tail.strip()}")
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
    return Measurement(statistics.median(walls), max(peaks), walls, cpu=statistics.median(cpus))


def default_repeat(size: int) -> int:
    return 1 if size >= 10_000 else 3


def threatline_cmd(args: argparse.Namespace) -> list[str]:
    if args.threatline:
        return args.threatline.split()
    exe = Path(sys.executable).parent / "threatline"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("threatline")
    if found:
        return [found]
    return [sys.executable, "-m", "threatline.cli"]


def ensure_pytm() -> Path:
    python = PYTM_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PYTM_VENV} and installing pytm==1.* ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PYTM_VENV)], check=True)
    ok = subprocess.run([str(python), "-c", "import pytm"], capture_output=True).returncode == 0
    if not ok:
        subprocess.run([str(PYTM_VENV / "bin" / "pip"), "install", "--quiet", "pytm==1.*"], check=True)
    return python


def _version_of(python: str, dist: str) -> str:
    r = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


def knowledge_counts() -> tuple[str, str]:
    code = ("from threatline.formats.knowledge_packs import load_knowledge\n"
            "k = load_knowledge(None, None)\nprint(len(k.rules), len(k.controls))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    parts = r.stdout.split()
    return (parts[0], parts[1]) if len(parts) == 2 else ("?", "?")


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}


def count_threats(path: Path) -> int | None:
    try:
        return len(json.loads(path.read_text(encoding="utf-8"))["threats"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_phases(arch: Path) -> dict[str, float] | None:
    r = subprocess.run([sys.executable, str(HERE / "phases.py"), str(arch)], capture_output=True, text=True)
    try:
        return json.loads(r.stdout.splitlines()[0])["phases"]
    except (IndexError, ValueError, KeyError):
        print(f"phases failed for {arch}: {r.stderr[-400:]}", file=sys.stderr)
        return None


# ---------------------------------------------------------------- formatting


def fmt_s(m: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.status == "timeout":
        return m.detail
    if m.wall is None:
        return m.status
    return f"{m.wall:.2f}"


def fmt_cpu(m: Measurement | None) -> str:
    return "-" if m is None or m.cpu is None else f"{m.cpu:.2f}"


def fmt_mb(m: Measurement | None) -> str:
    if m is None or m.peak_mb is None or m.status == "error":
        return "-"
    if m.status == "timeout":
        return f">= {m.peak_mb:.0f}"  # peak until it was stopped
    return f"{m.peak_mb:.0f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=False))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(out)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,1000,10000", help="comma-separated component counts")
    p.add_argument("--repeat", type=int, help="runs per measurement (default 3 below 10,000, else 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--with-pytm", action="store_true", help="also draft with pytm (creates .venv-pytm if missing)")
    p.add_argument("--pytm-timeout", type=float, default=600, help="seconds before a pytm run is stopped")
    p.add_argument("--timeout", type=float, default=600, help="seconds before a threatline run is stopped")
    p.add_argument("--phases", action="store_true", help="also time each phase in-process (phases.py)")
    p.add_argument("--out", type=Path, default=HERE / "out", help="working directory (generated files, outputs)")
    p.add_argument("--keep-outputs", action="store_true", help="keep pytm's JSON (~750 MB at 10,000 components)")
    p.add_argument("--threatline", help="command to run instead of the venv's threatline")
    p.add_argument("--from-results", type=Path, metavar="RESULTS_JSON",
                   help="only re-print the tables and verdicts of an earlier run's results.json")
    args = p.parse_args(argv)
    compile_package()  # as an installed package starts: from bytecode (see bytecode.py)

    if args.from_results:
        saved = json.loads(args.from_results.read_text(encoding="utf-8"))
        with_pytm = any(r.get("pytm") for r in saved["results"])
        report, verdicts = render(saved["results"], saved["info"], with_pytm=with_pytm)
        print(report["text"])
        args.from_results.with_suffix(".md").write_text(report["markdown"], encoding="utf-8")
        return 0 if all(v["status"] != "FAIL" for v in verdicts) else 1

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    tl = threatline_cmd(args)
    pytm_python = ensure_pytm() if args.with_pytm else None

    rules, controls = knowledge_counts()
    info = {
        "date": dt.date.today().isoformat(),
        **machine(),
        "threatline": _version_of(sys.executable, "threatline"),
        "rules": rules,
        "controls": controls,
        "pytm": _version_of(str(pytm_python), "pytm") if pytm_python else None,
        "seed": args.seed,
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    print(f"# machine: {info['nproc']} cores ({info['cpu']}), {info['memory']}, Python {info['python']}, "
          f"{info['os']}", file=sys.stderr)
    print(f"# threatline {info['threatline']} with {rules} rules, {controls} controls"
          + (f"; pytm {info['pytm']}" if pytm_python else ""), file=sys.stderr)

    results: list[dict] = []
    for size in [FLOOR_SIZE, *sizes]:
        is_floor = size == FLOOR_SIZE
        repeat = args.repeat or default_repeat(size)
        doc = generate.generate(size, args.seed)
        arch = args.out / f"arch-{size}.yaml"
        sidecar = args.out / f"arch-{size}.json"
        arch.write_text(generate.to_yaml(doc), encoding="utf-8")
        sidecar.write_text(json.dumps(doc), encoding="utf-8")
        c = generate.counts(doc)
        print(f"# {size:>6} components: {c['flows']} flows, {c['zones']} zones, {c['data']} data assets "
              f"({arch.stat().st_size / 1e6:.1f} MB); repeat {repeat}", file=sys.stderr)
        outdir = args.out / f"draft-{size}"
        logs = args.out / f"logs-{size}"
        logs.mkdir(exist_ok=True)
        files = measure([*tl, "draft", str(arch), "-o", str(outdir)], logs / "draft.stdout", repeat, args.timeout,
                        clean=outdir)
        print(f"#   files {fmt_s(files)} s, {fmt_mb(files)} MB {files.detail[:300]}", file=sys.stderr)
        json_out = logs / "threatmodel.json"
        jsn = measure([*tl, "draft", str(arch), "--format", "json"], json_out, repeat, args.timeout)
        print(f"#   json  {fmt_s(jsn)} s, {fmt_mb(jsn)} MB {jsn.detail[:300]}", file=sys.stderr)
        threats = count_threats(json_out)
        pytm = None
        pytm_findings = None
        if pytm_python is not None and not is_floor:
            pytm_out = args.out / f"pytm-{size}.json"
            pytm = measure([str(pytm_python), str(HERE / "pytm_model.py"), str(sidecar), str(pytm_out)],
                           args.out / f"pytm-{size}.stdout", repeat, args.pytm_timeout)
            try:
                stats = json.loads((args.out / f"pytm-{size}.stdout.stderr").read_text().strip().splitlines()[-1])
                pytm_findings = stats.get("findings")
            except (OSError, ValueError, IndexError):
                pass
            if not args.keep_outputs:
                pytm_out.unlink(missing_ok=True)
            print(f"#   pytm  {fmt_s(pytm)} s, {fmt_mb(pytm)} MB {pytm.detail[:300]}", file=sys.stderr)
        phases = run_phases(arch) if args.phases and not is_floor else None
        results.append({
            "size": size, "floor": is_floor, **c, "threats": threats, "pytm_findings": pytm_findings,
            "files": asdict(files), "json": asdict(jsn), "pytm": asdict(pytm) if pytm else None,
            "phases": phases,
        })

    info["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report, verdicts = render(results, info, with_pytm=pytm_python is not None)
    print(report["text"])
    (args.out / "results.json").write_text(json.dumps({"info": info, "results": results, "verdicts": verdicts},
                                                      indent=2), encoding="utf-8")
    (args.out / "results.md").write_text(report["markdown"], encoding="utf-8")
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.md'}", file=sys.stderr)
    return 0 if all(v["status"] != "FAIL" for v in verdicts) else 1


def _m(d: dict | None) -> Measurement | None:
    return Measurement(**d) if d else None


def render(results: list[dict], info: dict, with_pytm: bool) -> tuple[dict[str, str], list[dict]]:
    floor = next((r for r in results if r["floor"]), None)
    floor_s = floor["files"]["wall"] if floor else None
    main = [r for r in results if not r["floor"]]

    headers = ["size", "components", "flows", "threats", "draft s", "cpu s", "peak MB", "s/1k comp", "net s/1k",
               "json s", "json cpu s", "json MB"]
    rows = []
    if floor:
        f, j = _m(floor["files"]), _m(floor["json"])
        rows.append(["floor", str(floor["components"]), str(floor["flows"]), str(floor["threats"] or "?"),
                     fmt_s(f), fmt_cpu(f), fmt_mb(f), "", "", fmt_s(j), fmt_cpu(j), fmt_mb(j)])
    for r in main:
        f, j = _m(r["files"]), _m(r["json"])
        per_k = net_k = ""
        if f and f.wall is not None:
            per_k = f"{f.wall / (r['components'] / 1000):.3f}"
            if floor_s is not None:
                net_k = f"{max(f.wall - floor_s, 0) / (r['components'] / 1000):.3f}"
        rows.append([f"{r['size']:,}", str(r["components"]), str(r["flows"]), str(r["threats"] or "?"),
                     fmt_s(f), fmt_cpu(f), fmt_mb(f), per_k, net_k, fmt_s(j), fmt_cpu(j), fmt_mb(j)])

    side_headers = ["size", "threatline json s", "threatline MB", "threats", "pytm s", "pytm cpu s", "pytm MB",
                    "pytm findings", "speed-up", "cpu speed-up", "memory ratio"]
    side_rows = []
    if with_pytm:
        for r in main:
            j, py = _m(r["json"]), _m(r["pytm"])
            speed = cpu_speed = mem = "-"
            if j and j.cpu and py and py.cpu and py.status == "ok":
                cpu_speed = f"{py.cpu / j.cpu:.1f}x"
            if j and j.wall and py:
                if py.wall is not None:
                    speed = f"{py.wall / j.wall:.1f}x"
                elif py.status == "timeout":
                    speed = f">= {float(py.detail.split()[1]) / j.wall:.1f}x"
                if py.peak_mb and j.peak_mb and py.status == "ok":
                    mem = f"{py.peak_mb / j.peak_mb:.1f}x"
            side_rows.append([f"{r['size']:,}", fmt_s(j), fmt_mb(j), str(r["threats"] or "?"), fmt_s(py), fmt_cpu(py), fmt_mb(py),
                              str(r["pytm_findings"] or "?"), speed, cpu_speed, mem])

    phase_rows = []
    phase_names: list[str] = []
    for r in main:
        if r["phases"]:
            phase_names = list(r["phases"])
    for r in main:
        if r["phases"]:
            phase_rows.append([f"{r['size']:,}", *(f"{r['phases'].get(n, float('nan')):.2f}" for n in phase_names)])

    floors = {k: floor[k]["wall"] if floor else None for k in ("files", "json")}
    verdicts = check_targets(main, floors, with_pytm)

    text = [f"machine: {info['nproc']} cores, {info['cpu']}, {info['memory']}, Python {info['python']}; "
            f"threatline {info['threatline']} ({info['rules']} rules); load average before/after: "
            f"{info['loadavg_before']} / {info['loadavg_after']}",
            "", "threatline draft (files: yaml + markdown; json: --format json), wall seconds and peak RSS:", "",
            table(headers, rows)]
    md = [f"Measured {info['date']} on {info['nproc']} cores ({info['cpu']}, {info['memory']}), Python "
          f"{info['python']}, {info['os']}; threatline {info['threatline']} with {info['rules']} rules and "
          f"{info['controls']} controls" + (f", pytm {info['pytm']}" if info.get("pytm") else "")
          + f"; load average before/after {info['loadavg_before']} / {info['loadavg_after']}.", "",
          "#### `threatline draft`", "",
          "`draft s`/`peak MB`: `threatline draft ARCH -o DIR` (threatmodel.yaml + threatmodel.md, table on "
          "stdout). `json s`/`json MB`: `threatline draft ARCH --format json`. `floor`: a "
          f"{FLOOR_SIZE}-component model, i.e. the fixed cost (start-up, imports, rule packs). `net s/1k`: "
          "(draft s - floor) per 1,000 components.", "", md_table(headers, rows)]
    if side_rows:
        text += ["", "side by side with pytm (JSON output of both):", "", table(side_headers, side_rows)]
        md += ["", "#### Side by side with pytm (JSON output)", "",
               "Both from the architecture file to a JSON threat model, in a fresh process. `speed-up`: pytm "
               "wall time / threatline wall time (above 1: threatline is faster); `cpu speed-up` the same on CPU "
               "time; `memory ratio`: pytm peak / threatline peak.", "", md_table(side_headers, side_rows)]
    if phase_rows:
        ph = ["size", *phase_names]
        text += ["", "in-process phase times, seconds (phases.py):", "", table(ph, phase_rows)]
        md += ["", "#### Where the time goes (in-process, seconds)", "", md_table(ph, phase_rows)]
    text += ["", "targets:"]
    md += ["", "#### Targets", "", "| target | measured | result |", "|---|---|---|"]
    for v in verdicts:
        text.append(f"  {v['status']:<4}  {v['target']}: {v['measured']}")
        md.append(f"| {v['target']} | {v['measured']} | **{v['status']}** |")
    return {"text": "\n".join(text), "markdown": "\n".join(md) + "\n"}, verdicts


def check_targets(main: list[dict], floors: dict[str, float | None], with_pytm: bool) -> list[dict]:
    verdicts = []
    big = next((r for r in main if r["components"] == 10_000), None)

    def verdict(target: str, ok: bool | None, measured: str) -> None:
        verdicts.append({"target": target, "status": "n/a" if ok is None else ("PASS" if ok else "FAIL"),
                         "measured": measured})

    if big:
        f, j = _m(big["files"]), _m(big["json"])
        if f.wall is not None:
            verdict(f"10,000 components drafted in <= {TARGET_SECONDS:g} s", f.wall <= TARGET_SECONDS,
                    f"{f.wall:.2f} s (files); json {fmt_s(j)} s")
        else:
            verdict(f"10,000 components drafted in <= {TARGET_SECONDS:g} s", False,
                    f"{f.status} {f.detail[:80]} (files); json {fmt_s(j)} s")
        done = [m.peak_mb for m in (f, j) if m.status == "ok" and m.peak_mb is not None]
        cut = [m.peak_mb for m in (f, j) if m.status == "timeout" and m.peak_mb is not None]  # lower bounds
        worst = max(done + cut) if done + cut else None
        if worst is not None and worst > TARGET_MB:
            verdict(f"10,000 components in <= {TARGET_MB:g} MB", False,
                    f"{'>= ' if worst not in done else ''}{worst:.0f} MB peak RSS")
        elif done and not cut:
            verdict(f"10,000 components in <= {TARGET_MB:g} MB", True, f"{max(done):.0f} MB peak RSS")
        else:
            verdict(f"10,000 components in <= {TARGET_MB:g} MB", None, "a run did not finish")
    else:
        verdict("10,000 components targets", None, "size 10,000 not measured")

    parts: list[str] = []
    states: list[bool | None] = []
    for key, label in (("files", "draft"), ("json", "json")):
        base = floors.get(key)
        finished = [r for r in main if r[key]["wall"] is not None]
        if base is None or len(finished) < 2:
            parts.append(f"{label}: needs the floor and two sizes")
            states.append(None)
            continue
        a, b = finished[-2], finished[-1]
        na, nb = a[key]["wall"] - base, b[key]["wall"] - base
        if na <= 0 or nb <= 0:
            parts.append(f"{label}: net times too small to compare")
            states.append(None)
            continue
        k = math.log(nb / na) / math.log(b["components"] / a["components"])
        state: bool | None = k <= LINEAR_EXPONENT
        text = f"{label} k = {k:.2f} ({a['components']:,} -> {b['components']:,})"
        cut = [r for r in main if r[key]["status"] == "timeout" and r["components"] > b["components"]]
        if cut:
            c = cut[0]
            limit = float(c[key]["detail"].split()[1])
            k_lb = math.log((limit - base) / nb) / math.log(c["components"] / b["components"])
            text += f", k >= {k_lb:.2f} to {c['components']:,} (stopped at {limit:g} s)"
            if k_lb > LINEAR_EXPONENT:
                state = False
            elif state:
                state = None
        parts.append(text)
        states.append(state)
    overall = False if False in states else (True if all(x is True for x in states) else None)
    verdict(f"linear growth (net time ~ N^k, k <= {LINEAR_EXPONENT})", overall, "; ".join(parts))

    if with_pytm:
        both = [r for r in main if r["json"]["wall"] is not None and r["pytm"]]
        if both:
            r = both[-1]
            j, py = _m(r["json"]), _m(r["pytm"])
            if py.wall is not None:
                s = py.wall / j.wall
                verdict(f">= {TARGET_SPEEDUP:g}x faster than pytm (JSON)", s >= TARGET_SPEEDUP,
                        f"{s:.1f}x at {r['components']:,} components ({j.wall:.2f} s vs {py.wall:.2f} s)")
            elif py.status == "timeout":
                s = float(py.detail.split()[1]) / j.wall
                verdict(f">= {TARGET_SPEEDUP:g}x faster than pytm (JSON)", True if s >= TARGET_SPEEDUP else None,
                        f">= {s:.1f}x at {r['components']:,} components (pytm {py.detail})")
            else:
                verdict(f">= {TARGET_SPEEDUP:g}x faster than pytm (JSON)", None, f"pytm {py.status}: {py.detail[:80]}")
    else:
        verdict(f">= {TARGET_SPEEDUP:g}x faster than pytm (JSON)", None, "run with --with-pytm")
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
