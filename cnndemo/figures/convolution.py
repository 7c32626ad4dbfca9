"""Plotly figures for the convolution and pooling pages: arrays in, figures out.

Grids are drawn for a projector: every cell shows its number in a large font, the
window being computed is outlined in orange, padding cells are grey, and max-pool
winners are outlined in green.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnndemo.figures.spec import figure as _figure
from cnndemo.lessons.convolution import Result, fmt_num

# light diverging scale: black numbers stay readable on every cell
SCALE = [[0.0, "#f08c8c"], [0.5, "#ffffff"], [1.0, "#7fb2ea"]]
WINDOW = "#ff7f0e"
WINNER = "#1a9a3a"
PAD_BG = "#d9d9d9"


def _font(n_cells: int, width_px: int, chars: int = 2) -> int:
    """A font that fits `chars` characters in a cell of a `width_px` wide grid."""
    cell = min(width_px / max(n_cells, 1), 90)
    return int(max(10, min(30, cell * 0.42, cell * 1.55 / max(chars, 1))))


def _chars(values: np.ndarray, fmt: str) -> int:
    return max((len(t) for row in _texts(values, fmt) for t in row), default=1)


def _texts(values: np.ndarray, fmt: str) -> list[list[str]]:
    """Whole numbers print as integers only when the whole grid is whole (0.78 beside 1.00)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size and not np.all(finite == np.round(finite)):
        return [[format(x, fmt) if np.isfinite(x) else fmt_num(x, fmt) for x in row] for row in v]
    return [[fmt_num(x, fmt) for x in row] for row in v]


def _heatmap(values, fmt, pad=0, xaxis="x", yaxis="y", font=16, hover="value") -> dict:
    v = np.asarray(values, dtype=np.float64)
    colour = v.copy()
    if pad:
        colour[:pad, :] = colour[-pad:, :] = colour[:, :pad] = colour[:, -pad:] = np.nan
    finite = colour[np.isfinite(colour)]
    lim = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    return {"type": "heatmap", "z": colour, "text": _texts(v, fmt), "texttemplate": "%{text}",
            "textfont": {"size": font, "color": "#111"}, "colorscale": SCALE,
            "zmin": -lim, "zmax": lim, "showscale": False, "xgap": 2, "ygap": 2,
            "hovertemplate": f"row %{{y}}, col %{{x}}<br>{hover} %{{text}}<extra></extra>",
            "xaxis": xaxis, "yaxis": yaxis}


def _cell_box(r, c, colour, xref="x", yref="y", width=4, fill="rgba(255,127,14,0.18)") -> dict:
    return dict(type="rect", xref=xref, yref=yref, x0=c - 0.5, x1=c + 0.5, y0=r - 0.5,
                y1=r + 0.5, line=dict(color=colour, width=width), fillcolor=fill, layer="above")


def _inner_box(pad, h, w, xref="x", yref="y") -> dict:
    return dict(type="rect", xref=xref, yref=yref, x0=pad - 0.5, x1=pad + w - 0.5,
                y0=pad - 0.5, y1=pad + h - 0.5, line=dict(color="#444", width=2, dash="dash"))


def _axes(layout: dict, shapes_hw, domains=None) -> dict:
    """Square cells, no ticks, row 0 on top; one (rows, cols) per subplot, side by side
    (`domains`: each subplot's x range on the paper, as make_subplots places them)."""
    for i, (h, w) in enumerate(shapes_hw, start=1):
        sfx = "" if i == 1 else str(i)
        x = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="",
                 range=[-0.5, w - 0.5], constrain="domain")
        y = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="",
                 range=[h - 0.5, -0.5], constrain="domain", scaleanchor=f"x{sfx}")
        if domains:
            x.update(anchor=f"y{sfx}", domain=list(domains[i - 1]))
            y.update(anchor=f"x{sfx}", domain=[0.0, 1.0])
        layout[f"xaxis{sfx}"], layout[f"yaxis{sfx}"] = x, y
    layout.update(plot_bgcolor=PAD_BG, paper_bgcolor="white",
                  margin=dict(l=10, r=10, t=60, b=10))
    return layout


