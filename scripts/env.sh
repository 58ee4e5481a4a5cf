# Shared settings for Tinct's scripts; sourced, not run.
set -euo pipefail
TINCT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$TINCT_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TINCT_ROOT/target}"
ORT_VERSION="1.31.1"
ORT_DIR="$TINCT_ROOT/.local/onnxruntime"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ORT_DIR/libonnxruntime.so}"
export PATH="$HOME/.cargo/bin:$PATH"
# Tools built once and kept outside the checkout (a fresh clone reuses them).
TINCT_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tinct"
GARAGE_VERSION="2.5.0"
export TINCT_GARAGE="${TINCT_GARAGE:-$TINCT_CACHE/garage-$GARAGE_VERSION/bin/garage}"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
# Copies the first COUNT JPEG or PNG photos of SRC into DEST (for the benchmarks); fails with a
# sentence when there are none.
sample_photos() {
  local src="$1" count="$2" dest="$3"
  [ -d "$src" ] || { echo "no folder $src: give a folder of photos" >&2; exit 2; }
  mkdir -p "$dest"
  find "$src" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.png' \) | sort | head -n "$count" |
    while read -r file; do cp "$file" "$dest/"; done
  [ -n "$(ls -A "$dest")" ] || { echo "no JPEG or PNG photos in $src" >&2; exit 2; }
}
