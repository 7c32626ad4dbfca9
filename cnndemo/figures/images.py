"""Maps as plain RGB images, for rows of small maps that nobody hovers over.

A plotly heatmap costs the server about 10 ms to build and the page about 10 KB; a 28x28 map
as a PNG costs a fraction of a millisecond and a few hundred bytes, and looks the same: the
same named colour scale as the plotly figures, each cell a crisp square.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from plotly import colors


@lru_cache(maxsize=8)
def _scale(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Stops (0..1) and their RGB colours of a plotly colour scale."""
    stops, rgb = [], []
    for pos, colour in colors.get_colorscale(name):
        c = colour if colour.startswith("rgb") else colors.hex_to_rgb(colour)
        if isinstance(c, str):
            c = colors.unlabel_rgb(c)
        stops.append(float(pos))
        rgb.append([float(v) for v in c])
    return np.asarray(stops), np.asarray(rgb)


def colourize(values, colorscale: str = "gray", zmid: float | None = None) -> np.ndarray:
    """[H, W] values -> [H, W, 3] uint8, scaled like a plotly heatmap: min..max of the map,
    or symmetric around `zmid`. A constant map takes the scale's middle colour."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if zmid is not None:
        half = float(np.max(np.abs(finite - zmid))) if finite.size else 0.0
        lo, hi = zmid - half, zmid + half
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    t = np.full(v.shape, 0.5) if hi <= lo else (np.nan_to_num(v, nan=lo) - lo) / (hi - lo)
    stops, rgb = _scale(colorscale)
    t = np.clip(t, 0.0, 1.0)
    out = np.stack([np.interp(t, stops, rgb[:, c]) for c in range(3)], axis=-1)
    return np.round(out).astype(np.uint8)


def map_image(values, colorscale: str = "gray", zmid: float | None = None,
              size: int = 168) -> np.ndarray:
    """A map as an RGB image about `size` pixels on its longer side, each cell a square."""
    rgb = colourize(values, colorscale, zmid)
    cell = max(1, size // max(rgb.shape[:2]))
    return np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)


def scale_rgb(t, colorscale: str = "gray") -> np.ndarray:
    """Positions `t` in [0, 1] on a plotly colour scale -> uint8 RGB, shape t.shape + (3,)."""
    stops, rgb = _scale(colorscale)
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    out = np.stack([np.interp(t, stops, rgb[:, c]) for c in range(3)], axis=-1)
    return np.round(out).astype(np.uint8)


def png(image: np.ndarray) -> bytes:
    """A uint8 [H, W], [H, W, 3] or [H, W, 4] array as PNG bytes (lossless: crisp cells, no
    JPEG smudges), compressed fast: maps are mostly flat blocks, which compress well anyway."""
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()
