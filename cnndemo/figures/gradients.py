"""Plotly figures (and one Graphviz graph) for the gradients lab: arrays in, figures out.

Text shown inside a figure comes in through ``labels`` so the page can translate it.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
_PLAY = dict(type="buttons", showactive=False, direction="left", x=0.0, y=-0.08,
             xanchor="left", yanchor="top", pad=dict(r=8, t=0),
             buttons=[dict(label="▶", method="animate",
                           args=[None, dict(frame=dict(duration=60, redraw=True),
                                            fromcurrent=False, transition=dict(duration=0))]),
                      dict(label="❚❚", method="animate",
                           args=[[None], dict(frame=dict(duration=0, redraw=False),
                                              mode="immediate")])])

# what each backward node of the course example computes in the forward pass
_OPS = {"PowBackward0": "x ** 2", "AddBackward0": "y = x**2 + 5", "MulBackward0": "z = 3 * y",
        "SubBackward0": "z - target", "AbsBackward0": "|z - target|",
        "SumBackward0": "loss = sum(...)"}


def autograd_dot(edges, values: dict[str, str] | None = None) -> str:
    """A Graphviz DOT string of the backward graph, loss at the top, x at the bottom."""
    values = values or {}
    nodes = []
    for a, b in edges:
        for n in (a, b):
            if n not in nodes:
                nodes.append(n)
    lines = ["digraph G {", "rankdir=BT; ranksep=0.25;", 'node [shape=box, style="rounded,filled", '
             'fontname="Helvetica", fillcolor="#eef4fb"];']
    for n in nodes:
        label = n + (f"\\n{_OPS[n]}" if n in _OPS else "") + \
            (f"\\n{values[n]}" if n in values else "")
        color = ', fillcolor="#d8f0d8"' if n.startswith("x ") else ""
        lines.append(f'"{n}" [label="{label}"{color}];')
    for a, b in edges:  # draw forward direction: input -> op -> loss
        lines.append(f'"{b}" -> "{a}";')
    lines.append("}")
    return "\n".join(lines)


def _frame_steps(n: int, most: int = 60) -> list[int]:
    return sorted(set(np.linspace(0, n - 1, min(n, most)).round().astype(int).tolist()))


def regression_animation(x, y, ws, bs, grid, labels: dict) -> go.Figure:
    """Left: the data and the line at step k. Right: loss contour over (w, b) with the path."""
    x, y = np.asarray(x).ravel(), np.asarray(y).ravel()
    ws, bs = np.asarray(ws), np.asarray(bs)
    gw, gb, gz = grid
    lo, hi = float(x.min()), float(x.max())
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45],
                        subplot_titles=(labels["data"], labels["surface"]))
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=labels["points"],
                             marker=dict(size=4, color="#9bb7d4")), 1, 1)
    fig.add_trace(go.Contour(x=gw, y=gb, z=np.log10(gz + 1e-9), colorscale="Viridis",
                             showscale=False, contours=dict(coloring="heatmap"),
                             name="log10 MSE", hovertemplate="w=%{x:.2f}<br>b=%{y:.2f}"
                             "<extra>log10 loss %{z:.2f}</extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=[5], y=[2], mode="markers", name=labels["truth"],
                             marker=dict(symbol="star", size=14, color="white",
                                         line=dict(color="black", width=1))), 1, 2)

    def moving(k):
        line = dict(type="scatter", x=[lo, hi], y=[float(ws[k] * lo + bs[k]), float(ws[k] * hi + bs[k])],
                    mode="lines", name=labels["line"], line=dict(color="#d62728", width=3))
        path = dict(type="scatter", x=ws[:k + 1], y=bs[:k + 1], mode="lines+markers",
                    name=labels["path"], line=dict(color="#ff7f0e"), marker=dict(size=4))
        return [line, path]

    steps = _frame_steps(len(ws))
    last = steps[-1]
    for tr, col in zip(moving(last), (1, 2)):
        fig.add_trace(go.Scatter(tr), 1, col)

    def title(k):
        return labels["title"].format(step=k, w=ws[k], b=bs[k])

    # up to 60 frames of two traces each: validating them property by property was most of
    # the cost of this figure (200 ms); they are plain specs of this function's own, the
    # tests check them against plotly's validated frames
    fig._frame_objs = tuple(go.Frame(dict(data=moving(k), traces=[3, 4], name=str(k),
                                          layout=dict(title=dict(text=title(k)))), _validate=False)
                            for k in steps)
    fig.update_layout(
        title_text=title(last), height=460, margin=dict(t=80, b=90, l=40, r=20),
        legend=dict(x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.7)"), updatemenus=[_PLAY],
        sliders=[dict(active=len(steps) - 1, x=0.15, len=0.85, y=-0.05,
                      currentvalue=dict(prefix=labels["step"] + " "),
                      steps=[dict(label=str(k), method="animate",
                                  args=[[str(k)], dict(mode="immediate",
                                                       frame=dict(duration=0, redraw=True))])
                             for k in steps])])
    ylo, yhi = float(y.min()), float(y.max())
    fig.update_yaxes(range=[ylo - 5, yhi + 5], row=1, col=1)
    fig.update_xaxes(title_text="x", row=1, col=1)
    fig.update_xaxes(title_text="w", range=[float(gw[0]), float(gw[-1])], row=1, col=2)
    fig.update_yaxes(title_text="b", range=[float(gb[0]), float(gb[-1])], row=1, col=2)
    return fig


def loss_curve(series: dict[str, list[float]], labels: dict, log: bool = True) -> go.Figure:
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(y=values, mode="lines", name=name,
                                 line=dict(color=COLORS[i % len(COLORS)])))
    fig.update_layout(title_text=labels["title"], height=300, margin=dict(t=50, b=40),
                      xaxis_title=labels["x"], yaxis_title=labels["y"])
    if log:
        fig.update_yaxes(type="log")
    return fig


def perceptron_animation(axis, grids, steps, x, targets, labels: dict) -> go.Figure:
    """The network's output over the input square, its 0-level (decision boundary) moving."""
    x, t = np.asarray(x), np.asarray(targets)

    def field(k):
        return go.Contour(x=axis, y=axis, z=grids[k], zmin=-1, zmax=1, colorscale="RdBu",
                          contours=dict(start=-1, end=1, size=0.25), line=dict(width=0.5),
                          colorbar=dict(title=labels["output"], len=0.8))

    def boundary(k):
        return go.Contour(x=axis, y=axis, z=grids[k], showscale=False, name=labels["boundary"],
                          contours=dict(start=0, end=0, size=1, coloring="lines"),
                          line=dict(width=4, color="black"), colorscale=[[0, "black"],
                                                                         [1, "black"]])

    last = len(grids) - 1
    fig = go.Figure([field(last), boundary(last)])
    for sign, sym, name in ((1, "circle", labels["plus"]), (-1, "x", labels["minus"])):
        sel = t == sign
        fig.add_trace(go.Scatter(x=x[sel, 0], y=x[sel, 1], mode="markers", name=name,
                                 marker=dict(size=18, symbol=sym, color="white",
                                             line=dict(width=2, color="black"))))
    fig.frames = [go.Frame(data=[field(k), boundary(k)], traces=[0, 1], name=str(s),
                           layout=dict(title_text=labels["title"].format(step=s)))
                  for k, s in enumerate(steps)]
    fig.update_layout(
        title_text=labels["title"].format(step=steps[last]), height=560,
        margin=dict(t=70, b=120), xaxis_title="x1", yaxis_title="x2",
        updatemenus=[dict(_PLAY, y=-0.16)],
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
        sliders=[dict(active=last, x=0.22, len=0.78, y=-0.14,
                      currentvalue=dict(prefix=labels["step"] + " "),
                      steps=[dict(label=str(s), method="animate",
                                  args=[[str(s)], dict(mode="immediate",
                                                       frame=dict(duration=0, redraw=True))])
                             for s in steps])])
    fig.update_xaxes(range=[float(axis[0]), float(axis[-1])], constrain="domain")
    fig.update_yaxes(range=[float(axis[0]), float(axis[-1])], scaleanchor="x", scaleratio=1)
    return fig


