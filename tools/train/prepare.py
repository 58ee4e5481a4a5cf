"""Build the compact training cache and the ab-bin statistics.

  python prepare.py --data /work/shared/data/train
  python prepare.py --mini2 --data /work/shared/data/train --data2 /work/shared/data/train2

Writes cache/train.pt (uint8 RGB images, short side <= 192, outside git) and
train_stats.json (bin centres, rebalancing weights, training-set mean a/b; small, committed).
A fixed 30-image subset of BSDS500-train is held out as a "tune" split (used only to pick
the softmax temperature); the validation set is never read here.
"""
import argparse
import glob
import json
import os

import numpy as np
import torch
from PIL import Image

from common import HERE, STATS_PATH, np_srgb_to_lab

GRID = 10.0
SHORT = 192


def load_small(path):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = SHORT / min(w, h)
    if s < 1.0:
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.BILINEAR, reducing_gap=3.0)
    return np.asarray(im, dtype=np.uint8).copy()


def prepare_mini2(args):
    """Every photo of train/ and train2/. Held out as the tune split (never trained on, the
    only data checkpoints and decodings are chosen on): the same 30 BSDS500-train photos as
    Tinct-mini, every 20th ImageNet detection sample and every 40th face crop. CamVid frames
    are all trained on: neighbouring frames are alike, so a held-out frame would flatter."""
    global SHORT
    SHORT = 256
    bsds = sorted(glob.glob(os.path.join(args.data, "bsds500", "*")))
    det = sorted(glob.glob(os.path.join(args.data2, "imagenet-det-samples", "*")))
    faces = sorted(glob.glob(os.path.join(args.data2, "face-crops", "*")))
    tune = bsds[::7][:30] + det[::20] + faces[::40]
    held = set(tune)
    every = (sorted(glob.glob(os.path.join(args.data, "imagenet-samples", "*"))) + bsds + det + faces
             + sorted(glob.glob(os.path.join(args.data2, "camvid-streets", "*")))
             + sorted(glob.glob(os.path.join(args.data2, "intel-scenes", "*"))))
    train = [f for f in every if f not in held]
    print(f"train images: {len(train)}  tune (held out): {len(tune)}", flush=True)
    os.makedirs(os.path.join(HERE, "cache"), exist_ok=True)
    torch.save({"train": [torch.from_numpy(load_small(f)) for f in train],
                "tune": [torch.from_numpy(load_small(f)) for f in tune],
                "train_files": train, "tune_files": tune},
               os.path.join(HERE, "cache", "train2.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/train")
    ap.add_argument("--lam", type=float, default=0.5, help="rebalancing mix (Zhang et al. lambda)")
    ap.add_argument("--sigma", type=float, default=5.0, help="prior smoothing in ab units")
    ap.add_argument("--mini2", action="store_true",
                    help="Tinct-mini 2: train/ + train2/, short side <= 256, into cache/train2.pt "
                         "(the ab bins and weights of train_stats.json are kept)")
    ap.add_argument("--data2", default="/work/shared/data/train2")
    args = ap.parse_args()
    if args.mini2:
        return prepare_mini2(args)

    files = sorted(glob.glob(os.path.join(args.data, "imagenet-samples", "*")))
    bsds = sorted(glob.glob(os.path.join(args.data, "bsds500", "*")))
    tune = bsds[::7][:30]
    train = files + [f for f in bsds if f not in tune]
    print(f"train images: {len(train)}  tune (held out): {len(tune)}")

    imgs = [load_small(f) for f in train]
    tune_imgs = [load_small(f) for f in tune]
    os.makedirs(os.path.join(HERE, "cache"), exist_ok=True)
    torch.save({"train": [torch.from_numpy(x) for x in imgs],
                "tune": [torch.from_numpy(x) for x in tune_imgs],
                "train_files": [os.path.relpath(f, args.data) for f in train],
                "tune_files": [os.path.relpath(f, args.data) for f in tune]},
               os.path.join(HERE, "cache", "train.pt"))

    # ab histogram on a grid of 10 (bins centred on multiples of 10)
    n = 23  # -110..110
    hist = np.zeros((n, n), dtype=np.float64)
    sum_ab = np.zeros(2)
    count = 0
    for x in imgs:
        lab = np_srgb_to_lab(x.astype(np.float64) / 255.0).reshape(-1, 3)
        ab = lab[:, 1:]
        sum_ab += ab.sum(0)
        count += ab.shape[0]
        idx = np.clip(np.round(ab / GRID).astype(int) + 11, 0, n - 1)
        np.add.at(hist, (idx[:, 0], idx[:, 1]), 1.0)
    mean_ab = sum_ab / count
    p = hist / hist.sum()
    keep = p > 1e-6
    ia, ib = np.nonzero(keep)
    centers = np.stack([(ia - 11) * GRID, (ib - 11) * GRID], 1)
    pk = p[keep]
    pk = pk / pk.sum()
    # smooth the empirical prior with a Gaussian in ab space
    d2 = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    k = np.exp(-d2 / (2 * args.sigma ** 2))
    ps = k @ pk
    ps = ps / ps.sum()
    q = len(centers)
    w = 1.0 / ((1 - args.lam) * ps + args.lam / q)
    w = w / (ps * w).sum()
    stats = {
        "grid": GRID,
        "centers": centers.tolist(),
        "prior": ps.tolist(),
        "weights": w.tolist(),
        "lambda": args.lam,
        "mean_ab": mean_ab.tolist(),
        "n_train_images": len(train),
        "tune_files": [os.path.relpath(f, args.data) for f in tune],
    }
    with open(STATS_PATH, "w") as f:
        json.dump(stats, f)
    print(f"Q={q} bins, mean ab={mean_ab}, weight range {w.min():.3f}..{w.max():.3f}")


if __name__ == "__main__":
    main()