def number_grid(values, title: str | None = None, fmt: str = ".2f", highlight=None,
                winners=None, pad: int = 0, width: int = 420) -> go.Figure:
    """An annotated number grid. `highlight`: cells (r, c) of the current window;
    `winners`: cells to outline in green; `pad`: width of the zero-padding border."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[1]
    shapes = [_cell_box(r, c, WINDOW) for r, c in (highlight or [])]
    shapes += [_cell_box(r, c, WINNER, width=5, fill="rgba(26,154,58,0.15)") for r, c in (winners or [])]
    if pad:
        shapes.append(_inner_box(pad, v.shape[0] - 2 * pad, v.shape[1] - 2 * pad))
    cell = min(width / v.shape[1], 90)
    layout = dict(shapes=shapes, title=dict(text=title, font=dict(size=20)),
                  height=int(cell * v.shape[0]) + 75)
    return _figure({"data": [_heatmap(v, fmt, pad, font=_font(n, width, _chars(v, fmt)))],
                    "layout": _axes(layout, [v.shape])})


def side_by_side_domains(widths, spacing: float) -> list[tuple[float, float]]:
    """The x domains make_subplots(1, n, column_widths=widths, horizontal_spacing=spacing)
    gives its subplots."""
    free = 1.0 - spacing * (len(widths) - 1)
    total = float(sum(widths))
    out, x = [], 0.0
    for w in widths:
        out.append((x, x + free * w / total))
        x += free * w / total + spacing
    return out


def _step_shapes(res: Result, k: int) -> list[dict]:
    """Step `k`'s outlines: its window on the padded input, its cell of the output."""
    hp, wp = res.padded[0].shape
    st = res.steps[k]
    s = [_cell_box(r, c, WINDOW) for r, c in st.cells]
    s.append(_cell_box(st.row, st.col, WINDOW, "x2", "y2"))
    if res.padding:
        s.append(_inner_box(res.padding, hp - 2 * res.padding, wp - 2 * res.padding))
    return s


def step_spec(res: Result, fmt: str = ".2f", titles=("input", "output"), animate: bool = False,
              play_label: str = "▶") -> dict:
    """The step figure's spec without the outlines of the step shown, which `step_at` adds:
    the same for every step of one convolution, so a page builds it once per convolution.
    With `animate`, it carries one frame per output cell and a play button; the output fills
    in cell by cell."""
    padded = res.padded[0]
    out = res.output
    hp, wp = padded.shape
    ho, wo = out.shape
    domains = side_by_side_domains([wp / (wp + wo), wo / (wp + wo)], 0.06)
    font = _font(max(hp, wp), 420, max(_chars(padded, fmt), _chars(out, fmt)))
    titles_ann = [dict(font=dict(size=20), showarrow=False, text=t, x=(d0 + d1) / 2,
                       xanchor="center", xref="paper", y=1.0, yanchor="bottom", yref="paper")
                  for t, (d0, d1) in zip(titles, domains)]
    layout = dict(annotations=titles_ann, height=int(min(60, 520 / hp) * hp) + 120)
    _axes(layout, [(hp, wp), (ho, wo)], domains)
    spec = {"data": [_heatmap(padded, fmt, res.padding, "x", "y", font),
                     _heatmap(out, fmt, 0, "x2", "y2", font)], "layout": layout}
    if animate:
        full = _texts(out, fmt)
        spec["frames"] = [
            {"name": str(k), "traces": [1], "layout": {"shapes": _step_shapes(res, k)},
             "data": [{"type": "heatmap", "text": [[full[r][c] if r * wo + c <= k else ""
                                                    for c in range(wo)] for r in range(ho)]}]}
            for k in range(len(res.steps))]
        layout["updatemenus"] = [dict(
            type="buttons", showactive=False, x=0, y=-0.02, xanchor="left", yanchor="top",
            font=dict(size=18),
            buttons=[dict(label=play_label, method="animate",
                          args=[None, dict(frame=dict(duration=700, redraw=True),
                                           transition=dict(duration=0), fromcurrent=False)])])]
        layout["margin"] = dict(layout["margin"], b=60)
    return spec


