#!/usr/bin/env bash
# Set everything up (if needed), lint, and run the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check studio tests bench scripts
.venv/bin/python scripts/make_examples.py --check
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
