"""Figures for the Draw page: arrays in, figures (or image arrays) out.

All channels of a layer are drawn as ONE picture (a labelled montage, each channel on
its own scale, `labelled_montage`), not as heatmaps: a class shares one server, and a
grid of 32-64 heatmaps cost it about 0.2 s of CPU per rerun to describe; a picture costs
a few milliseconds. The channel a student picks is then a real heatmap (`heatmap_data`)
whose hover gives the real values, and the probabilities are bars (`probs_data`): both are
plain data that the page draws on a canvas in the browser, where a plotly chart per drawing
cost the browser's main thread a few hundred milliseconds.
"""

from __future__ import annotations

import base64
import math
from functools import lru_cache

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from cnndemo.figures import images

ACCENT = "#e4572e"
MUTED = "#8aa1b1"


def tile_values(m: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """One channel scaled to [0, 1] on its own range: min..max (a flat map is all 0, black),
    or, when `symmetric` (kernels), -max|m|..+max|m| so that 0 sits in the middle."""
    m = np.asarray(m, dtype=np.float32)
    if symmetric:
        scale = float(np.abs(m).max()) or 1.0
        return (m / scale + 1.0) / 2.0
    lo, hi = float(m.min()), float(m.max())
    return (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)


@lru_cache(maxsize=4)
def _font(px: int):
    return ImageFont.load_default(size=px)


def labelled_montage(maps: np.ndarray, cols: int = 8, tile_px: int = 84, symmetric: bool = False,
                     numbers: bool = True, selected: int | None = None) -> np.ndarray:
    """All channels of a [C, H, W] activation (or kernel set) as ONE RGBA picture: each channel
    on its own scale (grey; red/blue around zero when `symmetric`), every cell a crisp square,
    the channel number above each tile, a frame around the `selected` channel, and
    transparent gaps. A picture costs the server a fraction of what a grid of heatmaps does;
    the page shows the one selected channel as a heatmap to hover for values."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    c, h, w = maps.shape
    cols = max(1, min(cols, c))
    rows = math.ceil(c / cols)
    f = max(1, round(tile_px / max(h, w)))
    th, tw = h * f, w * f
    gap = max(6, tw // 8)
    font_px = max(9, min(13, tw // 3))
    label_h = font_px + 3 if numbers else 0
    edge = 3  # room for the selection frame around the outer tiles
    width = 2 * edge + cols * tw + (cols - 1) * gap
    height = 2 * edge + rows * (label_h + th) + (rows - 1) * gap
    out = np.zeros((height, width, 4), np.uint8)
    colorscale = "RdBu_r" if symmetric else "gray"
    origins = [(edge + (i % cols) * (tw + gap), edge + (i // cols) * (label_h + th + gap) + label_h)
               for i in range(c)]
    if selected is not None and 0 <= selected < c:
        x, y = origins[selected]
        out[y - 3:y + th + 3, x - 3:x + tw + 3] = (*_rgb(ACCENT), 255)
    shown = np.stack([tile_values(m, symmetric) for m in maps])
    tiles = images.scale_rgb(shown, colorscale).repeat(f, axis=1).repeat(f, axis=2)  # [C, th, tw, 3]
    for i, (x, y) in enumerate(origins):
        out[y:y + th, x:x + tw, :3] = tiles[i]
        out[y:y + th, x:x + tw, 3] = 255
    if numbers:
        picture = Image.fromarray(out, "RGBA")
        pen = ImageDraw.Draw(picture)
        for i, (x, y) in enumerate(origins):
            colour = (*_rgb(ACCENT), 255) if i == selected else (102, 102, 102, 255)
            pen.text((x + tw / 2, y - 2), str(i), fill=colour, font=_font(font_px), anchor="md")
        out = np.asarray(picture)
    return out


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def heatmap_data(values: np.ndarray, hover: str, symmetric: bool = False, write_values: bool = False,
                 height: int = 300) -> dict:
    """One channel (a feature map, or one kernel) as the data of a heatmap, for the Draw page's
    canvas heatmap (`ui/assets/charts.js`): the real values, shown on hover (`hover`, a
    plotly-style template: %{x} column, %{y} row, %{z:.3f} value); `write_values` prints each
    value in its cell. A kernel (`symmetric`) is on a diverging scale with zero in the middle."""
    z = np.asarray(values, dtype=np.float32)
    half = float(np.abs(z).max()) or 1.0
    lo, hi = float(z.min()), float(z.max())
    stops = plotly.colors.get_colorscale("RdBu_r" if symmetric else "gray")
    return {
        "z": z.tolist(),
        "zmin": -half if symmetric else lo,
        "zmax": half if symmetric else (hi if hi > lo else lo + 1),
        "stops": [[round(float(pos), 6), [int(v) for v in plotly.colors.unlabel_rgb(c)]] for pos, c in stops],
        "hover": hover,
        "text": bool(write_values),
        "height": int(height),
    }


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


def probs_data(probs: np.ndarray, classes: list[str], top: int, axis_title: str = "") -> dict:
    """Softmax probabilities of every class as the data of the Draw page's canvas bar chart
    (`ui/assets/charts.js`): the predicted class stands out, a value above each bar from 1%, the
    exact one on hover."""
    p = np.asarray(probs, dtype=float)
    return {
        "values": [float(v) for v in p],
        "labels": [str(c) for c in classes],
        "texts": [f"{v:.0%}" if v >= 0.01 else "" for v in p],
        "hovers": [f"{c}: {v:.2%}" for c, v in zip(classes, p)],
        "top": int(top),
        "accent": ACCENT,
        "muted": MUTED,
        "ymax": 1.12,
        "ticks": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "axis": axis_title,
        "height": 260,
    }


def gallery_data(items: list[dict], widths: list[float], pixelated: bool = False) -> dict:
    """Pictures side by side in one page element, for the Draw page's layer maps: a page element
    costs the browser a few milliseconds on every drawing, and the overview alone was twenty
    (columns, pictures and captions). Each item: `png` (bytes) and optional `title` (above),
    `caption` and `code` (below; `code` in a code font, e.g. a shape). `widths` are the relative
    widths of the columns; the items fill them row by row. Each picture's size in pixels goes
    with it, so the page keeps its place before the picture is decoded. `pixelated`: the
    browser scales the pictures up with square pixels (pictures sent at their own size)."""
    out = []
    for item in items:
        w, h = png_size(item["png"])
        out.append({
            "src": "data:image/png;base64," + base64.b64encode(item["png"]).decode("ascii"),
            "title": item.get("title", ""),
            "caption": item.get("caption", ""),
            "code": item.get("code", ""),
            "w": w,
            "h": h,
            "alt": item.get("alt") or " ".join(filter(None, (item.get("title"), item.get("caption"),
                                                            item.get("code")))),
        })
    return {"items": out, "widths": [float(w) for w in widths], "pixelated": bool(pixelated)}


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def upscale(image: np.ndarray, factor: int = 10) -> np.ndarray:
    """A [H, W] image in [0, 1] as uint8, each pixel a factor x factor block (crisp, no blur)."""
    img = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    small = (img * 255).round().astype(np.uint8)
    return np.repeat(np.repeat(small, factor, axis=0), factor, axis=1)


def montage_image(maps: np.ndarray, cols: int = 8, target_px: int | None = 240) -> np.ndarray:
    """A [C, H, W] activation as one crisp uint8 picture (channels side by side, each scaled
    to its own range, grey between them): torchvision's make_grid(normalize=True,
    scale_each=True, pad_value=0.35) in numpy, which loops over the channels in Python and
    took the server ~70 ms for a digit's six layers; this takes a few. Blown up to about
    `target_px` on its longer side; `target_px=None`: one pixel per value (for a browser that
    scales it up itself)."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    c, h, w = maps.shape
    pad = max(1, h // 7)
    ncols = max(1, min(cols, c))
    nrows = math.ceil(c / ncols)
    lo = maps.min(axis=(1, 2), keepdims=True)
    hi = maps.max(axis=(1, 2), keepdims=True)
    shown = (maps - lo) / np.maximum(hi - lo, 1e-5)
    if c == 1:  # one channel alone: no frame around it (as make_grid does)
        return upscale(shown[0], 1 if target_px is None else max(1, round(target_px / max(h, w))))
    grey = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), 0.35, np.float32)
    for i in range(c):
        r, k = divmod(i, ncols)
        y, x = r * (h + pad) + pad, k * (w + pad) + pad
        grey[y:y + h, x:x + w] = shown[i]
    factor = 1 if target_px is None else max(1, round(target_px / max(grey.shape)))
    return upscale(grey, factor)
