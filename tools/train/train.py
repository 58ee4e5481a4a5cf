"""Train Tinct-mini (time-limited, resumable).

  python train.py --minutes 75            # trains until 75 min of training time in total
  python train.py --minutes 75            # run again: resumes from checkpoints/last.pt
  python train.py --arch lite0 --cache cache/train2.pt --crop 192 --lr 1e-3 --ckpt-dir checkpoints/m2
                                          # Tinct-mini 2: pretrained EfficientNet-Lite0 encoder

Loss: class-rebalanced cross-entropy over quantised ab bins (Zhang et al. 2016, soft-encoded
targets, 5 nearest bins, sigma 5) on S/4-resolution targets, plus a small L1 term on the
annealed-mean decoded ab at full resolution; optionally (--psnr) minus the per-image ab-PSNR of that
decoding, which is what the evaluation averages.
"""
import argparse
import copy
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import HERE, build_net, load_stats, net_input, t_grey_input, t_srgb_to_lab

CKPT_DIR = os.path.join(HERE, "checkpoints")


def sample_batch(imgs, bs, crop, rng):
    out = []
    for _ in range(bs):
        x = imgs[rng.randrange(len(imgs))]
        h, w = x.shape[0], x.shape[1]
        m = min(h, w)
        c = max(32, int(m * rng.uniform(0.4, 1.0)))
        # mild aspect jitter
        ch = min(h, max(32, int(c * rng.uniform(0.85, 1.15))))
        cw = min(w, c)
        y0 = rng.randrange(h - ch + 1)
        x0 = rng.randrange(w - cw + 1)
        t = x[y0:y0 + ch, x0:x0 + cw].permute(2, 0, 1).float().unsqueeze(0) / 255.0
        t = F.interpolate(t, size=(crop, crop), mode="bilinear", align_corners=False, antialias=True)
        if rng.random() < 0.5:
            t = t.flip(3)
        out.append(t)
    return torch.cat(out, 0).clamp(0, 1)


class SoftEncoder:
    def __init__(self, stats, k=5, sigma=5.0):
        self.centers = torch.tensor(stats["centers"], dtype=torch.float32)  # [Q,2]
        self.weights = torch.tensor(stats["weights"], dtype=torch.float32)
        self.k, self.sigma = k, sigma

    def __call__(self, ab):
        """ab [N,2,h,w] -> soft targets [N,Q,h,w], per-pixel rebalancing weight [N,h,w]."""
        n, _, h, w = ab.shape
        flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
        d2 = torch.cdist(flat, self.centers) ** 2  # [P,Q]
        dk, ik = torch.topk(d2, self.k, dim=1, largest=False)
        wk = torch.softmax(-dk / (2 * self.sigma ** 2), dim=1)
        tgt = torch.zeros_like(d2).scatter_(1, ik, wk)
        pw = self.weights[ik[:, 0]]
        tgt = tgt.reshape(n, h, w, -1).permute(0, 3, 1, 2)
        return tgt, pw.reshape(n, h, w)


