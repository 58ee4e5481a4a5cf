"""Times the Python reference pipeline stage by stage, for Tinct's benchmark (`cargo bench -p engine`).

Prints one JSON object: median milliseconds per stage over --repeat runs (after one warm-up run)
and the process's peak resident memory.
"""

import argparse
import io
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(__file__))
import pipeline as P  # noqa: E402


def run_once(session, path, size):
    t = {}
    start = time.perf_counter()
    image = ImageOps.exif_transpose(Image.open(path))
    image.load()
    rgb = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    t["decode"] = time.perf_counter() - start

    start = time.perf_counter()
    height, width = rgb.shape[:2]
    l_full = P.lightness(rgb)
    l_small = P.resize(l_full, size, size).astype(np.float64)
    grey = P.lab_to_srgb(l_small, np.zeros_like(l_small), np.zeros_like(l_small))[..., 0]
    tensor = np.repeat(grey[None, None].astype(np.float32), 3, axis=1)
    t["preprocess"] = time.perf_counter() - start

    start = time.perf_counter()
    ab = session.run(["output"], {"input": tensor})[0][0]
    t["inference"] = time.perf_counter() - start

    start = time.perf_counter()
    a = np.clip(P.resize(ab[0], width, height), -128, 127)
    b = np.clip(P.resize(ab[1], width, height), -128, 127)
    out = P.to_u8(P.lab_to_srgb(l_full, a, b))
    t["postprocess"] = time.perf_counter() - start

    start = time.perf_counter()
    buffer = io.BytesIO()
    Image.fromarray(out, mode="RGB").save(buffer, format="PNG", compress_level=1)
    t["encode"] = time.perf_counter() - start
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    session = P.session_for(args.model, args.threads)
    run_once(session, args.image, args.size)
    runs = [run_once(session, args.image, args.size) for _ in range(args.repeat)]
    result = {stage: statistics.median(r[stage] for r in runs) * 1000 for stage in runs[0]}
    result["total"] = statistics.median(sum(r.values()) for r in runs) * 1000
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
