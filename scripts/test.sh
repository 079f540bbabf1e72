#!/usr/bin/env bash
# Set everything up (if needed), lint, and run the whole test suite. CI runs exactly this.
# Without arguments it also runs scripts/check_wheel.sh (the installed wheel opens the window and
# trains, from outside the checkout); arguments go to pytest and run only those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check studio tests bench scripts setup.py
.venv/bin/python scripts/make_examples.py --check
wheel_status=0
if [ $# -eq 0 ]; then
    bash scripts/check_wheel.sh || wheel_status=$?
fi
# The whole suite runs in two processes (pytest-xdist), whole files to each, so a file's shared
# fixtures (a trained model, an sshd) are made once: much of the suite waits on processes and
# windows rather than computing. STUDIO_TEST_WORKERS=0 runs it in one process.
if [ $# -eq 0 ] && [ "${STUDIO_TEST_WORKERS:-2}" != 0 ]; then
    set -- -n "${STUDIO_TEST_WORKERS:-2}" --dist loadfile
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ "$wheel_status" != 0 ]; then
    echo "test.sh: the tests passed but scripts/check_wheel.sh failed (see above)" >&2
    exit "$wheel_status"
fi
