# Shared settings for Tinct's scripts; sourced, not run.
set -euo pipefail
TINCT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$TINCT_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TINCT_ROOT/target}"
ORT_VERSION="1.31.1"
ORT_DIR="$TINCT_ROOT/.local/onnxruntime"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ORT_DIR/libonnxruntime.so}"
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
