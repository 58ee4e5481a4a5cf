"""Make a smaller or faster variant of a DDColor-family ONNX model.

  python quantize.py --model ../../models/tinct-mini.onnx --method int8 --size 256 \
      --calibration /work/shared/data/val/bsds500 --out /tmp/tinct-mini-int8.onnx
  python quantize.py --model ddcolor.onnx --method float16 --out /tmp/ddcolor-fp16.onnx
  python quantize.py --model ddcolor.onnx --method fold --out /tmp/ddcolor-fold.onnx
  python quantize.py --model ddcolor.onnx --method int8 --fold --size 512 --out /tmp/ddcolor-fold-int8.onnx

int8: static quantization in QDQ form (onnxruntime.quantization.quantize_static), weights per
channel (signed int8), activations unsigned int8, ranges calibrated (MinMax) on grey inputs made
from the calibration photos exactly as the app makes them (tools/reference/pipeline.py). On CPUs
with VNNI, ONNX Runtime runs the quantized convolutions and matrix products in int8.
float16: weights and arithmetic in float16 for GPUs, inputs and outputs kept float32 so the model
still follows the DDColor contract.
fold: the same function with far less work: DDColor's colour head (100 query maps at full
resolution, then a 1×1 convolution down to a/b) folded into two maps (fold.py says why that is
exact), and its 3×3 convolutions in Winograd form (winograd.py). `--fold` folds the head first,
then quantizes.

Prints the `tinct models import` command that registers the result as a variant of its parent
(the manifest then names the parent's SHA-256, the method and the calibration set). Measure a
variant with compare.py before keeping it.
"""

import argparse
import glob
import hashlib
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import pipeline  # noqa: E402  (tools/reference: the app's pre-processing in numpy)

import fold  # noqa: E402

EXTENSIONS = ("*.jpg", "*.jpeg", "*.png", "*.bmp", "*.tif", "*.tiff")


def photos(folder, count):
    files = sorted(f for pattern in EXTENSIONS for f in glob.glob(os.path.join(folder, pattern)))
    if not files:
        sys.exit(f"no photos in {folder}")
    # Spread over the whole set, not its first few (sets are often sorted by subject).
    step = max(1, len(files) // count)
    return files[::step][:count]


def grey_input(path, size):
    """The model input the app makes from a photo: L at S×S as grey sRGB, [1,3,S,S] float32."""
    rgb01 = pipeline.load(path)
    l_small = pipeline.resize(pipeline.lightness(rgb01), size, size).astype(np.float64)
    grey = pipeline.lab_to_srgb(l_small, np.zeros_like(l_small), np.zeros_like(l_small))[..., 0]
    return np.repeat(grey[None, None], 3, axis=1).astype(np.float32)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def int8(model, out, files, size):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quant_pre_process, quantize_static)

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.pending = iter(files)

        def get_next(self):
            path = next(self.pending, None)
            return None if path is None else {"input": grey_input(path, size)}

    with tempfile.TemporaryDirectory() as tmp:
        # Shape inference and graph clean-up first, as ONNX Runtime recommends for static
        # quantization.
        prepared = os.path.join(tmp, "prepared.onnx")
        quant_pre_process(model, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, out, Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


def float16(model, out):
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(onnx.load(model), keep_io_types=True)
    onnx.save(converted, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the parent .onnx")
    ap.add_argument("--method", choices=("int8", "float16", "fold"), required=True)
    ap.add_argument("--fold", action="store_true", help="fold DDColor's colour head first")
    ap.add_argument("--out", required=True, help="the variant's .onnx")
    ap.add_argument("--calibration", default="/work/shared/data/val/bsds500",
                    help="folder of photos for int8 ranges")
    ap.add_argument("--images", type=int, default=32, help="calibration photos used")
    ap.add_argument("--size", type=int, default=256, help="input size S used for calibration")
    ap.add_argument("--parent-name", default=None, help="the parent's registered name")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = args.model
        if args.method == "fold" or args.fold:
            source = args.out if args.method == "fold" else os.path.join(tmp, "folded.onnx")
            try:
                # int8 keeps its convolutions direct: Winograd-transformed values need a wider
                # range than 8 bits hold.
                difference = fold.fold(args.model, source, args.size,
                                       winograd_convolutions=args.method == "fold")
            except fold.NotFoldable as e:
                sys.exit(f"cannot fold {args.model}: {e}")
            rewritten = "folded the colour head" + (
                ", 3×3 convolutions in Winograd form" if args.method == "fold" else "")
            print(f"{rewritten}; largest difference from the parent {difference:.1e} "
                  f"(relative to its largest output)")
        if args.method == "int8":
            files = photos(args.calibration, args.images)
            int8(source, args.out, files, args.size)
            method = "int8 static QDQ, per-channel weights, MinMax (onnxruntime 1.31.1)"
            calibration = f"{len(files)} photos of {os.path.basename(os.path.normpath(args.calibration))} at S = {args.size}"
        elif args.method == "float16":
            float16(source, args.out)
            method = "float16 weights and arithmetic, float32 inputs and outputs (onnxruntime 1.31.1)"
            calibration = "none"
        else:
            method = ("float32, colour head folded, 3×3 convolutions in Winograd form "
                      "(exact up to float rounding)")
            calibration = "none"
        if args.fold and args.method != "fold":
            method = f"colour head folded, then {method}"
    parent = args.parent_name or os.path.splitext(os.path.basename(args.model))[0]
    name = f"{parent}-{'fold-' if args.fold and args.method != 'fold' else ''}{args.method}"
    print(f"wrote {args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB "
          f"(parent {os.path.getsize(args.model) / 1e6:.2f} MB), sha256 {sha256(args.out)}")
    print("register it with:")
    print(f"  tinct models import {args.out} --name {name} --variant-of {parent} "
          f"--method '{method}' --calibration '{calibration}'")


if __name__ == "__main__":
    main()
