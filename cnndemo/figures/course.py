"""Figures for the course items of issue 15: arrays in, plotly figures out."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

WEIGHT_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756")


def weight_sharing_figure(image: np.ndarray, edges: list, output: np.ndarray, labels: dict) -> go.Figure:
    """Nine input nodes (the 3x3 image, row by row), four output nodes, one line per
    connection coloured by the shared weight it uses (w0..w3)."""
    fig = go.Figure()
    in_y = {p: 8 - p for p in range(9)}
    out_y = {o: 6.5 - 2 * o for o in range(4)}
    for k in range(4):
        xs, ys = [], []
        for pixel, out, w in edges:
            if w == k:
                xs += [0, 1, None]
                ys += [in_y[pixel], out_y[out], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"w{k}",
                                 line=dict(color=WEIGHT_COLORS[k], width=2.5), hoverinfo="skip"))
    flat = image.ravel()
    fig.add_trace(go.Scatter(x=[0] * 9, y=[in_y[p] for p in range(9)], mode="markers+text",
                             marker=dict(size=30, color="#eeeeee", line=dict(color="#333", width=1)),
                             text=[f"{v:g}" for v in flat], textfont=dict(size=15, color="#111"),
                             name=labels["input"], showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[1] * 4, y=[out_y[o] for o in range(4)], mode="markers+text",
                             marker=dict(size=46, color="#fff3c4", line=dict(color="#333", width=1)),
                             text=[f"{v:g}" for v in output.ravel()], textfont=dict(size=15, color="#111"),
                             name=labels["output"], showlegend=False, hoverinfo="skip"))
    fig.add_annotation(x=0, y=9.3, text=labels["input"], showarrow=False, font=dict(size=14))
    fig.add_annotation(x=1, y=9.3, text=labels["output"], showarrow=False, font=dict(size=14))
    fig.update_xaxes(visible=False, range=[-0.25, 1.25])
    fig.update_yaxes(visible=False, range=[-0.8, 9.8])
    fig.update_layout(height=430, width=460, margin=dict(l=5, r=5, t=10, b=5), template="plotly_white",
                      legend=dict(orientation="h", y=-0.02, font=dict(size=14)))
    return fig


def poly_figure(x_train, y_train, x_test, y_test, curves: dict, labels: dict) -> go.Figure:
    """Noisy points and one fitted polynomial per degree (curves: name -> (x, y))."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x_test, y=y_test, mode="markers", name=labels["test"],
                             marker=dict(size=5, color="#bbbbbb")))
    fig.add_trace(go.Scatter(x=x_train, y=y_train, mode="markers", name=labels["train"],
                             marker=dict(size=10, color="#222222")))
    for (name, (xs, ys)), color in zip(curves.items(), WEIGHT_COLORS):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(width=3, color=color)))
    lo, hi = float(np.min(y_test)), float(np.max(y_test))
    pad = 0.25 * (hi - lo)
    fig.update_yaxes(range=[lo - pad, hi + pad], title=labels["y"])
    fig.update_xaxes(title=labels["x"])
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      legend=dict(orientation="h", y=1.08))
    return fig


def timeline_figure(events: list) -> go.Figure:
    """(year, title, detail) events on one horizontal line: title above, detail below."""
    years = [e[0] for e in events]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[min(years) - 6, max(years) + 6], y=[0, 0], mode="lines",
                             line=dict(color="#999", width=2), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=years, y=[0] * len(years), mode="markers+text",
                             marker=dict(size=20, color="#4c78a8"),
                             text=[f"<b>{y}  {t}</b>" for y, t, _ in events],
                             textposition="top center", textfont=dict(size=17, color="#222"),
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=years, y=[-0.25] * len(years), mode="text",
                             text=[d for _, _, d in events], textposition="bottom center",
                             textfont=dict(size=14, color="#444"), hoverinfo="skip"))
    fig.update_yaxes(visible=False, range=[-1.0, 0.8])
    fig.update_xaxes(visible=False, range=[min(years) - 20, max(years) + 20])
    fig.update_layout(height=210, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      showlegend=False)
    return fig
