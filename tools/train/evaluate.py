"""Evaluate the exported Tinct-mini ONNX model with onnxruntime on the BSDS500 validation set.

  python evaluate.py --model ../../models/tinct-mini.onnx --size 256 \
      --sheet ../../docs/contact-sheet.jpg --update-json ../../models/tinct-mini.json

Pipeline per image (the same one the app uses):
  L from the original full-size image -> resize L to SxS (PIL bilinear, mode 'F') -> grey RGB
  input = Lab(L,0,0)->sRGB -> model -> a/b resized back to the original size (PIL bilinear 'F')
  -> clamp a/b to [-128,127] -> combine with the ORIGINAL L -> Lab->sRGB -> round to 8 bit.
Metrics (mean over images of the per-image values):
  ab-PSNR  : 10*log10(255^2 / MSE), MSE over all pixels and both Lab a and b channels, between
             the Lab a/b of the 8-bit result and the Lab a/b of the original 8-bit image.
  RGB-PSNR : 10*log10(255^2 / MSE) on 8-bit sRGB, all pixels and channels.
  colourfulness: Hasler & Suesstrunk (2003) M = sigma_rgyb + 0.3*mu_rgyb on 8-bit RGB.
Baselines computed in the same run through the same pipeline: grey (a=b=0) and the constant
mean a/b of the training set (from train_stats.json).
"""
import argparse
import glob
import hashlib
import json
import os
import time

import numpy as np
from PIL import Image

from common import load_stats, np_grey_input, np_lab_to_srgb, np_srgb_to_lab


