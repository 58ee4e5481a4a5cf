"""Colorizes a folder of photos with the Python reference pipeline, one after another: what a
script around onnxruntime does (one session with onnxruntime's default settings, numpy + Pillow
around it, a PNG written per photo). The baseline of `scripts/bench-throughput.sh`.

    tools/reference/.venv/bin/python tools/reference/colorize_folder.py MODEL.onnx IN_DIR OUT_DIR --size 512
"""

import argparse
import os

from PIL import Image

import pipeline

EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("inputs")
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime's default)")
    args = parser.parse_args()
    session = pipeline.session_for(args.model, args.threads)
    os.makedirs(args.out, exist_ok=True)
    names = sorted(n for n in os.listdir(args.inputs) if n.lower().endswith(EXTENSIONS))
    for name in names:
        result = pipeline.colorize(session, pipeline.load(os.path.join(args.inputs, name)), args.size)
        stem = os.path.splitext(name)[0]
        Image.fromarray(pipeline.to_u8(result), mode="RGB").save(
            os.path.join(args.out, f"{stem}_colorized.png"), compress_level=1)
    print(f"colorized {len(names)} photo(s) into {args.out}")


if __name__ == "__main__":
    main()
