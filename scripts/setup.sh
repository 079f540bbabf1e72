#!/usr/bin/env bash
# Create .venv (once) and install Studio with its test tools, torch pinned by constraints.txt.
# pip runs only when something it reads changed: the first time, and after an edit to
# pyproject.toml, setup.py or constraints.txt (their hash, with the checkout's path, is kept in
# .venv/studio-setup.stamp). Otherwise this takes a few milliseconds, so every launch can call it.
# The install is editable: edits to studio/, resources/ and examples/ need no reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
STAMP=.venv/studio-setup.stamp
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
wanted="$( (pwd; cat pyproject.toml setup.py constraints.txt) | cksum)"
if [ -x .venv/bin/studio ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    exit 0
fi
echo "setup: installing Studio and its pinned dependencies into .venv (first run, or the build files changed)"
rm -f "$STAMP"
# pip's and the build's chatter goes to a log, shown only if the install fails
LOG=.venv/studio-setup.log
if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
        && .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "setup: pip failed (its output is above and in $LOG)" >&2
    exit 1
fi
echo "$wanted" >"$STAMP"
echo "setup: done in ${SECONDS} s"
