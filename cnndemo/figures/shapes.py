"""The course's "3-D understanding of the model": every volume of a network drawn as a
box (height x width x channels), log-scaled so that 28x28x1 and 3x3x64 are both
readable; flattened vectors and linear layers are drawn as bars."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from cnndemo.core import arch

COLORS = {"input": "#9aa5b1", "Conv2d": "#4c78a8", "MaxPool2d": "#f58518",
          "AvgPool2d": "#e45756", "Flatten": "#54a24b", "Linear": "#72b7b2"}
SHOWN = ("Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Linear")
GAP = 2.0
MIN_SLOT = 4.5
ZOOM = 3.8  # the longest side in plotly aspect units; the orthographic view scales with it


def scale(n: int) -> float:
    """Drawn length of a side with n units: log-scaled, 1 unit still visible."""
    return 1.0 + 1.6 * math.log2(max(n, 1))


class Volume(NamedTuple):
    """What the figure needs of a layer's row: its type, name and output shape."""

    type: str
    name: str
    output_shape: tuple


def layer_volumes(rows) -> tuple[Volume, ...]:
    """The rows as the figure reads them, batch size 1: the same network drawn for any batch,
    so one figure serves every batch size (and is a small cache key)."""
    return tuple(Volume(r.type, r.name, (1, *r.output_shape[1:])) for r in rows)


def volumes(rows, input_shape) -> list[tuple[str, str, str, tuple]]:
    """(kind, short name, layer, shape without batch) for the input and every
    shape-changing layer; short names count like the generated code (conv1, pool2, fc1)."""
    out = [("input", "input", "input", tuple(input_shape))]
    seen: dict[str, int] = {}
    for r in rows:
        if r.type in SHOWN:
            base = arch.LAYER_TYPES[r.type].short
            seen[base] = seen.get(base, 0) + 1
            short = base if base == "flatten" else f"{base}{seen[base]}"
            out.append((r.type, short, r.name, tuple(r.output_shape[1:])))
    return out


def dims_text(shape: tuple) -> str:
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}×{w}×{c}"
    return "×".join(str(s) for s in shape)


def _box(x0, dx, dy, dz):
    """Vertices and triangles of a box standing on z=0, centred on y=0."""
    xs = [x0, x0 + dx]
    ys = [-dy / 2, dy / 2]
    zs = [0, dz]
    verts = [(x, y, z) for z in zs for y in ys for x in xs]
    faces = [(0, 1, 3), (0, 3, 2), (4, 5, 7), (4, 7, 6), (0, 1, 5), (0, 5, 4),
             (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 3, 7), (1, 7, 5)]
    return verts, faces


def _edges(verts):
    order = [0, 1, 3, 2, 0, 4, 5, 7, 6, 4, None, 1, 5, None, 3, 7, None, 2, 6]
    pts = [verts[i] if i is not None else (None, None, None) for i in order]
    return [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]


def volumes_figure(rows, input_shape, height: int = 400) -> go.Figure:
    """Boxes along the x axis in network order, each labelled with its dimensions.
    All boxes go into one mesh and one line trace, which keeps the figure fast to build."""
    vx, vy, vz, fi, fj, fk, face_colors, hover = [], [], [], [], [], [], [], []
    ex, ey, ez = [], [], []
    label_x, label_z, labels, names = [], [], [], []
    x = 0.0
    for kind, short, name, shape in volumes(rows, input_shape):
        if len(shape) == 3:
            c, h, w = shape
            dx, dy, dz = scale(c), scale(w), scale(h)
        else:
            dx, dy, dz = 1.2, 1.2, scale(math.prod(shape))
        slot = max(dx, MIN_SLOT)  # room for the labels of thin boxes and bars
        verts, faces = _box(x + (slot - dx) / 2, dx, dy, dz)
        base = len(vx)
        vx += [v[0] for v in verts]
        vy += [v[1] for v in verts]
        vz += [v[2] for v in verts]
        hover += [f"{name}<br>{dims_text(shape)}"] * len(verts)
        fi += [base + f[0] for f in faces]
        fj += [base + f[1] for f in faces]
        fk += [base + f[2] for f in faces]
        face_colors += [COLORS.get(kind, "#999999")] * len(faces)
        lx, ly, lz = _edges(verts)
        ex += lx + [None]
        ey += ly + [None]
        ez += lz + [None]
        label_x.append(x + slot / 2)
        label_z.append(dz)
        labels.append(dims_text(shape))
        names.append(short)
        x += slot + GAP
    front = max(vy) if vy else 0.0
    data = [
        # numpy arrays: plotly checks them at once instead of element by element
        dict(type="mesh3d", x=np.array(vx), y=np.array(vy), z=np.array(vz), i=np.array(fi),
             j=np.array(fj), k=np.array(fk), facecolor=np.array(face_colors),
             opacity=0.6, flatshading=True, hovertext=np.array(hover), hoverinfo="text",
             showlegend=False),
        dict(type="scatter3d", x=np.array(ex, dtype=float), y=np.array(ey, dtype=float),
             z=np.array(ez, dtype=float), mode="lines", hoverinfo="skip", showlegend=False,
             line={"color": "#333333", "width": 2}),
        dict(type="scatter3d", x=label_x, y=[0] * len(labels), z=[z + 1.2 for z in label_z],
             mode="text", text=labels, hoverinfo="skip", showlegend=False,
             textfont={"size": 13, "color": "#111111"}),
        dict(type="scatter3d", x=label_x, y=[-front - 1.0] * len(names), z=[-2.5] * len(names),
             mode="text", text=names, hoverinfo="skip", showlegend=False,
             textfont={"size": 12, "color": "#444444"}),
    ]
    spans = [max(x - GAP, 1.0), 2 * front + 2.0, max(label_z, default=1.0) + 5.0]
    ratio = dict(zip("xyz", (ZOOM * v / max(spans) for v in spans)))
    hidden = {"visible": False, "showgrid": False, "zeroline": False, "showticklabels": False}
    layout = dict(
        height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0},
        scene={"xaxis": hidden, "yaxis": hidden, "zaxis": hidden, "aspectmode": "manual",
               "aspectratio": ratio,
               "camera": {"eye": {"x": 0.34, "y": -2.0, "z": 1.0},
                          "up": {"x": 0, "y": 0, "z": 1},
                          "projection": {"type": "orthographic"}}})
    # a plain spec without plotly's property-by-property validation (as in figures.convolution);
    # the tests check that the validated figure is the same
    return go.Figure({"data": data, "layout": layout}, _validate=False)