def activations_figure(curves: dict, names, labels: dict) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=(labels["f"], labels["df"]))
    for i, name in enumerate(names):
        y, dy = curves[name]
        color = COLORS[i % len(COLORS)]
        shown = labels.get(name, name)
        fig.add_trace(go.Scatter(x=curves["x"], y=y, name=shown, legendgroup=name,
                                 line=dict(color=color, width=3)), 1, 1)
        fig.add_trace(go.Scatter(x=curves["x"], y=dy, name=shown, legendgroup=name,
                                 showlegend=False, line=dict(color=color, width=3)), 1, 2)
    fig.update_layout(height=380, margin=dict(t=50, b=40))
    fig.update_yaxes(range=[-1.5, 3], row=1, col=1)
    fig.update_yaxes(range=[-0.1, 1.2], row=1, col=2)
    return fig


def grad_norm_bars(norms: list[float], labels: dict, compare: list[float] | None = None,
                   compare_name: str = "") -> go.Figure:
    """Weight-gradient norm per layer on a log scale, first layer on the left."""
    names = [labels["layer"].format(i=i + 1) for i in range(len(norms))]
    fig = go.Figure(go.Bar(x=names, y=norms, name=labels["measured"], marker_color="#1f77b4",
                           text=[f"{v:.1e}" for v in norms], textposition="outside"))
    if compare is not None:
        fig.add_trace(go.Bar(x=names, y=compare, name=compare_name, marker_color="#ff7f0e",
                             opacity=0.7))
    fig.update_layout(title_text=labels["title"], height=400, margin=dict(t=60, b=40),
                      yaxis_title=labels["y"], barmode="group",
                      legend=dict(orientation="h", y=1.1, x=1, xanchor="right"))
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def optimizer_race(grid, paths: dict, minimum, labels: dict, names: dict) -> go.Figure:
    """Contours of the surface with every optimizer's path from the same start."""
    xs, ys, z = grid
    fig = go.Figure(go.Contour(x=xs, y=ys, z=z, colorscale="Greys", showscale=False,
                               ncontours=30, opacity=0.55, hoverinfo="skip",
                               contours=dict(coloring="fill")))
    for i, (key, p) in enumerate(paths.items()):
        pts = p.path
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers",
                                 name=names.get(key, key), marker=dict(size=3),
                                 line=dict(color=COLORS[i % len(COLORS)], width=2.5)))
    if len(paths):
        start = next(iter(paths.values())).path[0]
        fig.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name=labels["start"],
                                 marker=dict(size=14, color="black", symbol="circle-open",
                                             line=dict(width=3))))
    fig.add_trace(go.Scatter(x=[minimum[0]], y=[minimum[1]], mode="markers", name=labels["min"],
                             marker=dict(size=16, symbol="star", color="gold",
                                         line=dict(width=1, color="black"))))
    fig.update_layout(height=520, margin=dict(t=40, b=40), title_text=labels["title"],
                      xaxis=dict(range=[float(xs[0]), float(xs[-1])], title="x"),
                      yaxis=dict(range=[float(ys[0]), float(ys[-1])], title="y"))
    return fig


def weight_trace(series: dict[str, list[float]], labels: dict) -> go.Figure:
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(y=values, mode="lines", name=name,
                                 line=dict(color=COLORS[i % len(COLORS)], width=3)))
    fig.update_layout(title_text=labels["title"], height=300, margin=dict(t=50, b=40),
                      xaxis_title=labels["x"], yaxis_title=labels["y"])
    return fig
