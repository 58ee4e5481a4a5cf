"""3×3 convolutions as Winograd F(4×4, 3×3): the same function with 4× fewer multiplications.

A 3×3 convolution (stride 1, padding 1) computes each 4×4 block of its output from a 6×6 block of
its input. Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks", 2016) does that with 36 multiplications per input/output channel pair instead of 144:

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A          d: 6×6 input block, g: 3×3 kernel, Y: 4×4 output

In a graph of standard operators: the input transform Bᵀ d B is a depthwise 6×6 convolution with
stride 4 (36 fixed kernels per channel); the products ⊙ summed over input channels are 36 matrix
products U_ξ · V_ξ (U = G g Gᵀ per kernel position ξ, precomputed); the output transform Aᵀ · A is
one more small matrix product, and a transpose puts the 4×4 blocks back in place. ONNX Runtime
runs the 36 products as large matrix multiplications, so DDColor's three 3×3 decoder convolutions
(40 of its 180 GFLOP at S = 512) cost about a quarter of the arithmetic. The result differs from
the direct convolution by float rounding only (the transforms' coefficients are small: ±1, ±2,
±4, ±8, 1/4, 1/6, 1/12, 1/24); `fold.fold` checks the whole graph on random inputs.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

# F(4×4, 3×3) with interpolation points 0, ±1, ±2 and ∞.
B_T = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=np.float64)
TILE = 4  # output block
BLOCK = 6  # input block
POSITIONS = BLOCK * BLOCK

# The transforms cost the same per channel whatever the width, the saving grows with the number
# of channel pairs: only wide convolutions are rewritten (DDColor's have 224 to 640 inputs).
MIN_CHANNELS = 64


def rewrite_convolutions(model, min_channels=MIN_CHANNELS):
    """Replaces every 3×3 convolution with stride 1, padding 1 and at least `min_channels`
    input channels by its Winograd form; answers how many were replaced."""
    graph = model.graph
    sizes = known_sizes(model)
    constants = {i.name: i for i in graph.initializer}
    nodes = []
    replaced = 0
    for node in graph.node:
        weight = constants.get(node.input[1]) if node.op_type == "Conv" else None
        weight = numpy_helper.to_array(weight) if weight is not None else None
        if weight is None or not plain_3x3(node, weight, min_channels):
            nodes.append(node)
            continue
        bias = None
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in constants:
                nodes.append(node)
                continue
            bias = numpy_helper.to_array(constants[node.input[2]])
        replaced += 1
        nodes += winograd_nodes(graph, node, weight, bias, f"/tinct_winograd/{replaced}/",
                                sizes.get(node.input[0]))
    del graph.node[:]
    graph.node.extend(nodes)
    return replaced


def known_sizes(model):
    """Height and width of each 4-d tensor whose size the graph fixes (a model exported at one
    input size, as upstream DDColor's is)."""
    inferred = onnx.shape_inference.infer_shapes(model).graph
    sizes = {}
    for value in list(inferred.value_info) + list(inferred.input):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
            sizes[value.name] = (dims[2].dim_value, dims[3].dim_value)
    return sizes


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def plain_3x3(node, weight, min_channels):
    return (weight.ndim == 4 and weight.shape[2:] == (3, 3) and weight.shape[1] >= min_channels
            and attribute(node, "group", 1) == 1
            and list(attribute(node, "pads", [0, 0, 0, 0])) == [1, 1, 1, 1]
            and all(s == 1 for s in attribute(node, "strides", [1, 1]))
            and all(d == 1 for d in attribute(node, "dilations", [1, 1]))
            and attribute(node, "auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))


def winograd_nodes(graph, conv, weight, bias, prefix, size=None):
    """Nodes computing `conv`'s output from its input in Winograd form. An input whose height or
    width is not known to be a multiple of 4 (`size`) is padded with zeros at the bottom and
    right (what the convolution's own zero padding would read there) and the output is cropped
    back."""
    out_channels, in_channels = weight.shape[:2]
    name = lambda n: prefix + n  # noqa: E731

    def constants(**arrays):
        graph.initializer.extend(numpy_helper.from_array(v, name(k)) for k, v in arrays.items())

    # Bᵀ d B for position ξ = (i, j) is the 6×6 kernel K[a, b] = Bᵀ[i, a] · Bᵀ[j, b].
    transform = np.einsum("ia,jb->ijab", B_T, B_T).reshape(POSITIONS, 1, BLOCK, BLOCK)
    constants(
        input_transform=np.tile(transform, (in_channels, 1, 1, 1)).astype(np.float32),
        # U[ξ, o, c] = (G g[o, c] Gᵀ)[ξ]
        kernels=np.einsum("ik,ockl,jl->ijoc", G, weight.astype(np.float64), G)
        .reshape(POSITIONS, out_channels, in_channels).astype(np.float32),
        # Y[(r, s)] = Σ Aᵀ[r, i] Aᵀ[s, j] M[(i, j)]
        output_transform=np.einsum("ri,sj->rsij", A_T, A_T)
        .reshape(TILE * TILE, POSITIONS).astype(np.float32),
        split_positions=np.array([0, in_channels, POSITIONS, -1], dtype=np.int64),
        join_channels=np.array([0, POSITIONS, -1], dtype=np.int64),
    )
    if bias is not None:
        constants(bias=bias.astype(np.float32).reshape(1, out_channels, 1, 1))
    output = name("unbiased") if bias is not None else conv.output[0]
    fixed = size is not None and size[0] % TILE == 0 and size[1] % TILE == 0
    if fixed:
        height, width = size
        constants(
            tiles_shape=np.array([0, TILE, TILE, out_channels, height // TILE, width // TILE],
                                 dtype=np.int64),
            image_shape=np.array([0, out_channels, height, width], dtype=np.int64),
        )
        nodes = block_products(name, conv.input[0], in_channels, pads=[1, 1, 1, 1]) + [
            helper.make_node("Reshape", [name("tiles"), name("tiles_shape")], [name("tiled")]),
            helper.make_node("Transpose", [name("tiled")], [name("placed")],
                             perm=[0, 3, 4, 1, 5, 2]),
            helper.make_node("Reshape", [name("placed"), name("image_shape")], [output]),
        ]
    else:
        constants(
            blocks_head=np.array([0, TILE, TILE, out_channels], dtype=np.int64),
            output_head=np.array([0, out_channels], dtype=np.int64),
            two=np.array([2], dtype=np.int64),
            four=np.array([4], dtype=np.int64),
            tile=np.array(TILE, dtype=np.int64),
            border=np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64),
            zeros=np.array([0, 0, 0, 0, 0, 0], dtype=np.int64),
            start=np.array([0, 0], dtype=np.int64),
            spatial_axes=np.array([2, 3], dtype=np.int64),
        )
        x = conv.input[0]
        nodes = [
            # Padding: 1 all round as the convolution had, plus (−H mod 4) / (−W mod 4) below
            # and right so that the blocks cover the image.
            helper.make_node("Shape", [x], [name("shape")]),
            helper.make_node("Slice", [name("shape"), name("two"), name("four")], [name("size")]),
            helper.make_node("Neg", [name("size")], [name("negative_size")]),
            helper.make_node("Mod", [name("negative_size"), name("tile")], [name("extra")]),
            helper.make_node("Concat", [name("zeros"), name("extra")], [name("extra_pads")],
                             axis=0),
            helper.make_node("Add", [name("border"), name("extra_pads")], [name("pads")]),
            helper.make_node("Pad", [x, name("pads")], [name("padded")], mode="constant"),
            helper.make_node("Add", [name("size"), name("extra")], [name("covered")]),
            helper.make_node("Div", [name("covered"), name("tile")], [name("blocks")]),
        ] + block_products(name, name("padded"), in_channels, pads=[0, 0, 0, 0]) + [
            # [N, 16, O·blocks] → [N, 4, 4, O, h/4, w/4] → [N, O, h/4, 4, w/4, 4] → cropped
            helper.make_node("Concat", [name("blocks_head"), name("blocks")],
                             [name("tiles_shape")], axis=0),
            helper.make_node("Reshape", [name("tiles"), name("tiles_shape")], [name("tiled")]),
            helper.make_node("Transpose", [name("tiled")], [name("placed")],
                             perm=[0, 3, 4, 1, 5, 2]),
            helper.make_node("Concat", [name("output_head"), name("covered")],
                             [name("covered_shape")], axis=0),
            helper.make_node("Reshape", [name("placed"), name("covered_shape")], [name("image")]),
            helper.make_node("Slice", [name("image"), name("start"), name("size"),
                                       name("spatial_axes")], [output]),
        ]
    if bias is not None:
        nodes.append(helper.make_node("Add", [output, name("bias")], [conv.output[0]]))
    return nodes


def block_products(name, source, in_channels, pads):
    """From the (padded) input to `tiles`: each 4×4 output block's 16 values, [N, 16, O·blocks]."""
    return [
        # V = Bᵀ d B: [N, C·36, h/4, w/4] → [N, 36, C, blocks]
        helper.make_node("Conv", [source, name("input_transform")], [name("transformed")],
                         kernel_shape=[BLOCK, BLOCK], strides=[TILE, TILE], pads=pads,
                         group=in_channels),
        helper.make_node("Reshape", [name("transformed"), name("split_positions")],
                         [name("by_channel")]),
        helper.make_node("Transpose", [name("by_channel")], [name("by_position")],
                         perm=[0, 2, 1, 3]),
        # M_ξ = U_ξ · V_ξ: [N, 36, O, blocks]
        helper.make_node("MatMul", [name("kernels"), name("by_position")], [name("products")]),
        helper.make_node("Reshape", [name("products"), name("join_channels")], [name("joined")]),
        # Aᵀ M A
        helper.make_node("MatMul", [name("output_transform"), name("joined")], [name("tiles")]),
    ]
