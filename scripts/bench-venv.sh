#!/usr/bin/env bash
# Python venv for the benchmarks only (bench/pso_tensors_numpy.py): .tools/bench-venv with a pinned numpy from PyPI.
# Idempotent: does nothing when the venv already holds this numpy (marker file). Not needed by the plugin or its tests.
#
#   bash scripts/bench-venv.sh        # prints the venv's python path on its last line
#
# Environment: BENCH_PYTHON to choose the interpreter (default: python3.11, else python3). Wheels are pinned by
# sha256 for CPython 3.10-3.13 on manylinux x86_64; anything else fails with --require-hashes (by design).
set -euo pipefail

NUMPY_VERSION=2.2.6
# sha256 of numpy-2.2.6-cp3XX-cp3XX-manylinux_2_17_x86_64.manylinux2014_x86_64.whl, as served by PyPI.
NUMPY_HASHES=(
  fc7b73d02efb0e18c000e9ad8b83480dfcd5dfd11065997ed4c6747470ae8915 # cp310
  ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf # cp311
  fd83c01228a688733f1ded5201c678f0c53ecc1006ffbc404db9f7a899ac6249 # cp312
  1bc23a79bfabc5d056d106f9befb8d50c31ced2fbc70eedb8155aec74a45798f # cp313
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/bench-venv"
PY="$VENV/bin/python"
MARKER="$VENV/.numpy-$NUMPY_VERSION"

if [[ -f "$MARKER" && -x "$PY" ]] && "$PY" -c "import numpy, sys; sys.exit(numpy.__version__ != '$NUMPY_VERSION')" 2>/dev/null; then
  echo "bench-venv: numpy $NUMPY_VERSION already in $VENV" >&2
  echo "$PY"
  exit 0
fi

BASE_PY="${BENCH_PYTHON:-}"
if [[ -z "$BASE_PY" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then BASE_PY=python3.11; else BASE_PY=python3; fi
fi
if ! command -v "$BASE_PY" >/dev/null 2>&1; then
  echo "bench-venv: no Python interpreter found ($BASE_PY); install Python 3.10-3.13 or set BENCH_PYTHON" >&2
  exit 1
fi

if [[ ! -x "$PY" ]]; then
  echo "bench-venv: creating $VENV with $("$BASE_PY" --version 2>&1)" >&2
  mkdir -p "$ROOT/.tools"
  if ! "$BASE_PY" -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    echo "bench-venv: '$BASE_PY -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  fi
fi

REQ="$(mktemp)"
trap 'rm -f "$REQ"' EXIT
{
  printf 'numpy==%s' "$NUMPY_VERSION"
  for h in "${NUMPY_HASHES[@]}"; do printf ' \\\n    --hash=sha256:%s' "$h"; done
  printf '\n'
} >"$REQ"

echo "bench-venv: installing numpy==$NUMPY_VERSION (hash-pinned wheel) from PyPI" >&2
if ! "$PY" -m pip install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: --no-deps -r "$REQ" >&2; then
  if ! "$PY" -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/numpy/', timeout=10)" 2>/dev/null; then
    echo "bench-venv: PyPI (https://pypi.org) is unreachable from here; the numpy baseline needs numpy==$NUMPY_VERSION from PyPI." >&2
  else
    echo "bench-venv: pip could not install numpy==$NUMPY_VERSION with the pinned hashes (supported: CPython 3.10-3.13, manylinux x86_64)." >&2
  fi
  exit 1
fi

"$PY" -c "import numpy, sys; sys.exit(numpy.__version__ != '$NUMPY_VERSION')"
touch "$MARKER"
echo "bench-venv: numpy $NUMPY_VERSION ready in $VENV" >&2
echo "$PY"
