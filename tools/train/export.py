"""Export a Tinct-mini checkpoint to the DDColor-compatible ONNX contract and verify it.

  python export.py --ckpt checkpoints/last.pt --out ../../models/tinct-mini.onnx
  python export.py --ckpt checkpoints/last.pt --tune      # pick the temperature on the held-out tune split
  python export.py --ckpt a.pt --ensemble b.pt --fp16-weights --out ...   # two nets, logits averaged

Graph: input "input" float32 [N,3,S,S] (grey sRGB in [0,1]) -> output "output" float32 [N,2,S,S]
(Lab a, b). Normalisation, softmax with temperature (annealed mean) and the expectation over
the ab bin centres are all inside the graph. N and S are dynamic (S a multiple of 32).
"""
import argparse
import hashlib
import os
import sys

import numpy as np
import torch

from common import HERE, EnsembleNet, ExportWrapper, build_net, load_stats, net_input


def load_net(ckpt_path, use_ema=True):
    ck = torch.load(ckpt_path, map_location="cpu")
    # Tinct-mini 2 checkpoints name their architecture; the encoder's own weights are replaced by
    # the checkpoint's, so the wheel's are only read for the layout.
    net = build_net(load_stats(), ck.get("arch", "mini"))
    net.load_state_dict(ck["ema" if use_ema else "net"])
    return net.eval(), ck


def load_model(ckpt_path, temperature, use_ema=True, ensemble=(), confidence=0.0):
    """The export graph for one checkpoint, or for several whose logits are averaged."""
    stats = load_stats()
    net, ck = load_net(ckpt_path, use_ema)
    if ensemble:
        net = EnsembleNet([net] + [load_net(p, use_ema)[0] for p in ensemble]).eval()
    model = ExportWrapper(net, np.array(stats["centers"], dtype=np.float32), temperature,
                          arch=ck.get("arch", "mini"), confidence=confidence).eval()
    return model, ck


