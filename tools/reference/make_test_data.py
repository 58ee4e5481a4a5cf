"""Builds the small files the engine's tests use (committed under engine/tests/data/):

- tiny_ddcolor.onnx: a DDColor-shaped graph (input [N,3,S,S] → output [N,2,S,S], dynamic N and S)
  with fixed pseudo-random conv weights, so that its colours vary with the picture;
- fixed_64.onnx: the same graph exported for S = 64 and batch 1 only;
- wrong_io.onnx: a graph whose input is called `image` and that outputs 4 channels (no family);
- reference_input.png (a synthetic 8-bit grey "photo", 240×160) and reference_output.png, the
  reference pipeline's result on it with tiny_ddcolor.onnx at S = 64;
- one tiny graph per other contract Tinct runs, each with its reference result at S = 64
  (reference_<name>.png):
  - tiny_ddcolor_fp16.onnx: a third-party DDColor export: float16 tensors named `image` → `ab`,
    fixed 1×3×64×64;
  - tiny_deoldify.onnx: DeOldify as facefusion exports it, grey RGB 0..255 → RGB 0..255;
  - tiny_zhang_eccv16.onnx: L [N,1,S,S] (0..100, normalised in the graph) → a/b at S/4;
  - tiny_zhang_siggraph17.onnx: L plus the hint inputs (ab, mask) → a/b at S.

Run: tools/reference/.venv/bin/python tools/reference/make_test_data.py

tiny_ddcolor_int8.onnx, the int8 variant the variant tests import, is made from tiny_ddcolor.onnx
by tools/quantize, calibrated on reference_input.png and reference_output.png (copied into one
folder, CALIB):
  tools/reference/.venv/bin/python tools/quantize/quantize.py --model \
      engine/tests/data/tiny_ddcolor.onnx --method int8 --size 64 --calibration CALIB --images 2 \
      --out engine/tests/data/tiny_ddcolor_int8.onnx --parent-name tiny

tiny_ddcolor_head_fold.onnx, the folded variant of tiny_ddcolor_head.onnx (a graph that ends like
DDColor), is made by tools/quantize too:
  tools/reference/.venv/bin/python tools/quantize/quantize.py --model \
      engine/tests/data/tiny_ddcolor_head.onnx --method fold \
      --out engine/tests/data/tiny_ddcolor_head_fold.onnx --parent-name head
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


def head_graph():
    """A small graph that ends the way DDColor does (what tools/quantize/fold.py folds): image
    features made by a ReLU'd 1×1 convolution, a ×4 pixel shuffle and a 2×2 blur; five colour
    queries made from the picture (at S/16 through a 64-channel 3×3 convolution, which fold.py
    computes in Winograd form, then pooled); one map per query (einsum); the maps and the input
    joined and mixed to a/b by a 1×1 convolution. Dynamic N and S (S a multiple of 16; at
    S = 96 the 3×3 convolution's 6 × 6 input is not a whole number of Winograd blocks)."""
    rng = np.random.default_rng(13)
    width, queries, block, context = 8, 5, 4, 64
    arrays = {
        "stem_w": rng.standard_normal((width, 3, block, block)) * 0.3,
        "stem_b": rng.standard_normal(width) * 0.1,
        "shuf_w": rng.standard_normal((width * block * block, width, 1, 1)) * 0.4,
        "shuf_b": rng.standard_normal(width * block * block) * 0.1,
        "down_w": rng.standard_normal((context, width, block, block)) * 0.2,
        "down_b": rng.standard_normal(context) * 0.1,
        "context_w": rng.standard_normal((width, context, 3, 3)) * 0.1,
        "context_b": rng.standard_normal(width) * 0.1,
        "query_scale": rng.standard_normal((queries, width)),
        "query_shift": rng.standard_normal((queries, width)) * 0.5,
        "refine_w": rng.standard_normal((2, queries + 3, 1, 1)) * 6.0,
        "refine_b": rng.standard_normal(2) * 2.0,
        "pooled_shape": np.array([0, 1, width]),
        "pads": np.array([0, 0, 1, 1, 0, 0, 0, 0]),
    }
    inits = [numpy_helper.from_array(v.astype(np.int64 if v.dtype.kind == "i" else np.float32), n)
             for n, v in arrays.items()]
    nodes = [
        helper.make_node("Conv", ["input", "stem_w", "stem_b"], ["stem"], strides=[block, block]),
        helper.make_node("Relu", ["stem"], ["features"]),
        helper.make_node("Conv", ["features", "shuf_w", "shuf_b"], ["wide"]),
        helper.make_node("Relu", ["wide"], ["wide_relu"]),
        helper.make_node("DepthToSpace", ["wide_relu"], ["shuffled"], blocksize=block, mode="CRD"),
        helper.make_node("Pad", ["shuffled", "pads"], ["padded"], mode="edge"),
        helper.make_node("AveragePool", ["padded"], ["image_features"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Conv", ["features", "down_w", "down_b"], ["down"], strides=[block, block]),
        helper.make_node("Relu", ["down"], ["down_relu"]),
        helper.make_node("Conv", ["down_relu", "context_w", "context_b"], ["context"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["context"], ["context_relu"]),
        helper.make_node("GlobalAveragePool", ["context_relu"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "pooled_shape"], ["pooled_row"]),
        helper.make_node("Mul", ["pooled_row", "query_scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "query_shift"], ["colour_queries"]),
        helper.make_node("Einsum", ["colour_queries", "image_features"], ["query_maps"],
                         equation="bqc,bchw->bqhw"),
        helper.make_node("Concat", ["query_maps", "input"], ["joined"], axis=1),
        helper.make_node("Conv", ["joined", "refine_w", "refine_b"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_ddcolor_head",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "S", "S"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 2, "S", "S"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def family_graph(name, kind):
    """A small conv graph of one family's contract (pseudo-random weights, seed 11)."""
    rng = np.random.default_rng(11)
    float_type = TensorProto.FLOAT16 if kind == "ddcolor_fp16" else TensorProto.FLOAT
    size = 64 if kind == "ddcolor_fp16" else "S"
    batch = 1 if kind == "ddcolor_fp16" else "N"
    nodes, inits, inputs = [], {}, []

    def conv(src, dst, cin, cout, stride=1):
        inits[dst + "_w"] = (rng.standard_normal((cout, cin, 3, 3)) * 0.5).astype(np.float32)
        inits[dst + "_b"] = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        nodes.append(helper.make_node("Conv", [src, dst + "_w", dst + "_b"], [dst], pads=[1, 1, 1, 1],
                                      strides=[stride, stride]))

    def const(name, value):
        inits[name] = np.array(value, dtype=np.float32)

    if kind in ("ddcolor_fp16", "deoldify"):
        in_name, out_name, cin = ("image", "ab", 3) if kind == "ddcolor_fp16" else ("input_image", "colorized", 3)
        inputs.append(helper.make_tensor_value_info(in_name, float_type, [batch, 3, size, size]))
        src = in_name
        if kind == "ddcolor_fp16":
            nodes.append(helper.make_node("Cast", [in_name], ["x32"], to=TensorProto.FLOAT))
            src = "x32"
            const("shift", 0.5)
        else:
            const("shift", 127.5)
        nodes.append(helper.make_node("Sub", [src, "shift"], ["centred"]))
        if kind == "deoldify":
            const("inv", 1 / 127.5)
            nodes.append(helper.make_node("Mul", ["centred", "inv"], ["scaled"]))
            conv("scaled", "h1", 3, 8)
        else:
            conv("centred", "h1", 3, 8)
        nodes.append(helper.make_node("Relu", ["h1"], ["r1"]))
        out_channels = 2 if kind == "ddcolor_fp16" else 3
        conv("r1", "h2", 8, out_channels)
        nodes.append(helper.make_node("Tanh", ["h2"], ["t2"]))
        if kind == "ddcolor_fp16":
            const("scale", 60.0)
            nodes.append(helper.make_node("Mul", ["t2", "scale"], ["ab32"]))
            nodes.append(helper.make_node("Cast", ["ab32"], [out_name], to=TensorProto.FLOAT16))
            out_dims = [batch, 2, size, size]
        else:
            # 0..255 with some overshoot on both sides, as a real network's output has.
            const("scale", 150.0)
            const("mid", 127.5)
            nodes.append(helper.make_node("Mul", ["t2", "scale"], ["spread"]))
            nodes.append(helper.make_node("Add", ["spread", "mid"], [out_name]))
            out_dims = [batch, 3, size, size]
    else:
        inputs.append(helper.make_tensor_value_info("input_l", float_type, [batch, 1, size, size]))
        const("l_cent", 50.0)
        const("l_norm", 1 / 100.0)
        nodes.append(helper.make_node("Sub", ["input_l", "l_cent"], ["lc"]))
        nodes.append(helper.make_node("Mul", ["lc", "l_norm"], ["ln"]))
        src, cin = "ln", 1
        if kind == "zhang_siggraph17":
            inputs.append(helper.make_tensor_value_info("input_ab", float_type, [batch, 2, size, size]))
            inputs.append(helper.make_tensor_value_info("mask", float_type, [batch, 1, size, size]))
            const("half", 0.5)
            nodes.append(helper.make_node("Sub", ["mask", "half"], ["mc"]))
            nodes.append(helper.make_node("Concat", ["ln", "input_ab", "mc"], ["joined"], axis=1))
            src, cin = "joined", 4
        stride = 4 if kind == "zhang_eccv16" else 1
        conv(src, "h1", cin, 8, stride)
        nodes.append(helper.make_node("Relu", ["h1"], ["r1"]))
        conv("r1", "h2", 8, 2)
        nodes.append(helper.make_node("Tanh", ["h2"], ["t2"]))
        const("ab_norm", 110.0)
        nodes.append(helper.make_node("Mul", ["t2", "ab_norm"], ["ab"]))
        out_name = "ab"
        out_dims = [batch, 2, "h", "w"]
    graph = helper.make_graph(
        nodes, name, inputs,
        [helper.make_tensor_value_info(out_name, float_type, out_dims)],
        [numpy_helper.from_array(v, n) for n, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


FAMILY_GRAPHS = [
    ("tiny_ddcolor_fp16", "ddcolor_fp16", "ddcolor"),
    ("tiny_deoldify", "deoldify", "deoldify"),
    ("tiny_zhang_eccv16", "zhang_eccv16", "zhang"),
    ("tiny_zhang_siggraph17", "zhang_siggraph17", "zhang"),
]


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
    onnx.save(conv_graph("wrong_io", "image", 4, "N", "S"), os.path.join(OUT, "wrong_io.onnx"))
    onnx.save(head_graph(), os.path.join(OUT, "tiny_ddcolor_head.onnx"))

    grey = synthetic_photo(240, 160)
    input_path = os.path.join(OUT, "reference_input.png")
    Image.fromarray(grey, mode="L").save(input_path)
    session = pipeline.session_for(os.path.join(OUT, "tiny_ddcolor.onnx"))
    result = pipeline.colorize(session, pipeline.load(input_path), 64)
    Image.fromarray(pipeline.to_u8(result), mode="RGB").save(os.path.join(OUT, "reference_output.png"))
    for name, kind, family in FAMILY_GRAPHS:
        path = os.path.join(OUT, name + ".onnx")
        onnx.save(family_graph(name, kind), path)
        result = pipeline.colorize(pipeline.session_for(path), pipeline.load(input_path), 64, family)
        Image.fromarray(pipeline.to_u8(result), mode="RGB").save(
            os.path.join(OUT, "reference_" + name.removeprefix("tiny_") + ".png"))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
