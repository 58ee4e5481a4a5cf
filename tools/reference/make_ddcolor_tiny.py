"""Exports DDColor-tiny's architecture with random weights to ONNX, for speed measurements only.

The speed issue's goals are stated for a DDColor-tiny-sized model; its trained weights come from a
model hub this machine cannot reach, and speed does not depend on the weights. This script builds
the network from a checkout of the upstream code (https://github.com/piddnad/DDColor, Apache-2.0;
nothing of it is copied here) with the settings of upstream's own ONNX export for the tiny model
(`convnext-t` encoder, multi-scale colour decoder, 100 queries, 3 scales, 9 layers), seeds the
random initialisation, and writes a file that follows the DDColor contract (`input` [N,3,S,S] →
`output` [N,2,S,S], dynamic N). Its colours are meaningless; it is never shipped.

    tools/train/.venv/bin/python tools/reference/make_ddcolor_tiny.py \
        --upstream /path/to/DDColor --size 512 --out /var/tmp/ddcolor_tiny_random.onnx

Needs torch, onnx (tools/train/requirements.txt) and the upstream checkout.
"""

import argparse
import os
import sys
import types


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="checkout of github.com/piddnad/DDColor")
    parser.add_argument("--size", type=int, default=512, help="input size S the graph is traced at")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sys.path.insert(0, args.upstream)
    # The upstream packages' `__init__.py` files pull in OpenCV and training utilities;
    # the network needs none of them, so the two packages are entered without running them.
    for package in ("ddcolor", "basicsr", "basicsr.archs"):
        module = types.ModuleType(package)
        module.__path__ = [os.path.join(args.upstream, *package.split("."))]
        sys.modules[package] = module
    import torch
    from ddcolor.model import DDColor  # upstream code, imported from the checkout

    torch.manual_seed(args.seed)
    model = DDColor(
        encoder_name="convnext-t",
        decoder_name="MultiScaleColorDecoder",
        input_size=[args.size, args.size],
        num_output_channels=2,
        last_norm="Spectral",
        do_normalize=False,
        num_queries=100,
        num_scales=3,
        dec_layers=9,
    ).eval()
    example = torch.rand(1, 3, args.size, args.size)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            args.out,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
            opset_version=17,
            dynamo=False,
        )
    parameters = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {parameters / 1e6:.1f} M parameters, traced at S = {args.size}")


if __name__ == "__main__":
    main()
