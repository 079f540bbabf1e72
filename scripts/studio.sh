#!/usr/bin/env bash
# Set everything up (if needed) and open Studio's editor. Arguments go to the `studio` command:
# a project file opens it; `check`, `export`, `train`, `blocks` run headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/studio "$@"
