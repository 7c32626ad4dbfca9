"""Figures for the Draw page: arrays in, figures (or image arrays) out.

Feature maps are drawn as ONE heatmap trace holding all channels side by side
(a montage with transparent gaps), not one subplot per channel: 64 subplots take
plotly a long time to build, a single trace is instant. Each channel is scaled
to its own range, as the hover shows the real value.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
from torchvision.utils import make_grid

ACCENT = "#e4572e"
MUTED = "#8aa1b1"


def montage(maps: np.ndarray, cols: int = 8, pad: int = 1, symmetric: bool = False):
    """Tile [C, H, W] into one 2-D array; NaN in the gaps.

    Returns (display, raw, channel): `display` has each channel scaled to [0, 1]
    (to [-1, 1] around zero when `symmetric`, for kernels), `raw` the real values,
    `channel` the channel index of every cell (-1 in gaps).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    c, h, w = maps.shape
    cols = max(1, min(cols, c))
    rows = math.ceil(c / cols)
    shape = (rows * (h + pad) - pad, cols * (w + pad) - pad)
    display = np.full(shape, np.nan, np.float32)
    raw = np.full(shape, np.nan, np.float32)
    channel = np.full(shape, -1, np.int32)
    for i in range(c):
        m = maps[i]
        if symmetric:
            scale = float(np.abs(m).max()) or 1.0
            shown = m / scale
        else:
            lo, hi = float(m.min()), float(m.max())
            shown = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        r, k = divmod(i, cols)
        y, x = r * (h + pad), k * (w + pad)
        display[y : y + h, x : x + w] = shown
        raw[y : y + h, x : x + w] = m
        channel[y : y + h, x : x + w] = i
    return display, raw, channel


def maps_figure(maps: np.ndarray, cols: int = 8, symmetric: bool = False, width_px: int = 480) -> go.Figure:
    """All channels of a [C, H, W] activation (or kernel set) as one figure, channel numbers on top.

    `width_px` is the width the figure is expected to get; the height follows from it so
    that square pixels fill the space without a blank band above or below.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    c, h, w = maps.shape
    pad = max(2, h // 4) if h >= 7 else 1  # room for the channel numbers between rows
    display, raw, channel = montage(maps, cols, pad, symmetric)
    ncols = max(1, min(cols, c))
    custom = np.stack([channel.astype(np.float32), raw], axis=-1)
    # Annotations passed all at once: adding them one by one re-validates the layout each time.
    labels = [
        dict(x=(i % ncols) * (w + pad) + (w - 1) / 2, y=(i // ncols) * (h + pad) - 0.5, text=str(i),
             showarrow=False, yanchor="bottom", font=dict(size=10, color="#666"))
        for i in range(c)
    ] if h >= 7 else []  # no room for numbers above tiny tiles (3x3 kernels); hover has them
    fig = go.Figure(
        go.Heatmap(
            z=display,
            customdata=custom,
            colorscale="RdBu_r" if symmetric else "gray",
            zmin=-1 if symmetric else 0,
            zmax=1,
            showscale=False,
            hoverongaps=False,
            hovertemplate="channel %{customdata[0]:.0f}<br>value %{customdata[1]:.3f}<extra></extra>",
        ),
        layout=dict(annotations=labels),
    )
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_layout(
        height=int(min(1200, max(80, width_px * display.shape[0] / display.shape[1] + (18 if labels else 0)))),
        margin=dict(l=0, r=0, t=18 if labels else 0, b=0),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def vector_figure(values: np.ndarray, title: str = "") -> go.Figure:
    """A flat (1-D) layer output: bars when short, a one-row strip when long."""
    v = np.asarray(values, dtype=np.float32).ravel()
    if v.size <= 128:
        fig = go.Figure(go.Bar(x=list(range(v.size)), y=v, marker_color=MUTED))
        fig.update_xaxes(title=title)
    else:
        cols = 128
        rows = math.ceil(v.size / cols)
        z = np.full(rows * cols, np.nan, np.float32)
        z[: v.size] = v
        fig = go.Figure(go.Heatmap(z=z.reshape(rows, cols), colorscale="gray", showscale=False,
                                   hoverongaps=False, hovertemplate="%{z:.3f}<extra></extra>"))
        fig.update_yaxes(autorange="reversed", visible=False)
        fig.update_xaxes(visible=False)
    fig.update_layout(height=220, margin=dict(l=0, r=0, t=10, b=0))
    return fig


def probs_figure(probs: np.ndarray, classes: list[str], top: int, axis_title: str = "") -> go.Figure:
    """Softmax probabilities of every class; the predicted one stands out."""
    p = np.asarray(probs, dtype=float)
    colors = [ACCENT if i == top else MUTED for i in range(p.size)]
    fig = go.Figure(
        go.Bar(
            x=[str(c) for c in classes], y=p, marker_color=colors,
            text=[f"{v:.0%}" if v >= 0.01 else "" for v in p], textposition="outside",
            textfont=dict(size=13), cliponaxis=False,
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title=axis_title)
    fig.update_xaxes(type="category")
    fig.update_layout(height=260, margin=dict(l=0, r=0, t=10, b=0), font=dict(size=14))
    return fig


def upscale(image: np.ndarray, factor: int = 10) -> np.ndarray:
    """A [H, W] image in [0, 1] as uint8, each pixel a factor x factor block (crisp, no blur)."""
    img = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    small = (img * 255).round().astype(np.uint8)
    return np.repeat(np.repeat(small, factor, axis=0), factor, axis=1)


def montage_image(maps: np.ndarray, cols: int = 8, target_px: int = 240) -> np.ndarray:
    """A [C, H, W] activation as one crisp uint8 picture (channels side by side, each scaled
    to its own range, grey between them)."""
    maps = torch.as_tensor(np.asarray(maps, dtype=np.float32))
    if maps.ndim == 2:
        maps = maps[None]
    grey = make_grid(maps[:, None], nrow=max(1, min(cols, len(maps))), padding=max(1, maps.shape[-2] // 7),
                     normalize=True, scale_each=True, pad_value=0.35)[0].numpy()
    factor = max(1, round(target_px / max(grey.shape)))
    return upscale(grey, factor)
