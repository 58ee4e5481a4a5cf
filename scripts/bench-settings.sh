#!/usr/bin/env bash
# Throughput of the release `tinct colorize` over a folder of scans for the CPU settings that
# matter: threads per inference (--threads, 0 = every core), model sessions (--workers) and
# images in flight, batched together (--max-batch). Each setting is timed 3 times (median) and
# reported as images per second and as a ratio against the defaults, measured in the same run.
# Usage: scripts/bench-settings.sh [MODEL] [SCANS_DIR] [COUNT]
#   MODEL      a registered model name (default tinct-mini)
#   SCANS_DIR  a folder of photos (default ../shared/data/val/bsds500, the research photos)
#   COUNT      how many of them (default 20)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
model="${1:-tinct-mini}"
scans="${2:-$TINCT_ROOT/../shared/data/val/bsds500}"
count="${3:-20}"
tinct="$CARGO_TARGET_DIR/release/tinct"
[ -x "$tinct" ] || bash scripts/build.sh release server

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sample_photos "$scans" "$count" "$work/in"
images=$(find "$work/in" -type f | wc -l)

# One timed run: seconds for the whole folder (a fresh output folder, the data folder shared).
run() {
  rm -rf "$work/out"
  local start end
  start=$(date +%s.%N)
  TINCT_DATA_DIR="$work/data" "$tinct" colorize "$work/in" --out "$work/out" --model "$model" \
    --threads "$1" --workers "$2" --max-batch "$3" > /dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
median() { sort -g | sed -n 2p; }

echo "$images photos from $scans, model $model, $(nproc) cores; median of 3 runs each"
echo
echo "| --threads | --workers | --max-batch | seconds | photos/s | vs defaults |"
echo "|---:|---:|---:|---:|---:|---:|"
defaults=$( (run 0 1 4; run 0 1 4; run 0 1 4) | median)
for threads in 0 1; do
  for workers in 1 2; do
    for batch in 1 2 4; do
      seconds=$( (run "$threads" "$workers" "$batch"; run "$threads" "$workers" "$batch"; run "$threads" "$workers" "$batch") | median)
      awk -v t="$threads" -v w="$workers" -v b="$batch" -v s="$seconds" -v n="$images" -v d="$defaults" \
        'BEGIN { printf "| %s | %s | %s | %.2f | %.1f | %.2f× |\n", t, w, b, s, n / s, d / s }'
    done
  done
done
echo
echo "defaults (--threads 0 --workers 1 --max-batch 4): $(printf '%.2f' "$defaults") s"
