"""Shared plotly figure builders: arrays in, figures out (no streamlit here)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

FONT = dict(size=15)


def heatmap_grid(maps: np.ndarray, titles=None, cols: int = 8, colorscale: str = "gray",
                 cell_px: int = 110) -> go.Figure:
    """One small heatmap per channel of a [C, H, W] array, each on its own colour range."""
    maps = np.asarray(maps, dtype=float)
    if maps.ndim == 2:
        maps = maps[None]
    c = maps.shape[0]
    cols = max(1, min(cols, c))
    rows = math.ceil(c / cols)
    titles = list(titles) if titles is not None else [str(i) for i in range(c)]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles[:c],
                        horizontal_spacing=0.01, vertical_spacing=0.06 / max(rows, 1) + 0.02)
    for i in range(c):
        fig.add_trace(go.Heatmap(z=maps[i][::-1], colorscale=colorscale, showscale=False,
                                 hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False, scaleanchor=None)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=max(160, rows * cell_px + 40), margin=dict(l=5, r=5, t=30, b=5))
    return fig


def grid_figure(values, highlight=None, fmt: str = ".2f", title: str | None = None,
                colorscale: str = "Blues", cell_px: int = 46) -> go.Figure:
    """An annotated grid of numbers; cells in `highlight` [(row, col), ...] get a red frame."""
    z = np.asarray(values, dtype=float)
    if z.ndim == 1:
        z = z[None]
    h, w = z.shape
    text = [[format(v, fmt) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}", colorscale=colorscale,
                               showscale=False, textfont=dict(size=14),
                               hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>"))
    for r, c in highlight or []:
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color="crimson", width=3))
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                     scaleanchor="y", constrain="domain")
    fig.update_layout(title=title, font=FONT, height=min(700, 60 + cell_px * h + (30 if title else 0)),
                      width=None, margin=dict(l=5, r=5, t=40 if title else 5, b=5))
    return fig