def store_weights_as_fp16(m, min_elements=64):
    """Halves the file: large float32 initializers are stored as float16 and cast back to
    float32 when the session loads, so the arithmetic stays float32 (and runs everywhere)."""
    import onnx
    from onnx import helper, numpy_helper
    casts, kept = [], []
    for init in m.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= min_elements:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            kept.append(init)
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def torch_predict(model):
    def f(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    return f


def main():
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "checkpoints", "last.pt"))
    ap.add_argument("--out", default=os.path.join(root, "models", "tinct-mini.onnx"))
    ap.add_argument("--temperature", type=float, default=0.38)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--ensemble", default="", help="more checkpoints whose logits are averaged (comma-separated)")
    ap.add_argument("--fp16-weights", action="store_true", help="store weights as float16 (compute stays float32)")
    ap.add_argument("--tune", action="store_true", help="report tune-split metrics for several temperatures")
    ap.add_argument("--data", default="/work/shared/data/train")
    ap.add_argument("--temps", default="0.2,0.25,0.3,0.38,0.5", help="temperatures for --tune")
    ap.add_argument("--confidence", type=float, default=0.0,
                    help="keep colour where the model is sure: (1 - entropy) ** this; 0 = off")
    ap.add_argument("--confidences", default="0", help="values of --confidence for --tune")
    ap.add_argument("--cache", default=os.path.join(HERE, "cache", "train.pt"),
                    help="the training cache whose tune split --tune scores (cache/train2.pt for Tinct-mini 2)")
    ap.add_argument("--size", type=int, default=256, help="input size for --tune")
    args = ap.parse_args()
    torch.set_num_threads(2)

    if args.tune:
        from evaluate import TINT, run_eval
        stats = load_stats()
        tune = torch.load(args.cache)["tune_files"]
        files = [f if os.path.isabs(f) else os.path.join(args.data, f) for f in tune]
        model, ck = load_model(args.ckpt, 1.0, not args.no_ema)
        print(f"checkpoint step {ck['step']}, trained {ck['elapsed'] / 60:.1f} min; "
              f"{len(files)} tune images at S={args.size}", flush=True)
        cache = []

        def predict(x):  # the net runs once per image; the decoding is redone for each setting
            with torch.no_grad():
                logits = model.net(net_input(model.arch, torch.from_numpy(x)))
            cache.append(logits)
            return decode(logits)

        for t in [float(v) for v in args.temps.split(",")]:
            for c in [float(v) for v in args.confidences.split(",")]:
                model.t, model.confidence = t, c

                def decode(lg):
                    with torch.no_grad():
                        return model.decode(lg).numpy()
                fn = predict if not cache else (lambda x, it=iter(list(cache)): decode(next(it)))
                s, _, _ = run_eval(files, fn, args.size, TINT)
                print(f"T={t:.2f} confidence={c:.2f}  ab-PSNR {s['model'][0]:.2f} (tint {s['mean_ab'][0]:.2f}, "
                      f"grey {s['grey'][0]:.2f}; gain {s['model'][0] - s['mean_ab'][0]:+.2f} SE {s['gain_se']:.2f}, "
                      f"worse {s['worse_than_tint']}/{s['images']})  colourfulness {s['model'][2]:.1f} "
                      f"(truth {s['original'][2]:.1f})", flush=True)
        return

    ensemble = [p for p in args.ensemble.split(",") if p]
    model, ck = load_model(args.ckpt, args.temperature, not args.no_ema, ensemble, args.confidence)
    print(f"checkpoint step {ck['step']}, trained {ck['elapsed'] / 60:.1f} min; T={args.temperature}; "
          f"confidence {args.confidence}"
          + (f"; ensemble with {', '.join(ensemble)}" if ensemble else ""))
    nparams = sum(p.numel() for p in model.net.parameters())
    print(f"parameters: {nparams}")
    dummy = torch.rand(1, 3, 256, 256)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.onnx.export(
        model, (dummy,), tmp, input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "N", 2: "S", 3: "S"}, "output": {0: "N", 2: "S", 3: "S"}},
        opset_version=args.opset, do_constant_folding=True, dynamo=False,
    )
    import onnx
    m = onnx.load(tmp)
    if args.fp16_weights:
        m = store_weights_as_fp16(m)
        onnx.save(m, tmp)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"opset {m.opset_import[0].version}; ops: {', '.join(ops)}")

    import onnxruntime as ort
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    i0, o0 = sess.get_inputs()[0], sess.get_outputs()[0]
    print(f"input {i0.name} {i0.type} {i0.shape}; output {o0.name} {o0.type} {o0.shape}")
    assert i0.name == "input" and o0.name == "output"
    ok = True
    for n, s in ((1, 64), (1, 256), (1, 512), (2, 256), (2, 96)):
        x = torch.rand(n, 1, s, s).expand(n, 3, s, s).contiguous()
        y = sess.run(["output"], {"input": x.numpy()})[0]
        with torch.no_grad():
            yt = model(x).numpy()
        err = float(np.abs(y - yt).max())
        # float16 storage rounds the (BatchNorm-folded) weights: allow one ab unit, about the
        # 8-bit rounding of the final image; evaluate.py measures the quality that counts.
        good = y.shape == (n, 2, s, s) and y.dtype == np.float32 and err < (1.0 if args.fp16_weights else 1e-2)
        ok &= good
        print(f"  ort N={n} S={s}: output {y.shape} {y.dtype}, a in [{y[:, 0].min():.1f},{y[:, 0].max():.1f}] "
              f"b in [{y[:, 1].min():.1f},{y[:, 1].max():.1f}], max|ort-torch|={err:.2e} {'OK' if good else 'FAIL'}")
    if not ok:
        sys.exit("verification failed")
    os.replace(tmp, args.out)
    data = open(args.out, "rb").read()
    print(f"wrote {args.out}: {len(data) / 1e6:.2f} MB, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
