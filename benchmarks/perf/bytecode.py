"""Compiled bytecode for the package under test, before anything is timed.

pip compiles a package's modules when it installs it, and an editable install writes them
on its first import, so a user's every later run starts from bytecode. A machine with
PYTHONDONTWRITEBYTECODE set (as some CI images and sandboxes are) never writes them, and
each run would then compile the package's sources again (about 0.08 s of every start-up
here): not what a user sees, so the benchmarks compile them once, explicitly.
"""

from __future__ import annotations

import compileall
import importlib.util
from pathlib import Path


def compile_package(name: str = "threatline") -> bool:
    """Write the package's bytecode next to its sources; False when that is not possible
    (a read-only install, which pip compiled already)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return False
    return all(compileall.compile_dir(Path(p), quiet=1) for p in spec.submodule_search_locations)
