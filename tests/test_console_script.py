"""The console script (threatline.cli.main) in a real process: it skips the interpreter's
teardown, so these check that exit codes and every byte of output still come through."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "architecture.yaml"
SCRIPT = "from threatline.cli import main; main()"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_large_output_on_a_pipe_arrives_whole(tmp_path):
    proc = run("draft", str(EXAMPLE), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["threats"]) >= 20 and proc.stdout.endswith("}\n")


def test_files_written_are_complete(tmp_path):
    arch = tmp_path / "architecture.yaml"
    shutil.copy(EXAMPLE, arch)
    proc = run("draft", str(arch), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "threatmodel.md").read_text(encoding="utf-8")
    assert report.rstrip().endswith(("|", ")", ".", "```")) and len(report) > 10_000
    check = run("check", str(arch), str(tmp_path / "threatmodel.yaml"), "--format", "sarif",
                "-o", str(tmp_path / "check.sarif"), cwd=tmp_path)
    assert check.returncode == 1, check.stderr  # a draft is not a reviewed model
    assert json.loads((tmp_path / "check.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_bad_input_exits_2_with_its_message(tmp_path):
    proc = run("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_usage_errors_keep_their_exit_code(tmp_path):
    proc = run("draft", "--no-such-option", cwd=tmp_path)
    assert proc.returncode == 2 and "No such option" in proc.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "draft", str(EXAMPLE), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{\n  "versi'
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in stderr
