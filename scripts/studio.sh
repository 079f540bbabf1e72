#!/usr/bin/env bash
# Set everything up (if needed) and open Studio's editor. Arguments go to the `studio` command:
# a project file opens it; `check`, `export`, `train`, `blocks`, `examples` run headless.
# Relative paths are taken from the folder you run this in.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/studio" "$@"
