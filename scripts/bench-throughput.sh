#!/usr/bin/env bash
# Photos per second over a folder, Tinct against the Python onnxruntime pipeline, on the same
# model files and photos, measured in turn in one run (whole commands, model loading included).
# Usage: scripts/bench-throughput.sh [--count N] [--size S] [--rounds R] [--photos DIR] [--] PARENT.onnx [VARIANT.onnx ...]
#   PARENT.onnx   the model as published; the Python pipeline running it is the reference (1.00)
#   VARIANT.onnx  variants of it (tools/quantize: folded, int8): Tinct and Python run them too
# Every file is imported into a throw-away data folder; Tinct runs with its defaults (threads,
# sessions and batch as `tinct colorize` picks them). Prints the median of R rounds.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
count=20 size=512 rounds=3 photos="$TINCT_ROOT/../shared/data/val/bsds500"
models=()
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --photos) photos="$2"; shift 2 ;;
    --) shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) models+=("$(realpath "$1")"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || { echo "give at least one model file" >&2; exit 2; }
python="$TINCT_ROOT/tools/reference/.venv/bin/python"
[ -x "$python" ] || { echo "make tools/reference/.venv first (tools/reference/requirements.txt)" >&2; exit 2; }
tinct="$CARGO_TARGET_DIR/release/tinct"
[ -x "$tinct" ] || bash scripts/build.sh release server

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sample_photos "$photos" "$count" "$work/in"
images=$(find "$work/in" -type f | wc -l)
for i in "${!models[@]}"; do
  TINCT_DATA_DIR="$work/data" "$tinct" models import "${models[$i]}" --name "m$i" > /dev/null
done

seconds() {
  local start end
  rm -rf "$work/out"
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
python_run() { seconds "$python" tools/reference/colorize_folder.py "${models[$1]}" "$work/in" "$work/out" --size "$size"; }
tinct_run() { seconds env TINCT_DATA_DIR="$work/data" "$tinct" colorize "$work/in" --out "$work/out" --model "m$1" --size "$size"; }

declare -A times
for ((round = 0; round < rounds; round++)); do
  for i in "${!models[@]}"; do
    times[python,$i]+="$(python_run "$i") "
    times[tinct,$i]+="$(tinct_run "$i") "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
reference=$(echo "${times[python,0]}" | median)

echo "$images photos from $photos at S = $size, $(nproc) cores, median of $rounds rounds"
echo
echo "| model file | runs it | seconds | photos/s | vs Python on $(basename "${models[0]}") |"
echo "|---|---|---:|---:|---:|"
for i in "${!models[@]}"; do
  for runner in python tinct; do
    s=$(echo "${times[$runner,$i]}" | median)
    awk -v m="$(basename "${models[$i]}")" -v r="$runner" -v s="$s" -v n="$images" -v ref="$reference" \
      'BEGIN { printf "| %s | %s | %.1f | %.2f | %.2f× |\n", m, (r == "python" ? "Python onnxruntime pipeline" : "Tinct"), s, n / s, ref / s }'
  done
done