def colourfulness(rgb8):
    x = rgb8.astype(np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def psnr(mse):
    return float(10.0 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def resize_f(arr, size_wh):
    return np.asarray(Image.fromarray(arr.astype(np.float32), mode="F").resize(size_wh, Image.BILINEAR),
                      dtype=np.float64)


def compose(L, a, b):
    a = np.clip(a, -128.0, 127.0)
    b = np.clip(b, -128.0, 127.0)
    rgb = np_lab_to_srgb(np.stack([L, a, b], -1))
    return np.round(rgb * 255.0).astype(np.uint8)


def colourise(rgb8, predict, size):
    """Full app pipeline for one image. predict: float32 [1,3,S,S] -> [1,2,S,S]."""
    lab = np_srgb_to_lab(rgb8.astype(np.float64) / 255.0)
    L = lab[..., 0]
    h, w = L.shape
    Ls = resize_f(L, (size, size))
    grey = np_grey_input(Ls).astype(np.float32).transpose(2, 0, 1)[None]
    ab = predict(grey)[0]
    a = resize_f(ab[0], (w, h))
    b = resize_f(ab[1], (w, h))
    return compose(L, a, b), lab


def metrics(out8, lab_ref, rgb_ref8):
    lab_out = np_srgb_to_lab(out8.astype(np.float64) / 255.0)
    ab_mse = float(((lab_out[..., 1:] - lab_ref[..., 1:]) ** 2).mean())
    rgb_mse = float(((out8.astype(np.float64) - rgb_ref8.astype(np.float64)) ** 2).mean())
    return psnr(ab_mse), psnr(rgb_mse), colourfulness(out8)


def run_eval(files, predict, size, mean_ab, keep=()):
    res = {k: [] for k in ("model", "grey", "mean_ab", "original")}
    kept = {}
    t_model = 0.0
    for i, f in enumerate(files):
        rgb8 = np.asarray(Image.open(f).convert("RGB"), dtype=np.uint8)
        t0 = time.time()
        out8, lab = colourise(rgb8, predict, size)
        t_model += time.time() - t0
        L = lab[..., 0]
        z = np.zeros_like(L)
        grey8 = compose(L, z, z)
        mean8 = compose(L, z + mean_ab[0], z + mean_ab[1])
        res["model"].append(metrics(out8, lab, rgb8))
        res["grey"].append(metrics(grey8, lab, rgb8))
        res["mean_ab"].append(metrics(mean8, lab, rgb8))
        res["original"].append((float("inf"), float("inf"), colourfulness(rgb8)))
        if i in keep:
            kept[i] = (grey8, out8, rgb8)
    summary = {k: tuple(float(np.mean([r[j] for r in v])) for j in range(3)) for k, v in res.items()}
    # How sure the gain over the constant-mean baseline is: the standard error of the per-image
    # (paired) differences, since both run on the same images.
    diff = np.array([m[0] - b[0] for m, b in zip(res["model"], res["mean_ab"])])
    summary["gain_se"] = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return summary, kept, t_model / max(1, len(files))


def contact_sheet(kept, path, row_h=170):
    rows = []
    for i in sorted(kept):
        ims = [Image.fromarray(x) for x in kept[i]]
        w = round(ims[0].width * row_h / ims[0].height)
        ims = [im.resize((w, row_h), Image.LANCZOS) for im in ims]
        row = Image.new("RGB", (3 * w + 8, row_h), "white")
        for j, im in enumerate(ims):
            row.paste(im, (j * (w + 4), 0))
        rows.append(row)
    width = max(r.width for r in rows)
    from PIL import ImageDraw
    head = 22
    sheet = Image.new("RGB", (width, head + sum(r.height + 4 for r in rows)), "white")
    draw = ImageDraw.Draw(sheet)
    colw = (width - 8) // 3
    for j, label in enumerate(("grey input", "Tinct-mini", "original")):
        draw.text((j * (colw + 4) + colw // 2 - 3 * len(label), 5), label, fill="black")
    y = head
    for r in rows:
        sheet.paste(r, ((width - r.width) // 2, y))
        y += r.height + 4
    sheet.save(path, quality=85, optimize=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(root, "models", "tinct-mini.onnx"))
    ap.add_argument("--val", default="/work/shared/data/val/bsds500")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sheet", default=None, help="write a contact sheet (grey | Tinct-mini | original)")
    ap.add_argument("--update-json", default=None, help="write the figures into this model json")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])

    def predict(x):
        return sess.run(["output"], {"input": x})[0]

    files = sorted(glob.glob(os.path.join(args.val, "*.jpg")) + glob.glob(os.path.join(args.val, "*.png")))
    stats = load_stats()
    keep = set()
    if args.sheet:  # 12 landscape images spread over the set (same orientation keeps the sheet tidy)
        land = [i for i, f in enumerate(files) if Image.open(f).size[0] >= Image.open(f).size[1]]
        keep = {land[round(j * (len(land) - 1) / 11)] for j in range(12)}
    summary, kept, t_img = run_eval(files, predict, args.size, stats["mean_ab"], keep)

    with open(args.model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"model: {os.path.basename(args.model)}  sha256 {sha[:16]}...  "
          f"size {os.path.getsize(args.model) / 1e6:.2f} MB")
    print(f"validation: {len(files)} images from {args.val}, model input size S={args.size}, "
          f"onnxruntime {ort.__version__} CPU, {t_img * 1000:.0f} ms/image (incl. pre/post)")
    print(f"mean training-set ab = ({stats['mean_ab'][0]:.2f}, {stats['mean_ab'][1]:.2f})")
    print("")
    print("| method | ab-PSNR (dB) | RGB-PSNR (dB) | colourfulness |")
    print("|---|---|---|---|")
    names = {"model": "Tinct-mini", "mean_ab": "baseline: constant mean ab",
             "grey": "baseline: grey (a=b=0)", "original": "ground truth"}
    for k in ("model", "mean_ab", "grey", "original"):
        ab, rgb, c = summary[k]
        abs_ = "-" if k == "original" else f"{ab:.2f}"
        rgbs = "-" if k == "original" else f"{rgb:.2f}"
        print(f"| {names[k]} | {abs_} | {rgbs} | {c:.1f} |")

    gain, colour = summary["model"][0] - summary["mean_ab"][0], summary["model"][2]
    print(f"\nagainst the goals: ab-PSNR {gain:+.3f} dB (standard error {summary['gain_se']:.3f}) "
          f"over the constant-mean baseline "
          f"(goal >= +0.5: {'met' if gain >= 0.5 else 'NOT met'}), colourfulness {colour:.2f} "
          f"(goal >= 20: {'met' if colour >= 20 else 'NOT met'})")

    if args.sheet:
        contact_sheet(kept, args.sheet)
        print(f"\ncontact sheet: {args.sheet} ({os.path.getsize(args.sheet) / 1e6:.2f} MB)")
    if args.update_json:
        with open(args.update_json) as f:
            meta = json.load(f)
        meta["sha256"] = sha
        meta["evaluation"] = {
            "ab_psnr_db": round(summary["model"][0], 2),
            "rgb_psnr_db": round(summary["model"][1], 2),
            "colourfulness": round(summary["model"][2], 1),
            "baseline_mean_ab_psnr_db": round(summary["mean_ab"][0], 2),
            "baseline_grey_psnr_db": round(summary["grey"][0], 2),
            "baseline_mean_ab_colourfulness": round(summary["mean_ab"][2], 1),
            "ground_truth_colourfulness": round(summary["original"][2], 1),
            "input_size": args.size,
            "dataset": "BSDS500 val (100 images)",
        }
        with open(args.update_json, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        print(f"updated {args.update_json}")


if __name__ == "__main__":
    main()
