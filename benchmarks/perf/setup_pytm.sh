#!/bin/sh
# Create the benchmark's own virtualenv with OWASP pytm (kept apart from Threatline's).
#   sh benchmarks/perf/setup_pytm.sh        (idempotent; run.py --with-pytm does the same)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-pytm"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet 'pytm==1.*'
"$venv/bin/python" -c 'import importlib.metadata as m; print("pytm", m.version("pytm"), "in", "'"$venv"'")'
