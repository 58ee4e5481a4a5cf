#!/usr/bin/env bash
# Installs what building, running and testing Tinct need; quick when everything is present.
# Sources: Debian packages, crates.io, PyPI (the ONNX Runtime library) and npm only.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "Please install these Debian packages (as root): $*" >&2
    exit 1
  fi
  say "Installing Debian packages: $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v chromium >/dev/null || missing+=(chromium)
# An independent reader of the metadata Tinct writes, for the provenance tests.
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
command -v openssl >/dev/null || missing+=(openssl)
# PostgreSQL, for the tests that run Tinct on it (a throw-away cluster per test).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wbg_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$wbg_version" ]; then
  say "Installing wasm-bindgen-cli $wbg_version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi

# ONNX Runtime: the shared library from the PyPI wheel, into .local/ (nothing system-wide).
if [ ! -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" ]; then
  say "Fetching the ONNX Runtime $ORT_VERSION library"
  wheels="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 \
    "onnxruntime==$ORT_VERSION" -d "$wheels"
  mkdir -p "$ORT_DIR"
  python3 - "$wheels" "$ORT_DIR" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "onnxruntime-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime"):
            with open(os.path.join(sys.argv[2], base), "wb") as out:
                out.write(z.read(name))
PY
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"
  rm -rf "$wheels"
fi

if [ ! -d end2end/node_modules/playwright-core ] || [ ! -d end2end/node_modules/axe-core ]; then
  say "Installing the browser-test driver and accessibility checker (npm playwright-core, axe-core)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
fi

# Garage, an S3-compatible object store, for the tests of object storage (a throw-away node per
# test). Built once from crates.io into a cache outside the checkout, so that CI reuses it: the
# first build took 8.5 minutes on 2 cores (about 760 MB of build files, removed after).
# Only the test command needs it (`setup.sh --for-tests`).
if [ "${1:-}" = "--for-tests" ] && [ ! -x "$TINCT_GARAGE" ]; then
  say "Installing Garage $GARAGE_VERSION (an S3-compatible object store, for the tests; once)"
  CARGO_TARGET_DIR="$TINCT_CACHE/garage-build" cargo install garage --version "$GARAGE_VERSION" \
    --locked --no-default-features --features bundled-libs,sqlite --root "$TINCT_CACHE/garage-$GARAGE_VERSION"
  rm -rf "$TINCT_CACHE/garage-build"
fi

# ComfyUI's example clients (end2end/comfy/clients.py) need `websocket-client`: a project-local
# virtual environment, nothing system-wide.
COMFY_VENV="$TINCT_ROOT/.local/comfy-venv"
if [ ! -x "$COMFY_VENV/bin/python" ] || ! "$COMFY_VENV/bin/python" -c "import websocket" 2>/dev/null; then
  say "Setting up the Python environment for ComfyUI's example clients"
  python3 -m venv "$COMFY_VENV"
  "$COMFY_VENV/bin/pip" install --quiet --disable-pip-version-check websocket-client==1.9.2
fi
