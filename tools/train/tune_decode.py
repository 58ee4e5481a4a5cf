"""Choose how Tinct-mini turns its bin probabilities into colour, on the held-out tune split.

  python tune_decode.py --ckpt checkpoints/final.pt --sizes 192,256 --temps 0.3,0.5,0.7,1 \
      --betas 0,0.5,1

The network was trained with class rebalancing (Zhang et al. 2016): rare, saturated colours
weigh more in the loss, so its distribution leans towards them by the rebalancing weight w.
Decoding uses softmax((logits - beta * log w) / T): beta = 1 undoes that lean (the calibrated
posterior; with T = 1 its mean is the least-squares guess, which ab-PSNR rewards), beta = 0 and a
low T give the vivid annealed mean (Zhang et al.'s T = 0.38). Each setting is scored by ab-PSNR
and colourfulness on the 29 held-out BSDS500-train images, never on the validation set; the
network runs once per image and size, the decodings reuse its logits.
"""
import argparse
import os

import numpy as np
import torch

from common import grey_to_net_input, load_stats
from evaluate import run_eval
from export import load_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="checkpoints/final.pt")
    ap.add_argument("--data", default="/work/shared/data/train")
    ap.add_argument("--sizes", default="256")
    ap.add_argument("--temps", default="0.3,0.5,0.7,1.0")
    ap.add_argument("--betas", default="0,0.5,1.0")
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--ensemble", default="", help="also average the logits of these checkpoints (comma-separated)")
    ap.add_argument("--flip", action="store_true", help="also average the logits of the mirrored image")
    args = ap.parse_args()
    torch.set_num_threads(2)

    stats = load_stats()
    files = [os.path.join(args.data, f) for f in stats["tune_files"]]
    model, ck = load_model(args.ckpt, 1.0, not args.no_ema)
    nets = [model.net]
    for other in filter(None, args.ensemble.split(",")):
        nets.append(load_model(other, 1.0, not args.no_ema)[0].net)

    def logits_of(x):
        x = grey_to_net_input(torch.from_numpy(x))
        views = [x, torch.flip(x, dims=[3])] if args.flip else [x]
        out = 0
        for net in nets:
            for i, v in enumerate(views):
                y = net(v)
                out = out + (torch.flip(y, dims=[3]) if i else y)
        return out / (len(nets) * len(views))

    log_w = torch.log(torch.tensor(stats["weights"], dtype=torch.float32)).view(1, -1, 1, 1)
    print(f"checkpoint step {ck['step']}; {len(files)} tune images", flush=True)
    print("| S | beta | T | ab-PSNR | vs mean-ab | colourfulness |\n|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        cache = []

        def decode(logits, beta, t):
            p = torch.softmax((logits - beta * log_w) / t, dim=1)
            ab = model.expect(p)
            return torch.nn.functional.interpolate(ab, scale_factor=4.0, mode="bilinear",
                                                   align_corners=False).numpy()

        for beta in [float(b) for b in args.betas.split(",")]:
            for t in [float(v) for v in args.temps.split(",")]:
                if not cache:
                    def predict(x, beta=beta, t=t):
                        with torch.no_grad():
                            logits = logits_of(x)
                        cache.append(logits)
                        return decode(logits, beta, t)
                else:
                    it = iter(list(cache))

                    def predict(x, beta=beta, t=t, it=it):
                        return decode(next(it), beta, t)
                with torch.no_grad():
                    s, _, _ = run_eval(files, predict, size, stats["mean_ab"])
                gain = s["model"][0] - s["mean_ab"][0]
                print(f"| {size} | {beta:g} | {t:g} | {s['model'][0]:.2f} | {gain:+.2f} | "
                      f"{s['model'][2]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