def step_at(spec: dict, res: Result, step_index: int) -> dict:
    """`spec` (from `step_spec` of `res`) at one step; `spec` itself is left as it was."""
    layout = {**spec["layout"], "shapes": _step_shapes(res, step_index)}
    return {**spec, "layout": layout}


def step_figure(res: Result, step_index: int, fmt: str = ".2f", titles=("input", "output"),
                animate: bool = False, play_label: str = "▶") -> go.Figure:
    """Padded input (left, window outlined) beside the output (right, current cell
    outlined); `step_spec` says what `animate` adds."""
    return _figure(step_at(step_spec(res, fmt, titles, animate, play_label), res, step_index))


def maps_row(maps: dict[str, np.ndarray], cols: int = 4, height_per_row: int = 230,
             colorscale: str = "gray", zmid: float | None = None) -> go.Figure:
    """Small heatmaps with titles (filter outputs, learned kernels, feature maps)."""
    names = list(maps)
    rows = (len(names) + cols - 1) // cols
    fig = make_subplots(rows, cols, subplot_titles=names, horizontal_spacing=0.02,
                        vertical_spacing=0.12 / max(rows, 1))
    for i, name in enumerate(names):
        m = np.asarray(maps[name], dtype=np.float64)
        fig.add_trace(go.Heatmap(z=m, colorscale=colorscale, showscale=False, zmid=zmid,
                                 hovertemplate="%{z:.2f}<extra>" + name + "</extra>"),
                      i // cols + 1, i % cols + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     scaleratio=1)
    for i in range(1, rows * cols + 1):
        fig.layout[f"yaxis{'' if i == 1 else i}"].scaleanchor = f"x{'' if i == 1 else i}"
    for ann in fig.layout.annotations:
        ann.font.size = 17
    fig.update_layout(height=rows * height_per_row + 40, margin=dict(l=5, r=5, t=40, b=5),
                      paper_bgcolor="white", plot_bgcolor="white")
    return fig


def _box(x0, dx, dy, dz, colour, name, hover) -> dict:
    x = [x0, x0 + dx, x0 + dx, x0, x0, x0 + dx, x0 + dx, x0]
    y = [-dy / 2, -dy / 2, dy / 2, dy / 2, -dy / 2, -dy / 2, dy / 2, dy / 2]
    z = [-dz / 2] * 4 + [dz / 2] * 4
    i = [7, 0, 0, 0, 4, 4, 6, 6, 4, 0, 3, 2]
    j = [3, 4, 1, 2, 5, 6, 5, 2, 0, 1, 6, 3]
    k = [0, 7, 2, 3, 6, 7, 1, 1, 5, 5, 7, 6]
    return dict(type="mesh3d", x=x, y=y, z=z, i=i, j=j, k=k, color=colour, opacity=0.55,
                flatshading=True, name=name, hovertext=hover, hoverinfo="text", showlegend=False)


def volume_boxes(stages: list[tuple[str, tuple[int, int, int]]], depth_scale: float = 0.25,
                 gap: float = 14.0) -> go.Figure:
    """Feature-map volumes [C, H, W] as boxes to scale: x = channels (times depth_scale),
    y = width, z = height. Hover shows the shape."""
    palette = ["#9e9e9e", "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2",
               "#eeca3b"]
    data = []
    x0 = 0.0
    for n, (label, (c, h, w)) in enumerate(stages):
        dx = max(c * depth_scale, 0.6)
        hover = f"{label}<br>{c} × {h} × {w}  (C × H × W)"
        data.append(_box(x0, dx, w, h, palette[n % len(palette)], label, hover))
        data.append(dict(type="scatter3d", x=[x0 + dx / 2], y=[0], z=[h / 2 + 3], mode="text",
                         text=[f"{c}×{h}×{w}"], textfont=dict(size=15), hoverinfo="skip",
                         showlegend=False))
        x0 += dx + gap
    layout = dict(
        height=480, margin=dict(l=0, r=0, t=10, b=0),
        scene=dict(aspectmode="data", xaxis=dict(visible=False), yaxis=dict(visible=False),
                   zaxis=dict(visible=False),
                   camera=dict(eye=dict(x=-0.9, y=-1.9, z=1.0))))
    return _figure({"data": data, "layout": layout})
