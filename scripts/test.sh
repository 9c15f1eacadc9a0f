#!/usr/bin/env bash
# Run the whole mirlens test suite, ONNX backend included, then the Python package's tests.
#
# The ONNX tests need the ONNX Runtime shared library. It is taken from $ORT_DYLIB_PATH when set, otherwise from
# the `onnxruntime` wheel in ./.venv, which this script installs on first use (PyPI only; no other network).
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n 1 || true)
  if [ -z "$lib" ]; then
    echo "== installing onnxruntime==$ORT_VERSION into .venv (for the ONNX backend tests)"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION"
    lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)
  fi
  export ORT_DYLIB_PATH="$PWD/$lib"
fi
echo "== ONNX Runtime: $ORT_DYLIB_PATH"

# The HTML report's browser tests need headless Chromium (Debian's `chromium`, or $MIRLENS_CHROMIUM).
if [ -z "${MIRLENS_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (for the report's browser tests)"
    apt-get update -q && apt-get install -y -q chromium
  else
    echo "== the report's browser tests need Chromium: run 'sudo apt-get install chromium' or set MIRLENS_CHROMIUM"
  fi
fi

cargo test --workspace --features mirlens-cli/onnx "$@"

# The Python package (PyO3 extension built from source by maturin through pip, like a user's
# `pip install ./python`; the dev profile here reuses the test build's artefacts) and its pytest suite, which
# compares its values with the mirlens binary built above.
echo "== Python package"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "numpy>=1.21" "pytest>=7"
MATURIN_PEP517_ARGS="--profile dev" .venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python
MIRLENS_BIN="$PWD/target/debug/mirlens" .venv/bin/python -m pytest -q python/tests
