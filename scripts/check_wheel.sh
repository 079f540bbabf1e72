#!/usr/bin/env bash
# The installed app works without the checkout: build a wheel from this checkout, install it into
# a fresh virtual environment (torch pinned by constraints.txt), and from a folder outside the
# checkout open the window under an X server (Examples menu, icon: scripts/check_wheel_window.py),
# list the examples, and train LeNet for one epoch. scripts/test.sh (and so CI) runs this.
# Needs Xvfb for the window part. Prints how long the build and the install took.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/studio-wheel-check.XXXXXX")"
XVFB_PID=""
cleanup() {
    if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
unset PYTHONPATH
now() { date +%s.%N; }
# pip's chatter goes to a log, shown only when the step fails
quietly() { "$@" >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log" >&2; echo "check_wheel: failed: $*" >&2; exit 1; }; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

echo "check_wheel: building the wheel from $ROOT"
t=$(now)
# build from a copy of the checkout's files (tracked and new, not ignored): a build/ folder left in
# the checkout by an earlier build could slip files since deleted into the wheel
mkdir "$WORK/src"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | tar -C "$ROOT" --null --ignore-failed-read --warning=no-failed-read -T - -cf - \
        | tar -C "$WORK/src" -xf -
else
    cp -R "$ROOT"/. "$WORK/src"
fi
quietly "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/studio-*.whl)"
echo "check_wheel: built $(basename "$WHEEL") in $(took "$t")"

t=$(now)
"$PYTHON" -m venv "$WORK/venv"
quietly "$WORK/venv/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" "$WHEEL"
echo "check_wheel: fresh venv with the wheel installed in $(took "$t")"

mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"
cp "$ROOT/scripts/check_wheel_window.py" .

# an X server of our own on a free display number: Xvfb writes the number it took to fd 3 once it
# accepts clients (and closes the pipe if it fails, which ends the read)
mkfifo "$WORK/displayfd"
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$WORK/displayfd" 2>"$WORK/xvfb.log" &
XVFB_PID=$!
DISPLAY_NUMBER=""
read -r -t 60 DISPLAY_NUMBER <"$WORK/displayfd" || true
[ -n "$DISPLAY_NUMBER" ] || { echo "check_wheel: Xvfb did not start" >&2; cat "$WORK/xvfb.log" >&2; exit 1; }
t=$(now)
DISPLAY=":$DISPLAY_NUMBER" QT_QPA_PLATFORM=xcb timeout 300 \
    "$WORK/venv/bin/python" check_wheel_window.py
echo "check_wheel: window checked in $(took "$t")"

"$WORK/venv/bin/studio" --version
listing="$("$WORK/venv/bin/studio" examples)"
grep -q "^lenet .*/site-packages/studio/examples/lenet.studio\$" <<<"$listing" \
    || { echo "check_wheel: studio examples does not list the installed lenet: $listing" >&2; exit 1; }
echo "check_wheel: studio examples lists $(wc -l <<<"$listing") examples inside the installed package"
t=$(now)
"$WORK/venv/bin/studio" train lenet --epochs 1 --quiet --save lenet.safetensors
[ -s lenet.safetensors ] || { echo "check_wheel: studio train wrote no weights" >&2; exit 1; }
echo "check_wheel: trained LeNet for one epoch from $PWD in $(took "$t")"
"$WORK/venv/bin/studio" export lenet --out exported
[ -s exported/data/digits.npz ] || { echo "check_wheel: the export has no data/digits.npz" >&2; exit 1; }
(cd exported && "$WORK/venv/bin/python" train.py --steps 5)
echo "check_wheel: the exported LeNet trains with its own copy of the data"
echo "check_wheel: passed (${SECONDS} s in all)"
