"""Course items that the lesson pages show in the course's own form (issue 15).

- weight sharing: seed 004's 3x3 image 0..8 under a 2x2 kernel w0..w3 as a tiny network;
- why convolution: the tilted X beside the shifted X, and LeNet-5's real shapes;
- the layer pattern [(conv*a + act)*b + pool]*c + FC of any spec;
- the 3-D reading (16 filters -> 16 channels, halve the size and double the channels);
- dataset descriptions in the UI language.
Every number is computed here with PyTorch, never typed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnndemo import i18n
from cnndemo.core import arch

# ----- weight sharing (seed 004, "Basic Architecture") -----
SHARE_IMAGE = np.arange(9, dtype=np.float64).reshape(3, 3)


@dataclass
class WeightSharing:
    image: np.ndarray            # 3x3, 0..8
    weights: tuple               # (w0, w1, w2, w3) as numbers
    edges: list                  # (input pixel 0..8, output 0..3, weight index 0..3)
    symbolic: list               # "0·w0 + 1·w1 + 3·w2 + 4·w3" per output
    arithmetic: list             # "0×1 + 1×2 + 3×3 + 4×4 = 27" per output
    output: np.ndarray           # 2x2, from F.conv2d
    dense_weights: int           # a fully connected 9 -> 4 layer: 36
    matrix: np.ndarray           # the 4x9 weight matrix the shared weights fill


def _num(v: float) -> str:
    return f"{v:g}"


def weight_sharing(weights=(1.0, 2.0, 3.0, 4.0)) -> WeightSharing:
    """Each output is one input window times the same four weights: 16 connections, 4 weights."""
    w = tuple(float(v) for v in weights)
    if len(w) != 4 or not all(np.isfinite(w)):
        raise ValueError("Weight sharing needs four finite weights w0, w1, w2, w3.")
    edges, symbolic, arithmetic = [], [], []
    matrix = np.zeros((4, 9))
    for out in range(4):
        r, c = divmod(out, 2)
        terms_s, terms_a = [], []
        for k in range(4):
            i, j = r + k // 2, c + k % 2
            pixel = 3 * i + j
            edges.append((pixel, out, k))
            matrix[out, pixel] = w[k]
            terms_s.append(f"{_num(SHARE_IMAGE[i, j])}·w{k}")
            terms_a.append(f"{_num(SHARE_IMAGE[i, j])}×{_num(w[k])}")
        symbolic.append(" + ".join(terms_s))
        arithmetic.append(terms_a)
    x = torch.tensor(SHARE_IMAGE).view(1, 1, 3, 3)
    kernel = torch.tensor(w, dtype=torch.float64).view(1, 1, 2, 2)
    output = F.conv2d(x, kernel)[0, 0].numpy()
    arithmetic = [" + ".join(t) + f" = {_num(output.flat[n])}" for n, t in enumerate(arithmetic)]
    return WeightSharing(SHARE_IMAGE.copy(), w, edges, symbolic, arithmetic, output, 9 * 4,
                         matrix)


# ----- why convolution: the tilted X -----
def tilted_x(degrees: float = 15.0) -> np.ndarray:
    """Seed 004's 9x9 X with both strokes turned by `degrees`: each stroke is a line through
    the centre drawn one pixel per row (steep) or per column (flat) inside the inner 7x7."""
    img = -np.ones((9, 9))
    for base in (45.0, 135.0):
        slope = np.tan(np.deg2rad(base + degrees))
        for s in range(-3, 4):
            x, y = (s / slope, s) if abs(slope) >= 1 else (s, s * slope)
            i, j = int(np.floor(4.5 - y)), int(np.floor(4.5 + x))
            if 1 <= i <= 7 and 1 <= j <= 7:
                img[i, j] = 1.0
    return img


@dataclass
class DiagonalResponse:
    fmap: np.ndarray       # the 7x7 map of the diagonal kernel / 9
    best: float            # its largest value
    strong: int            # positions where it is at least 0.5


def diagonal_response(img: np.ndarray, kernel: np.ndarray) -> DiagonalResponse:
    fmap = F.conv2d(torch.tensor(img).view(1, 1, *img.shape),
                    torch.tensor(kernel / 9.0).view(1, 1, *kernel.shape))[0, 0].numpy()
    return DiagonalResponse(fmap, float(fmap.max()), int((fmap >= 0.5 - 1e-9).sum()))


# ----- LeNet-5 (1998), shapes by the app's own inference -----
LENET5 = [arch.Conv2d(1, 6, 5), arch.Tanh(), arch.AvgPool2d(2), arch.Conv2d(6, 16, 5), arch.Tanh(),
          arch.AvgPool2d(2), arch.Conv2d(16, 120, 5), arch.Tanh(), arch.Flatten(),
          arch.Linear(120, 84), arch.Tanh(), arch.Linear(84, 10)]
LENET5_INPUT = (1, 32, 32)


def volume_stages(spec, input_shape) -> list[tuple[str, tuple[int, ...]]]:
    """Input plus every conv and pooling output as (layer name, (C, H, W)), from arch.infer."""
    layers = arch.spec_from_dicts(spec) if spec and isinstance(spec[0], dict) else spec
    stages = [("input", tuple(input_shape))]
    for row in arch.infer(layers, tuple(input_shape)):
        if row.type in ("Conv2d", "MaxPool2d", "AvgPool2d") and len(row.output_shape) == 4:
            stages.append((row.name, tuple(row.output_shape[1:])))
    return stages


# ----- the layer pattern [(conv*a + act)*b + pool]*c + FC (seed 004) -----
@dataclass
class Pattern:
    stages: list          # per stage: (list of a per block, activation name, pooled?)
    fc: int               # Linear layers after the convolutional part
    convs: int
    pools: int

    def abc(self) -> tuple[int, int, int] | None:
        """(a, b, c) when every stage has the same shape, else None."""
        shapes = {(tuple(blocks), pooled) for blocks, _, pooled in self.stages}
        if len(shapes) != 1:
            return None
        blocks, pooled = shapes.pop()
        if not pooled or len(set(blocks)) != 1:
            return None
        return blocks[0], len(blocks), len(self.stages)

    def per_stage(self) -> tuple[str, str]:
        """a and b stage by stage, as text: ("1", "2, 1") for CNN A; ("-", "-") with no conv."""
        if not self.stages:
            return "-", "-"
        a = sorted({x for blocks, _, _ in self.stages for x in blocks})
        b = [len(blocks) for blocks, _, _ in self.stages]
        return ", ".join(map(str, a)), str(b[0]) if len(set(b)) == 1 else ", ".join(map(str, b))

    def formula(self) -> str:
        fc = f"FC·{self.fc}" if self.fc else ""
        if not self.stages:
            return fc or "-"
        act = self.stages[0][1]
        abc = self.abc()
        if abc is not None:
            a, b, c = abc
            conv = f"[(conv·{a} + {act})·{b} + pool]·{c}"
        else:
            parts = []
            for blocks, act_i, pooled in self.stages:
                if len(set(blocks)) == 1:
                    inner = f"(conv·{blocks[0]} + {act_i})·{len(blocks)}"
                else:
                    inner = " + ".join(f"(conv·{a} + {act_i})" for a in blocks)
                parts.append(f"[{inner}{' + pool' if pooled else ''}]")
            conv = " + ".join(parts)
        return f"{conv} + {fc}" if fc else conv


def layer_pattern(spec) -> Pattern:
    """Read a spec as the course's layer pattern: a = convs before an activation, b = such
    blocks before a pooling, c = poolings; dropout, batch norm and flatten are not counted."""
    layers = arch.spec_from_dicts(spec) if spec and isinstance(spec[0], dict) else list(spec)
    stages, blocks, run, act = [], [], 0, "act"
    fc = convs = pools = 0
    for layer in layers:
        kind = type(layer).__name__
        if kind == "Conv2d":
            run += 1
            convs += 1
        elif layer.is_activation and run:
            blocks.append(run)
            act, run = kind, 0
        elif kind in ("MaxPool2d", "AvgPool2d"):
            if run:
                blocks.append(run)
                run = 0
            stages.append((blocks, act, True))
            blocks = []
            pools += 1
        elif kind == "Linear":
            fc += 1
    if run:
        blocks.append(run)
    if blocks:
        stages.append((blocks, act, False))
    return Pattern(stages, fc, convs, pools)


# ----- the 3-D reading (seed 000) -----
@dataclass
class Reading:
    first_filters: int | None            # out_channels of the first conv
    first_shape: tuple | None            # its output (C, H, W)
    steps: list                          # per pooling: (name, (C,H,W) before, after, next conv C)
    last_shape: tuple | None             # the last conv/pool volume


def volume_reading(spec, input_shape) -> Reading:
    stages = volume_stages(spec, input_shape)
    layers = arch.spec_from_dicts(spec) if spec and isinstance(spec[0], dict) else list(spec)
    kinds = {row.name: row.type for row in arch.infer(layers, tuple(input_shape))}
    first = next(((n, s) for n, s in stages[1:] if kinds.get(n) == "Conv2d"), None)
    steps = []
    for k, (name, shape) in enumerate(stages[1:], start=1):
        if kinds.get(name) in ("MaxPool2d", "AvgPool2d"):
            nxt = next((s[0] for n, s in stages[k + 1:] if kinds.get(n) == "Conv2d"), None)
            steps.append((name, stages[k - 1][1], shape, nxt))
    return Reading(first[1][0] if first else None, first[1] if first else None, steps,
                   stages[-1][1] if len(stages) > 1 else None)


def ideal_stack(in_channels: int = 3, size: int = 64, filters: int = 16, poolings: int = 4):
    """The course's picture as a real network: a conv with `filters` filters, then per stage
    MaxPool2d(2) and a conv that doubles the channels. Returns the spec and its stages."""
    spec, c = [arch.Conv2d(in_channels, filters, 3, padding=1), arch.ReLU()], filters
    for _ in range(poolings):
        spec += [arch.MaxPool2d(2), arch.Conv2d(c, 2 * c, 3, padding=1), arch.ReLU()]
        c *= 2
    return spec, volume_stages(spec, (in_channels, size, size))


# ----- dataset captions in the UI language -----
def describe_dataset(ds, lang: str) -> str:
    """DataSet.describe() in the UI language (Korean on the Korean pages)."""
    n_tr, n_te = len(ds.train_y), len(ds.test_y)
    source = ds.source
    for prefix, key in (("files in ", "course.src_files"), ("system copy in ", "course.src_system")):
        if source.startswith(prefix):
            source = i18n.t(key, lang, where=source[len(prefix):])
    if source == "torchvision download":
        source = i18n.t("course.src_download", lang)
    kind = i18n.t("common.kind_held_out" if ds.test_kind == "held out" else "common.kind_official",
                  lang)
    key = "course.ds_sample" if ds.test_kind == "held out" else "course.ds_full"
    unit = i18n.t("course.unit_digits" if ds.name == "mnist" else "course.unit_images", lang)
    return i18n.t(key, lang, title=ds.title, source=source, total=f"{n_tr + n_te:,}", unit=unit,
                  train=f"{n_tr:,}", test=f"{n_te:,}", kind=kind)
