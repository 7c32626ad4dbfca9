"""Plotly figures for the loss lab: arrays in, figures out (no streamlit, no computing)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

COLORS = {"ce": "#d62728", "mse": "#1f77b4", "l1": "#2ca02c", "p": "#636efa", "q": "#ef553b"}
_FONT = dict(size=15)


def _layout(fig: go.Figure, title: str | None, height: int, **kw) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50 if title else 40,
                      b=45), font=_FONT, plot_bgcolor="white", **kw)
    fig.update_xaxes(showgrid=True, gridcolor="#eee", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#eee", zeroline=True, zerolinecolor="#bbb")
    return fig


def prob_bars(probs, labels, highlight: int | None = None, title: str | None = None,
              height: int = 300) -> go.Figure:
    """Bar chart of a probability vector; the `highlight` bar (the true class) in red."""
    probs = np.asarray(probs, dtype=float)
    colors = [COLORS["q"] if i == highlight else COLORS["p"] for i in range(probs.size)]
    fig = go.Figure(go.Bar(x=[str(c) for c in labels], y=probs, marker_color=colors,
                           text=[f"{v:.3f}" for v in probs], textposition="outside",
                           cliponaxis=False))
    fig.update_yaxes(range=[0, 1.12])
    fig.update_xaxes(type="category")
    return _layout(fig, title, height, showlegend=False)


def dist_pair_bars(p, q, labels, names=("p", "q"), height: int = 300) -> go.Figure:
    """Two distributions side by side, class by class."""
    fig = go.Figure()
    for vals, name, color in ((p, names[0], COLORS["p"]), (q, names[1], COLORS["q"])):
        vals = np.asarray(vals, dtype=float)
        fig.add_bar(x=[str(c) for c in labels], y=vals, name=name, marker_color=color,
                    text=[f"{v:.3f}" for v in vals], textposition="outside", cliponaxis=False)
    fig.update_yaxes(range=[0, min(1.15, float(max(np.max(p), np.max(q))) * 1.25 + 0.02)])
    fig.update_xaxes(type="category")
    return _layout(fig, None, height, barmode="group",
                   legend=dict(orientation="h", y=1.12, x=0))


def _finite(y):
    y = np.asarray(y, dtype=float)
    return np.where(np.isfinite(y), y, np.nan)


def curves_with_point(x, curves: dict, names: dict, point_x: float | None, point_y: dict | None,
                      x_title: str, y_title: str, title: str | None = None,
                      y_range=None, height: int = 380) -> go.Figure:
    """Several curves over the same x (one per loss), the current point marked on each.
    Infinite values (CE at q = 0) are left as gaps instead of breaking the axis."""
    fig = go.Figure()
    for key, y in curves.items():
        fig.add_scatter(x=x, y=_finite(y), mode="lines", name=names[key],
                        line=dict(color=COLORS[key], width=3))
        if point_x is not None and point_y is not None and math.isfinite(point_y[key]):
            fig.add_scatter(x=[point_x], y=[point_y[key]], mode="markers", showlegend=False,
                            marker=dict(color=COLORS[key], size=14, line=dict(color="black",
                                        width=1.5)), hovertemplate=f"{names[key]}: %{{y:.4f}}")
    if point_x is not None:
        fig.add_vline(x=point_x, line=dict(color="#888", dash="dot"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, range=y_range)
    return _layout(fig, title, height, legend=dict(orientation="h", y=1.02, x=0,
                                                   yanchor="bottom"))
