#!/usr/bin/env bash
# Set everything up (if needed) and run Studio. Until the editor window lands this checks and
# trains the LeNet example from the command line; pass your own arguments to run other commands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
    .venv/bin/studio check examples/lenet.studio
    exec .venv/bin/studio train examples/lenet.studio --samples out/samples --log out/lenet.jsonl
fi
exec .venv/bin/studio "$@"
