"""Fold DDColor's colour head into fewer operations: the same function, far less work.

DDColor ends with three linear steps on the full-resolution image features:

    F   = blur(pad(depth_to_space(relu(conv(h)))))      # [N, C, S, S], C = 256
    E   = einsum("bqc,bchw->bqhw", Q, F)                 # [N, 100, S, S], one map per colour query
    out = conv1x1(concat(E, x), W) + bias                # [N, 2, S, S], W = [W_q | W_x]

Only two channels come out, and every step after the ReLU is linear, so the 100 query maps never
need to exist: W_q·Q is a [N, 2, C] matrix, and channel mixing commutes with the pixel shuffle
(which only moves values) and with the 2×2 blur (which averages each channel on its own). The
folded graph applies M = W_q·Q to the ReLU's output before the shuffle, per shuffle position:

    out = blur(pad(depth_to_space(M · relu(conv(h))))) + conv1x1(x, W_x) + bias

At S = 512 that removes a 13-GFLOP einsum, the shuffle of 4,096 channels at 128 × 128 and the blur
of 256 channels at 512 × 512. Unless `winograd_convolutions` is off (int8 variants), the decoder's
3×3 convolutions are then computed in Winograd form (winograd.py): a quarter of their multiplications.
The result equals the original up to float rounding; `fold` checks that on random inputs before it
writes anything.
"""

import os
import shutil
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

import winograd

HEAD_EQUATION = "bqc,bchw->bqhw"


class NotFoldable(Exception):
    """The graph does not end in DDColor's colour head; nothing was written."""


# Largest difference allowed between the two graphs' outputs, relative to the largest output:
# float32 rounding in a different order of sums stays far below it.
TOLERANCE = 1e-4


