"""Builds the small files the engine's tests use (committed under engine/tests/data/):

- tiny_ddcolor.onnx: a DDColor-shaped graph (input [N,3,S,S] → output [N,2,S,S], dynamic N and S)
  with fixed pseudo-random conv weights, so that its colours vary with the picture;
- fixed_64.onnx: the same graph exported for S = 64 and batch 1 only;
- wrong_io.onnx: a graph whose input is called `image` and that outputs 3 channels;
- reference_input.png (a synthetic 8-bit grey "photo", 240×160) and reference_output.png, the
  reference pipeline's result on it with tiny_ddcolor.onnx at S = 64.

Run: tools/reference/.venv/bin/python tools/reference/make_test_data.py
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import pipeline  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "engine", "tests", "data")


def conv_graph(name, input_name, output_channels, batch, size):
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.5).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((output_channels, 8, 3, 3)) * 0.4).astype(np.float32)
    b2 = np.zeros(output_channels, dtype=np.float32)
    scale = np.array(60.0, dtype=np.float32)
    shift = np.array(0.5, dtype=np.float32)
    nodes = [
        helper.make_node("Sub", [input_name, "shift"], ["centred"]),
        helper.make_node("Conv", ["centred", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["h2"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["h2"], ["t2"]),
        helper.make_node("Mul", ["t2", "scale"], ["output"]),
    ]
    inits = [numpy_helper.from_array(v, n) for n, v in
             [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("scale", scale), ("shift", shift)]]
    dims = [batch, 3, size, size]
    out_dims = [batch, output_channels, size, size]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dims)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def synthetic_photo(width, height):
    """A deterministic grey picture with smooth areas, edges and texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    sky = 0.85 - 0.4 * y / height
    hills = 0.35 + 0.1 * np.sin(x / 17.0) * np.cos(y / 23.0)
    image = np.where(y > height * 0.55 + 12 * np.sin(x / 30.0), hills, sky)
    disc = (x - width * 0.7) ** 2 + (y - height * 0.3) ** 2 < (height * 0.12) ** 2
    image = np.where(disc, 0.97, image)
    house = (abs(x - width * 0.3) < width * 0.1) & (y > height * 0.4) & (y < height * 0.75)
    image = np.where(house, 0.2 + 0.05 * ((x // 6 + y // 6) % 2), image)
    noise = np.random.default_rng(3).normal(0, 0.02, image.shape)
    return (np.clip(image + noise, 0, 1) * 255 + 0.5).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    onnx.save(conv_graph("tiny_ddcolor", "input", 2, "N", "S"), os.path.join(OUT, "tiny_ddcolor.onnx"))
    onnx.save(conv_graph("fixed_64", "input", 2, 1, 64), os.path.join(OUT, "fixed_64.onnx"))
    onnx.save(conv_graph("wrong_io", "image", 3, "N", "S"), os.path.join(OUT, "wrong_io.onnx"))

    grey = synthetic_photo(240, 160)
    input_path = os.path.join(OUT, "reference_input.png")
    Image.fromarray(grey, mode="L").save(input_path)
    session = pipeline.session_for(os.path.join(OUT, "tiny_ddcolor.onnx"))
    result = pipeline.colorize(session, pipeline.load(input_path), 64)
    Image.fromarray(pipeline.to_u8(result), mode="RGB").save(os.path.join(OUT, "reference_output.png"))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
