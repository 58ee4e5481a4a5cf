"""Reference colorization pipeline in Python (numpy + onnxruntime + Pillow).

It follows DDColor's inference recipe with the formulas Tinct's engine documents: L from the
original image (sRGB → CIE Lab, D65), L resized to S×S (Pillow bilinear on float images, which
antialiases when shrinking), a grey RGB input built from L with a = b = 0, the model's a/b resized
back to the original size, clamped to [-128, 127], joined with the original L, Lab → sRGB.

Used to make the golden files the Rust tests compare against, and as the baseline in benchmarks.
"""

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

WHITE = np.array([0.95047, 1.0, 1.08883])
EPS = 216 / 24389
KAPPA = 24389 / 27
RGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
XYZ_TO_RGB = np.array([
    [3.2404542, -1.5371385, -0.4985314],
    [-0.9692660, 1.8760108, 0.0415560],
    [0.0556434, -0.2040259, 1.0572252],
])


def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v):
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(np.maximum(v, 0), 1 / 2.4) - 0.055)


def f(t):
    return np.where(t > EPS, np.cbrt(t), (KAPPA * t + 16) / 116)


def f_inv(ft):
    cube = ft ** 3
    return np.where(cube > EPS, cube, (116 * ft - 16) / KAPPA)


def lightness(rgb01):
    """Lab L of an sRGB image in [0,1], shape (H, W, 3) or (H, W)."""
    lin = srgb_to_linear(rgb01)
    y = lin if lin.ndim == 2 else lin @ RGB_TO_XYZ[1]
    return 116 * f(y) - 16


def lab_to_srgb(l, a, b):
    fy = (l + 16) / 116
    fx = fy + a / 500
    fz = fy - b / 200
    xyz = np.stack([WHITE[0] * f_inv(fx), f_inv(fy), WHITE[2] * f_inv(fz)], axis=-1)
    lin = np.clip(xyz @ XYZ_TO_RGB.T, 0, 1)
    return linear_to_srgb(lin)


def resize(plane, width, height):
    """Pillow bilinear resize of one float32 plane."""
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR))


def load(path):
    """Upright sRGB float image in [0,1] (grey images stay 2-D) and its bit depth."""
    image = ImageOps.exif_transpose(Image.open(path))
    if image.mode in ("I;16", "I;16B", "I"):
        return np.asarray(image, dtype=np.float64) / 65535.0
    if image.mode in ("L", "LA"):
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def rgb_to_ab(rgb01):
    """Lab a/b of an sRGB image in [0,1], shape (..., 3)."""
    lin = srgb_to_linear(rgb01)
    xyz = lin @ RGB_TO_XYZ.T
    fx, fy, fz = f(xyz[..., 0] / WHITE[0]), f(xyz[..., 1]), f(xyz[..., 2] / WHITE[2])
    return 500 * (fx - fy), 200 * (fy - fz)


def run_family(session, family, l_small, size):
    """The graph's a/b at S×S for the S×S lightness `l_small`, fed as `family` expects.

    ddcolor: grey sRGB [1,3,S,S] in [0,1] → a/b [1,2,S,S].
    deoldify (facefusion's export): grey sRGB in 0..255 → sRGB [1,3,S,S] in 0..255, clipped to
      0..255, of which the Lab a/b is kept.
    zhang (ECCV16 / SIGGRAPH17): L [1,1,S,S] in 0..100 → a/b [1,2,h,w]; SIGGRAPH17's hint inputs
      are zeros. Output at another resolution is resized to S×S first (bilinear).
    Float16 graphs get float16 inputs; outputs are read as float32.
    """
    inputs = session.get_inputs()
    dtype = lambda i: np.float16 if i.type == "tensor(float16)" else np.float32
    grey = lab_to_srgb(l_small, np.zeros_like(l_small), np.zeros_like(l_small))[..., 0]
    if family == "zhang":
        first = l_small[None, None]
    else:
        first = np.repeat(grey[None, None], 3, axis=1)
        if family == "deoldify":
            first = first * 255.0
    feed = {inputs[0].name: first.astype(dtype(inputs[0]))}
    for extra in inputs[1:]:
        channels = extra.shape[1]
        feed[extra.name] = np.zeros((1, channels, size, size), dtype=dtype(extra))
    out = session.run(None, feed)[0][0].astype(np.float64)
    if family == "deoldify":
        rgb = np.clip(out, 0, 255).transpose(1, 2, 0) / 255.0
        a, b = rgb_to_ab(rgb)
        out = np.stack([a, b])
    if out.shape[1:] != (size, size):
        out = np.stack([resize(plane, size, size) for plane in out])
    return out


def colorize(session, rgb01, size, family="ddcolor"):
    """rgb01: (H, W[, 3]) float in [0,1]. Returns (H, W, 3) float sRGB in [0,1]."""
    height, width = rgb01.shape[:2]
    l_full = lightness(rgb01)
    l_small = resize(l_full, size, size).astype(np.float64)
    ab = run_family(session, family, l_small, size)
    a = np.clip(resize(ab[0], width, height), -128, 127)
    b = np.clip(resize(ab[1], width, height), -128, 127)
    return lab_to_srgb(l_full, a, b)


def to_u8(rgb01):
    return (np.clip(rgb01, 0, 1) * 255 + 0.5).astype(np.uint8)


def session_for(model_path, threads=0):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
