"""Plotly figures for the loss lab: arrays in, figures out (no streamlit, no computing)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from cnndemo.figures.spec import figure

COLORS = {"ce": "#d62728", "mse": "#1f77b4", "l1": "#2ca02c", "p": "#636efa", "q": "#ef553b"}
_FONT = dict(size=15)


def _axis(**kw) -> dict:
    return {"showgrid": True, "gridcolor": "#eee", **{k: v for k, v in kw.items() if v is not None}}


def _spec(data: list, title: str | None, height: int, xaxis: dict, yaxis: dict, **kw) -> go.Figure:
    """The common look of the lab's charts. A plain spec (`cnndemo.figures.spec`): these
    change with every slider move, and plotly's graph objects made a bar chart 15 ms."""
    layout = {"height": height, "margin": {"l": 50, "r": 20, "t": 50 if title else 40, "b": 45},
              "font": _FONT, "plot_bgcolor": "white",
              "xaxis": _axis(zeroline=False, **xaxis),
              "yaxis": _axis(zeroline=True, zerolinecolor="#bbb", **yaxis), **kw}
    if title is not None:
        layout["title"] = {"text": title}
    return figure({"data": data, "layout": layout})


def _bars(vals, labels, **kw) -> dict:
    vals = np.asarray(vals, dtype=float)
    return {"type": "bar", "x": [str(c) for c in labels], "y": vals,
            "text": [f"{v:.3f}" for v in vals], "textposition": "outside", "cliponaxis": False,
            **kw}


def prob_bars(probs, labels, highlight: int | None = None, title: str | None = None,
              height: int = 300) -> go.Figure:
    """Bar chart of a probability vector; the `highlight` bar (the true class) in red."""
    probs = np.asarray(probs, dtype=float)
    colors = [COLORS["q"] if i == highlight else COLORS["p"] for i in range(probs.size)]
    return _spec([_bars(probs, labels, marker={"color": colors})], title, height,
                 {"type": "category"}, {"range": [0, 1.12]}, showlegend=False)


def dist_pair_bars(p, q, labels, names=("p", "q"), height: int = 300) -> go.Figure:
    """Two distributions side by side, class by class."""
    data = [_bars(vals, labels, name=name, marker={"color": color})
            for vals, name, color in ((p, names[0], COLORS["p"]), (q, names[1], COLORS["q"]))]
    top = min(1.15, float(max(np.max(p), np.max(q))) * 1.25 + 0.02)
    return _spec(data, None, height, {"type": "category"}, {"range": [0, top]}, barmode="group",
                 legend={"orientation": "h", "y": 1.12, "x": 0})


def _finite(y):
    y = np.asarray(y, dtype=float)
    return np.where(np.isfinite(y), y, np.nan)


def curves_with_point(x, curves: dict, names: dict, point_x: float | None, point_y: dict | None,
                      x_title: str, y_title: str, title: str | None = None,
                      y_range=None, height: int = 380) -> go.Figure:
    """Several curves over the same x (one per loss), the current point marked on each.
    Infinite values (CE at q = 0) are left as gaps instead of breaking the axis."""
    x = np.asarray(x, dtype=float)
    data = []
    for key, y in curves.items():
        data.append({"type": "scatter", "x": x, "y": _finite(y), "mode": "lines",
                     "name": names[key], "line": {"color": COLORS[key], "width": 3}})
        if point_x is not None and point_y is not None and math.isfinite(point_y[key]):
            data.append({"type": "scatter", "x": [point_x], "y": [point_y[key]], "mode": "markers",
                         "showlegend": False, "hovertemplate": f"{names[key]}: %{{y:.4f}}",
                         "marker": {"color": COLORS[key], "size": 14,
                                    "line": {"color": "black", "width": 1.5}}})
    extra = {}
    if point_x is not None:
        extra["shapes"] = [{"type": "line", "x0": point_x, "x1": point_x, "xref": "x", "y0": 0,
                            "y1": 1, "yref": "y domain", "line": {"color": "#888", "dash": "dot"}}]
    yaxis = {"title": {"text": y_title}, "range": list(y_range) if y_range is not None else None}
    return _spec(data, title, height, {"title": {"text": x_title}}, yaxis,
                 legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"}, **extra)
