"""Evaluate an exported Tinct-mini ONNX model with onnxruntime on every validation set.

  python evaluate.py --model ../../models/tinct-mini.onnx --size 256 \
      --sheet ../../docs/contact-sheet.jpg --update-json ../../models/tinct-mini.json
  python evaluate.py --sets val/bsds500 --size 512          # one set, another input size

Each set is reported on its own (never pooled): ab-PSNR, RGB-PSNR and colourfulness of the model,
of grey and of a constant sepia-like tint (Lab a = -2.9, b = 9.9: the mean over BSDS500
train+val, the baseline the Tinct-mini 2 issue names), the model's gain over the tint with the
standard error of the per-image gains, and how many images came out worse than the tint.

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
tint.
"""
import argparse
import glob
import hashlib
import json
import os
import time

import numpy as np
from PIL import Image

from common import np_grey_input, np_lab_to_srgb, np_srgb_to_lab

# The constant-tint baseline: the mean Lab a/b over BSDS500 train + val.
TINT = (-2.9, 9.9)
SETS = ("val/bsds500", "val2/urban100", "val2/celebahq-portraits", "val2/mcmaster18")
EXTENSIONS = ("*.jpg", "*.jpeg", "*.png", "*.bmp", "*.tif", "*.tiff")


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
    # How sure the gain over the constant tint is: the standard error of the per-image (paired)
    # differences, since both run on the same images.
    diff = np.array([m[0] - b[0] for m, b in zip(res["model"], res["mean_ab"])])
    summary["gain_se"] = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    summary["worse_than_tint"] = int((diff < 0).sum())
    summary["images"] = len(diff)
    summary["per_image_gain"] = diff.tolist()
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


def set_files(folder):
    return sorted(f for pattern in EXTENSIONS for f in glob.glob(os.path.join(folder, pattern)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(root, "models", "tinct-mini.onnx"))
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated folders under --data")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sheet", default=None, help="write a contact sheet (grey | model | original)")
    ap.add_argument("--update-json", default=None, help="write the figures into this model json")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])

    def predict(x):
        return sess.run(["output"], {"input": x})[0]

    with open(args.model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"model: {os.path.basename(args.model)}  sha256 {sha[:16]}...  "
          f"size {os.path.getsize(args.model) / 1e6:.2f} MB; input size S={args.size}; "
          f"onnxruntime {ort.__version__} CPU; constant tint a={TINT[0]}, b={TINT[1]}")
    results, sheet_rows = [], {}
    for name in args.sets.split(","):
        files = set_files(os.path.join(args.data, name))
        if not files:
            print(f"\n{name}: no images found under {args.data}; skipped")
            continue
        keep = set()
        if args.sheet:  # 4 landscape images of each set (same orientation keeps the sheet tidy)
            land = [i for i, f in enumerate(files) if Image.open(f).size[0] >= Image.open(f).size[1]] or list(range(len(files)))
            keep = {land[round(j * (len(land) - 1) / 3)] for j in range(4)}
        summary, kept, t_img = run_eval(files, predict, args.size, TINT, keep)
        sheet_rows.update({(name, i): v for i, v in kept.items()})
        print(f"\n### {name}: {len(files)} images, {t_img * 1000:.0f} ms/image (incl. pre/post)\n")
        print("| method | ab-PSNR (dB) | RGB-PSNR (dB) | colourfulness |")
        print("|---|---|---|---|")
        labels = {"model": "model", "mean_ab": "constant tint", "grey": "grey (a=b=0)", "original": "ground truth"}
        for k in ("model", "mean_ab", "grey", "original"):
            ab, rgb, c = summary[k]
            abs_ = "-" if k == "original" else f"{ab:.2f}"
            rgbs = "-" if k == "original" else f"{rgb:.2f}"
            print(f"| {labels[k]} | {abs_} | {rgbs} | {c:.1f} |")
        gain = summary["model"][0] - summary["mean_ab"][0]
        worst = np.argsort(summary["per_image_gain"])[:3]
        print(f"\ngain over the tint: {gain:+.2f} dB (SE {summary['gain_se']:.2f}); worse than the tint: "
              f"{summary['worse_than_tint']} of {summary['images']}; worst: "
              + ", ".join(f"{os.path.basename(files[i])} {summary['per_image_gain'][i]:+.1f}" for i in worst))
        results.append({
            "dataset": name,
            "images": summary["images"],
            "input_size": args.size,
            "ab_psnr_db": round(summary["model"][0], 2),
            "rgb_psnr_db": round(summary["model"][1], 2),
            "colourfulness": round(summary["model"][2], 1),
            "baseline_tint_ab_psnr_db": round(summary["mean_ab"][0], 2),
            "baseline_grey_ab_psnr_db": round(summary["grey"][0], 2),
            "gain_over_tint_db": round(gain, 2),
            "gain_standard_error_db": round(summary["gain_se"], 2),
            "worse_than_tint": summary["worse_than_tint"],
            "ground_truth_colourfulness": round(summary["original"][2], 1),
        })
    if results:
        ok = all(r["gain_over_tint_db"] >= 0.5 for r in results)
        colour = float(np.mean([r["colourfulness"] for r in results]))
        print(f"\nagainst the bar: +0.5 dB over the tint on every set: {'met' if ok else 'NOT met'}; "
              f"mean colourfulness {colour:.1f} (bar >= 25: {'met' if colour >= 25 else 'NOT met'})")
    if args.sheet and sheet_rows:
        contact_sheet({i: v for i, (_, v) in enumerate(sorted(sheet_rows.items()))}, args.sheet)
        print(f"\ncontact sheet: {args.sheet} ({os.path.getsize(args.sheet) / 1e6:.2f} MB)")
    if args.update_json:
        with open(args.update_json) as f:
            meta = json.load(f)
        meta["sha256"] = sha
        meta["evaluation"] = results
        with open(args.update_json, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        print(f"updated {args.update_json}")


if __name__ == "__main__":
    main()