def ema_update(ema, net, decay):
    with torch.no_grad():
        for (k, pe), pn in zip(ema.state_dict().items(), net.state_dict().values()):
            if pe.dtype.is_floating_point:
                pe.mul_(decay).add_(pn, alpha=1 - decay)
            else:
                pe.copy_(pn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=75.0, help="total training-time budget (schedule length)")
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--l1", type=float, default=0.01, help="weight of L1 on annealed-mean ab")
    ap.add_argument("--psnr", type=float, default=0.0,
                    help="weight of the per-image ab-PSNR term (dB, subtracted): the metric itself")
    ap.add_argument("--temperature", type=float, default=0.38)
    ap.add_argument("--rebalance-power", type=float, default=1.0,
                    help="use rebalancing weights ** p (1 = Zhang et al., 0 = plain CE)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=float, default=180.0, help="seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0,
                    help="schedule length in steps instead of minutes (robust to a busy CPU)")
    ap.add_argument("--ckpt-dir", default=CKPT_DIR, help="where last.pt is kept")
    ap.add_argument("--init", default="", help="warm start: weights (net+ema) from this checkpoint, fresh schedule")
    ap.add_argument("--arch", default="mini", choices=["mini", "lite0", "lite2"],
                    help="mini: Tinct-mini from scratch; liteN: Tinct-mini 2 on a pretrained EfficientNet-LiteN")
    ap.add_argument("--cache", default=os.path.join(HERE, "cache", "train.pt"))
    ap.add_argument("--encoder-lr", type=float, default=0.1, help="encoder lr as a fraction of --lr")
    ap.add_argument("--freeze-steps", type=int, default=300,
                    help="steps with the pretrained encoder frozen (the decoder learns first)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    stats = load_stats()
    data = torch.load(args.cache)
    imgs = data["train"]
    enc = SoftEncoder(stats)
    enc.weights = enc.weights ** args.rebalance_power
    enc.weights = enc.weights / (enc.weights * torch.tensor(stats["prior"], dtype=torch.float32)).sum()
    centers = enc.centers
    net = build_net(stats, args.arch).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(net).eval()
    enc_params = list(net.enc.parameters()) if args.arch != "mini" else []
    enc_ids = {id(p) for p in enc_params}
    groups = [{"params": [p for p in net.parameters() if id(p) not in enc_ids], "scale": 1.0, "encoder": False}]
    if enc_params:
        groups.append({"params": enc_params, "scale": args.encoder_lr, "encoder": True})
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
    nparams = sum(p.numel() for p in net.parameters())
    print(f"params: {nparams}  Q={len(centers)}  train images: {len(imgs)}", flush=True)

    os.makedirs(args.ckpt_dir, exist_ok=True)
    last = os.path.join(args.ckpt_dir, "last.pt")
    step, elapsed = 0, 0.0
    if args.init and not os.path.exists(last):
        ck = torch.load(args.init)
        net.load_state_dict(ck["net"])
        ema.load_state_dict(ck["ema"])
        print(f"warm start from {args.init} (step {ck['step']} there)", flush=True)
    if os.path.exists(last):
        ck = torch.load(last)
        net.load_state_dict(ck["net"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        print(f"resumed from step {step}, {elapsed / 60:.1f} min; args {vars(args)}", flush=True)
    rng = random.Random(args.seed + step)
    torch.manual_seed(args.seed + step)

    budget = args.minutes * 60.0
    t_last = time.time()
    t_ck = t_last
    run_loss, run_ce, run_l1, run_psnr, nlog = 0.0, 0.0, 0.0, 0.0, 0
    net.train()
    def finished():
        return step >= args.steps if args.steps else elapsed >= budget

    while not finished():
        frac = step / args.steps if args.steps else elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 200) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr * g["scale"] * (0.0 if g["encoder"] and step < args.freeze_steps else 1.0)
        rgb = sample_batch(imgs, args.bs, args.crop, rng)
        with torch.no_grad():
            lab = t_srgb_to_lab(rgb)
            L = lab[:, :1]
            ab = lab[:, 1:]
            x = net_input(args.arch, t_grey_input(L)).contiguous(memory_format=torch.channels_last)
            ab4 = F.avg_pool2d(ab, 4)
            tgt, pw = enc(ab4)
        logits = net(x)
        logp = F.log_softmax(logits, dim=1)
        ce = (-(tgt * logp).sum(1) * pw).mean()
        loss = ce
        if args.l1 > 0 or args.psnr > 0:
            p = torch.softmax(logits / args.temperature, dim=1)
            ab_hat = torch.einsum("nqhw,qc->nchw", p, centers)
            ab_hat = F.interpolate(ab_hat, scale_factor=4.0, mode="bilinear", align_corners=False)
            l1 = (ab_hat - ab).abs().mean()
            loss = loss + args.l1 * l1
            run_l1 += l1.item()
        if args.psnr > 0:
            # The evaluation averages ab-PSNR over images, i.e. -10 log10(MSE) per image: an
            # image whose true colours are faint is punished for a vivid guess more than L1 says.
            mse = ((ab_hat - ab) ** 2).mean(dim=(1, 2, 3))
            psnr = 10.0 * torch.log10(255.0 ** 2 / (mse + 1e-3))
            loss = loss - args.psnr * psnr.mean()
            run_psnr += psnr.mean().item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        ema_update(ema, net, min(0.998, (1 + step) / (10 + step)))
        run_loss += loss.item()
        run_ce += ce.item()
        nlog += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        if step % 50 == 0:
            print(f"step {step} t={elapsed / 60:.1f}min lr={lr:.2e} loss={run_loss / nlog:.4f} "
                  f"ce={run_ce / nlog:.4f} l1={run_l1 / nlog:.2f} psnr={run_psnr / nlog:.2f}", flush=True)
            run_loss, run_ce, run_l1, run_psnr, nlog = 0.0, 0.0, 0.0, 0.0, 0
        if now - t_ck > args.ckpt_every or finished():
            t_ck = now
            ck = {"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                  "step": step, "elapsed": elapsed, "args": vars(args), "arch": args.arch}
            torch.save(ck, last + ".tmp")
            os.replace(last + ".tmp", last)
            print(f"checkpoint at step {step}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
