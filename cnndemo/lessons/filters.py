"""Handcrafted kernels, the course's worked examples, and a model's learned first layer.

The kernels are the classic image-processing filters from the course notes (seed 004:
outline, emboss, blur) plus Sobel, sharpen and identity. A CNN *learns* kernels like
these; the convolution page puts both side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnndemo.errors import UserError
from cnndemo.lessons import convolution as ops

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "outline": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
}

# Seed 004's detector for the "\" stroke of an X.
DIAGONAL = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)


def kernel(name: str) -> np.ndarray:
    if name not in KERNELS:
        raise KeyError(f"unknown filter {name!r}; known: {', '.join(KERNELS)}")
    return KERNELS[name].copy()


def x_image(shift: int = 0) -> np.ndarray:
    """Seed 004's 9x9 "X": +1 on both diagonals of the inner 7x7, -1 elsewhere;
    `shift` moves it right by that many pixels (the "Before CNN" example)."""
    img = -np.ones((9, 9))
    for i in range(1, 8):
        for j in (i, 8 - i):
            if 0 <= j + shift < 9:
                img[i, j + shift] = 1.0
    return img


def ink_overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(pixels that are ink (+1 / >0) in both images, ink pixels in `a`): how much a fully
    connected net's 81-long input vectors of the two images have in common."""
    ia, ib = np.asarray(a) > 0, np.asarray(b) > 0
    return int((ia & ib).sum()), int(ia.sum())


def apply(image, k, padding: int | None = None) -> np.ndarray:
    """Convolve a 2-D image with a kernel (name or array), keeping the size by default."""
    k = kernel(k) if isinstance(k, str) else np.asarray(k, dtype=np.float64)
    if padding is None:
        padding = k.shape[0] // 2
    return ops.conv2d(image, k, padding=padding, trace=False).output


def apply_all(image, names=None, custom: np.ndarray | None = None) -> dict[str, np.ndarray]:
    names = list(KERNELS) if names is None else list(names)
    maps = {n: apply(image, n) for n in names}
    if custom is not None:
        maps["custom"] = apply(image, custom)
    return maps


@dataclass
class FirstLayer:
    """A model's first conv layer: its kernels, and what it makes of one image."""

    weights: np.ndarray   # [N, C, k, k]
    bias: np.ndarray      # [N]
    maps: np.ndarray      # [N, H', W'] conv output before the activation
    name: str             # e.g. "Conv2d(1, 32, kernel_size=(3, 3), ...)"


class NoConvLayer(UserError):
    """The model has no convolution layer to show (an MLP)."""
    prefix = "convolution."


def _first_conv(model: nn.Module) -> nn.Conv2d:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise NoConvLayer("no_conv")


def first_layer(model: nn.Module, image) -> FirstLayer:
    """The first Conv2d of `model` applied (by PyTorch itself) to a [28,28] image in [0,1]."""
    conv = _first_conv(model)
    x = torch.as_tensor(np.asarray(image, dtype=np.float32)).reshape(1, 1, *np.shape(image))
    with torch.no_grad():
        out = conv(x.to(conv.weight.device))[0].cpu().numpy()
    w = conv.weight.detach().cpu().numpy()
    b = conv.bias.detach().cpu().numpy() if conv.bias is not None else np.zeros(w.shape[0])
    return FirstLayer(w, b, out, repr(conv))


def pre_pool_maps(model: nn.Module, image) -> np.ndarray:
    """The feature maps that reach the model's first pooling layer (after conv + activation),
    [C, H, W]; for a model without pooling, the first conv block's output."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float32)).reshape(1, 1, *np.shape(image))
    layers = list(model.children()) if isinstance(model, nn.Sequential) else []
    seen_conv = False
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)) or \
                    (seen_conv and isinstance(layer, (nn.Conv2d, nn.Flatten, nn.Linear))):
                break
            x = layer(x)
            seen_conv = seen_conv or isinstance(layer, nn.Conv2d)
    if not seen_conv:
        fl = first_layer(model, image)
        return np.maximum(fl.maps, 0)
    return x[0].cpu().numpy()


# A small 8x8 "image" (a bright ring on a dark background) for trying the seed's filters.
RING = np.array([[0, 0, 0, 0, 0, 0, 0, 0],
                 [0, 0, 8, 8, 8, 8, 0, 0],
                 [0, 8, 8, 0, 0, 8, 8, 0],
                 [0, 8, 0, 0, 0, 0, 8, 0],
                 [0, 8, 0, 0, 0, 0, 8, 0],
                 [0, 8, 8, 0, 0, 8, 8, 0],
                 [0, 0, 8, 8, 8, 8, 0, 0],
                 [0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float64)


def _txt(a) -> str:
    return "\n".join(" ".join(str(int(v)) for v in row) for row in np.asarray(a))


# The convolution page's presets: grids as the text the student edits.
CONV_PRESETS: dict[str, dict] = {
    "example_a": dict(input="1 2 3\n2 1 0\n3 0 1", kernel="1 0\n1 0", bias=5.0,
                      stride=1, padding=0, dilation=1),
    "example_b": dict(input=_txt(x_image()),
                      kernel="\n".join(" ".join(f"{int(v)}/9" for v in row) for row in DIAGONAL),
                      bias=0.0, stride=1, padding=0, dilation=1),
    "outline": dict(input=_txt(RING), kernel=_txt(KERNELS["outline"]), bias=0.0,
                    stride=1, padding=1, dilation=1),
    "emboss": dict(input=_txt(RING), kernel=_txt(KERNELS["emboss"]), bias=0.0,
                   stride=1, padding=1, dilation=1),
    "blur": dict(input=_txt(RING), kernel="1/16 2/16 1/16\n2/16 4/16 2/16\n1/16 2/16 1/16",
                 bias=0.0, stride=1, padding=1, dilation=1),
}

POOL_PRESETS: dict[str, str] = {
    "four": "1 5 2 0\n3 4 8 1\n0 2 1 1\n7 1 3 9",
    "six": "1 1 2 4 0 3\n5 6 7 8 1 2\n3 2 1 0 9 4\n1 2 3 4 2 6\n0 8 1 3 5 5\n2 4 6 1 7 0",
    "ring": _txt(RING),
}

# Seed-style multi-channel example: a 3-channel 4x4 input and one 3-channel 2x2 kernel.
CHANNEL_X = np.array([[[1, 0, 2, 1], [0, 1, 3, 0], [2, 1, 0, 1], [1, 0, 1, 2]],
                      [[0, 2, 1, 0], [1, 1, 0, 2], [0, 3, 1, 1], [2, 0, 0, 1]],
                      [[1, 1, 0, 0], [0, 2, 2, 1], [1, 0, 1, 3], [0, 1, 2, 0]]], dtype=np.float64)
CHANNEL_W = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, -1], [0, 1]]], dtype=np.float64)