def fold(model_path, out_path, check_size=64, winograd_convolutions=True):
    """Writes the folded graph of `model_path` to `out_path` (its 3×3 convolutions in Winograd
    form too, unless told otherwise: int8 variants keep them direct); returns the largest difference
    from the original on random inputs at S = `check_size` (or the graph's fixed size),
    relative to the largest output. Refuses (NotFoldable) to write a graph that differs."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        # Constant folding first (ONNX Runtime's basic level, which every execution provider
        # gets too): spectral-norm divisions and the pad amounts become plain initializers.
        constant = os.path.join(tmp, "constant.onnx")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = constant
        ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        model = onnx.load(constant)
    fold_head(model.graph)
    if winograd_convolutions:
        winograd.rewrite_convolutions(model)
        unused_initializers_go(model.graph)
    onnx.checker.check_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = os.path.join(tmp, "folded.onnx")
        onnx.save(model, candidate)
        difference = largest_difference(model_path, candidate, check_size)
        if not difference <= TOLERANCE:
            raise NotFoldable(f"the folded graph differs from the original by {difference:.2e}")
        shutil.move(candidate, out_path)
    return difference


def fold_head(graph):
    initial = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_consumer(name, op_type):
        users = consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op_type:
            raise NotFoldable(f"{name} is not used by exactly one {op_type}")
        return users[0]

    def made_by(name, op_type):
        node = producer.get(name)
        if node is None or node.op_type != op_type:
            raise NotFoldable(f"{name} is not made by a {op_type}")
        return node

    def attribute(node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def constant(name):
        if name not in initial:
            raise NotFoldable(f"{name} is not a constant")
        return numpy_helper.to_array(initial[name])

    einsums = [n for n in graph.node
               if n.op_type == "Einsum" and attribute(n, "equation", b"").decode() == HEAD_EQUATION]
    if len(einsums) != 1:
        raise NotFoldable(f"expected one Einsum '{HEAD_EQUATION}', found {len(einsums)}")
    einsum = einsums[0]
    queries, features = einsum.input

    # After the einsum: concat(E, x) on channels, then a 1×1 convolution without activation.
    concat = only_consumer(einsum.output[0], "Concat")
    if (attribute(concat, "axis") != 1 or len(concat.input) != 2
            or concat.input[0] != einsum.output[0]):
        raise NotFoldable("the query maps are not concatenated first on the channel axis")
    image = concat.input[1]
    refine = only_consumer(concat.output[0], "Conv")
    weight = constant(refine.input[1])
    if weight.shape[2:] != (1, 1) or attribute(refine, "group", 1) != 1:
        raise NotFoldable("the last convolution is not 1×1")
    bias = constant(refine.input[2]) if len(refine.input) > 2 and refine.input[2] else None

    # Before it: the features are blur(pad(depth_to_space(relu(...)))).
    blur = made_by(features, "AveragePool")
    if list(attribute(blur, "kernel_shape")) != [2, 2] or any(attribute(blur, "pads", [0] * 4)):
        raise NotFoldable("the blur is not a 2×2 average without padding")
    pad = made_by(blur.input[0], "Pad")
    if attribute(pad, "mode", b"constant") != b"edge":
        raise NotFoldable("the blur's padding does not repeat the edge")
    shuffle = made_by(pad.input[0], "DepthToSpace")
    if attribute(shuffle, "mode", b"DCR") != b"CRD":
        raise NotFoldable("the pixel shuffle is not in CRD order")
    block = attribute(shuffle, "blocksize")
    relu = made_by(shuffle.input[0], "Relu")
    width = constant(made_by(relu.input[0], "Conv").input[1]).shape[0] // (block * block)
    for name in (features, blur.input[0], pad.input[0]):
        if len(consumers.get(name, [])) != 1:
            raise NotFoldable(f"{name} is used elsewhere")

    # The joined image has the graph input's channels (DDColor: grey RGB, 3).
    query_count = weight.shape[1] - input_channels(graph)
    if query_count <= 0:
        raise NotFoldable("the last convolution has no query channels")
    out_channels = weight.shape[0]
    mixing = weight[:, :query_count, 0, 0].astype(np.float32)        # W_q, [2, Q]
    image_weight = weight[:, query_count:].astype(np.float32)          # W_x, [2, 3, 1, 1]

    prefix = "/tinct_fold/"
    name = lambda n: prefix + n  # noqa: E731
    graph.initializer.extend([
        numpy_helper.from_array(mixing, name("query_mixing")),
        numpy_helper.from_array(image_weight, name("image_weight")),
        numpy_helper.from_array(np.array([0, out_channels * block * block], dtype=np.int64),
                                name("mixed_head")),
    ])
    if bias is not None:
        graph.initializer.append(numpy_helper.from_array(bias.astype(np.float32), name("bias")))
    # R: [N, C·b², h, w] → [N, C, b²·h·w] (CRD keeps each channel's b² positions together).
    flat_shape_nodes = [
        helper.make_node("Shape", [relu.output[0]], [name("relu_shape")]),
        helper.make_node("Slice", [name("relu_shape"), name("two"), name("four")], [name("hw")]),
        helper.make_node("Concat", [name("mixed_head"), name("hw")], [name("mixed_shape")], axis=0),
    ]
    graph.initializer.extend([
        numpy_helper.from_array(np.array([2], dtype=np.int64), name("two")),
        numpy_helper.from_array(np.array([4], dtype=np.int64), name("four")),
        numpy_helper.from_array(np.array([0, width, -1], dtype=np.int64), name("channel_shape")),
    ])
    new_nodes = flat_shape_nodes + [
        # M = W_q · Q: [2, Q] × [N, Q, C] → [N, 2, C]
        helper.make_node("MatMul", [name("query_mixing"), queries], [name("mixing")]),
        helper.make_node("Reshape", [relu.output[0], name("channel_shape")], [name("flat")]),
        # M · R: [N, 2, C] × [N, C, b²·h·w] → [N, 2, b²·h·w] → [N, 2·b², h, w]
        helper.make_node("MatMul", [name("mixing"), name("flat")], [name("mixed_flat")]),
        helper.make_node("Reshape", [name("mixed_flat"), name("mixed_shape")], [name("mixed")]),
        helper.make_node("DepthToSpace", [name("mixed")], [name("shuffled")],
                         blocksize=block, mode="CRD"),
        helper.make_node("Pad", [name("shuffled")] + list(pad.input[1:]), [name("padded")],
                         mode="edge"),
        helper.make_node("AveragePool", [name("padded")], [name("blurred")],
                         kernel_shape=[2, 2], strides=list(attribute(blur, "strides", [1, 1]))),
        helper.make_node("Conv", [image, name("image_weight")] + ([name("bias")] if bias is not None
                                                                   else []),
                         [name("from_image")], kernel_shape=[1, 1]),
        helper.make_node("Add", [name("blurred"), name("from_image")], [refine.output[0]]),
    ]
    # Nodes are compared by identity: protobuf hands out one Python object per node while it
    # is referenced, and every node here came from iterating graph.node.
    removed = {id(n) for n in (einsum, concat, refine, blur, pad, shuffle)}
    kept = [n for n in graph.node if id(n) not in removed]
    # The new nodes go where the last convolution was, so the graph stays in topological order.
    position = next(i for i, n in enumerate(graph.node) if n is refine)
    before = sum(1 for n in list(graph.node)[:position] if id(n) not in removed)
    ordered = kept[:before] + new_nodes + kept[before:]
    del graph.node[:]
    graph.node.extend(ordered)
    # The old convolution's weight goes.
    unused_initializers_go(graph)
    del graph.value_info[:]


def unused_initializers_go(graph):
    used = {i for n in graph.node for i in n.input}
    unused = [i for i in graph.initializer if i.name not in used]
    for i in unused:
        graph.initializer.remove(i)


def input_channels(graph):
    dims = graph.input[0].type.tensor_type.shape.dim
    return dims[1].dim_value if len(dims) > 1 and dims[1].HasField("dim_value") else 3


def largest_difference(original, folded, size, trials=2):
    import onnxruntime as ort

    a = ort.InferenceSession(original, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(folded, providers=["CPUExecutionProvider"])
    fixed = a.get_inputs()[0].shape[2]
    size = fixed if isinstance(fixed, int) else size
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        grey = rng.random((1, 1, size, size), dtype=np.float32)
        feed = {"input": np.repeat(grey, 3, axis=1)}
        expected, folded_out = a.run(None, feed)[0], b.run(None, feed)[0]
        scale = max(float(np.abs(expected).max()), 1e-6)
        worst = max(worst, float(np.abs(expected - folded_out).max()) / scale)
    return worst
