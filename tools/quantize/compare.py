"""Measure a variant against its parent on every validation set, each reported on its own.

  python compare.py --parent ../../models/tinct-mini.onnx --variant /tmp/tinct-mini-int8.onnx \
      --size 256 --data /work/shared/data

Per set, through the app's pipeline (tools/reference/pipeline.py) at input size S:
  agreement : ab-PSNR between the variant's and the parent's results (how alike they are),
  quality   : each one's ab-PSNR against the true colours, and the change (variant - parent)
              with the standard error of the per-image changes,
  speed     : the model run alone (session.run), mean ms per image for each, and the ratio.
A variant is worth keeping when it loses at most 0.3 dB on every set (the speed issue's rule).
"""

import argparse
import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import pipeline  # noqa: E402

SETS = ("val/bsds500", "val2/urban100", "val2/celebahq-portraits", "val2/mcmaster18")
EXTENSIONS = ("*.jpg", "*.jpeg", "*.png", "*.bmp", "*.tif", "*.tiff")
ALLOWED_LOSS_DB = 0.3


def ab_psnr(rgb8, reference_ab):
    a, b = pipeline.rgb_to_ab(rgb8.astype(np.float64) / 255.0)
    mse = ((a - reference_ab[0]) ** 2 + (b - reference_ab[1]) ** 2).mean() / 2
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


class Timed:
    """A session whose `run` time is added up."""

    def __init__(self, path, threads):
        self.session = pipeline.session_for(path, threads)
        self.seconds = 0.0

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, names, feed):
        start = time.perf_counter()
        out = self.session.run(names, feed)
        self.seconds += time.perf_counter() - start
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parent", required=True)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="at most this many photos per set")
    args = ap.parse_args()

    parent, variant = Timed(args.parent, args.threads), Timed(args.variant, args.threads)
    # Warm-up runs, outside the timing.
    for session in (parent, variant):
        pipeline.colorize(session, np.full((64, 64), 0.5), args.size)
        session.seconds = 0.0
    print(f"parent {os.path.basename(args.parent)} ({os.path.getsize(args.parent) / 1e6:.2f} MB), "
          f"variant {os.path.basename(args.variant)} ({os.path.getsize(args.variant) / 1e6:.2f} MB), "
          f"S = {args.size}, {args.threads} threads\n")
    print("| set | photos | agreement (dB) | parent ab-PSNR | variant ab-PSNR | change (dB) ± SE "
          "| parent ms | variant ms | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for name in args.sets.split(","):
        files = sorted(f for p in EXTENSIONS for f in glob.glob(os.path.join(args.data, name, p)))
        if args.limit:
            files = files[:args.limit]
        if not files:
            print(f"| {name} | 0 | (no photos found) |||||||")
            continue
        parent.seconds = variant.seconds = 0.0
        agreement, ours, theirs = [], [], []
        for path in files:
            rgb01 = pipeline.load(path)
            if rgb01.ndim == 2:
                continue  # a grey photo has no true colours to compare with
            truth = pipeline.rgb_to_ab(rgb01)
            from_parent = pipeline.to_u8(pipeline.colorize(parent, rgb01, args.size))
            from_variant = pipeline.to_u8(pipeline.colorize(variant, rgb01, args.size))
            agreement.append(ab_psnr(from_variant, pipeline.rgb_to_ab(from_parent / 255.0)))
            theirs.append(ab_psnr(from_parent, truth))
            ours.append(ab_psnr(from_variant, truth))
        change = np.array(ours) - np.array(theirs)
        se = change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else float("nan")
        worst = min(worst, float(change.mean()))
        n = len(change)
        print(f"| {name} | {n} | {np.mean(agreement):.1f} | {np.mean(theirs):.2f} | {np.mean(ours):.2f} "
              f"| {change.mean():+.3f} ± {se:.3f} | {parent.seconds / n * 1000:.1f} "
              f"| {variant.seconds / n * 1000:.1f} | {parent.seconds / max(variant.seconds, 1e-9):.2f}× |")
    verdict = "keep" if -worst <= ALLOWED_LOSS_DB else "discard"
    print(f"\nlargest loss on a set: {-worst:.3f} dB (allowed {ALLOWED_LOSS_DB}): {verdict}")


if __name__ == "__main__":
    main()
