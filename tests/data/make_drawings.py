"""Generate the mouse-style drawing set in tests/data/drawings/ (run from the repo root).

Every digit is a few polyline strokes, written the way people draw it with a mouse
(in several styles: a "1" with and without its flag, a "7" with and without the
crossbar, an open or closed "4", ...). Each drawing varies size, position, slant,
rotation, stroke width and hand wobble, and is rendered like the canvas does it
(round caps and joins, anti-aliased) as a 280x280 RGBA PNG. Two conventions are
mixed: white ink on black (the app's canvas) and black ink on a transparent page.

File names carry the label: `<digit>_<nn>.png`. The set is deterministic (seeded),
so regenerating it gives the same files:

    .venv/bin/python tests/data/make_drawings.py
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).parent / "drawings"
CANVAS = 280
PER_DIGIT = 12
SUPER = 2  # render at 2x, then downsample: anti-aliased like a browser canvas


def arc(cx, cy, rx, ry, a0, a1, n=28):
    """Points along an ellipse from angle a0 to a1 in degrees (y grows downwards)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(a0, a1, n)
    ]


# Each style is (strokes, width/height ratio). Coordinates in a unit box, y down.
STYLES: dict[int, list[tuple[list[list[tuple[float, float]]], float]]] = {
    0: [
        ([arc(0.5, 0.5, 0.5, 0.5, -90, 275)], 0.7),
        ([arc(0.5, 0.5, 0.5, 0.5, -60, -420)], 0.6),
    ],
    1: [
        ([[(0.5, 0.0), (0.5, 1.0)]], 0.3),
        ([[(0.05, 0.22), (0.6, 0.0), (0.6, 1.0)]], 0.35),
        ([[(0.1, 0.2), (0.55, 0.0), (0.55, 1.0)], [(0.1, 1.0), (0.95, 1.0)]], 0.5),
    ],
    2: [
        ([arc(0.5, 0.3, 0.45, 0.3, 190, 380) + [(0.05, 1.0), (0.95, 1.0)]], 0.7),
        ([arc(0.5, 0.28, 0.42, 0.28, 200, 370) + [(0.6, 0.65), (0.2, 0.95), (0.05, 1.0), (1.0, 0.97)]], 0.7),
    ],
    3: [
        ([arc(0.5, 0.26, 0.42, 0.26, 200, 450) + arc(0.5, 0.74, 0.48, 0.26, 270, 520)], 0.65),
        ([[(0.1, 0.0), (0.9, 0.0), (0.45, 0.42)] + arc(0.5, 0.7, 0.45, 0.3, 260, 520)], 0.65),
    ],
    4: [
        ([[(0.62, 0.0), (0.05, 0.66), (0.95, 0.66)], [(0.7, 0.3), (0.7, 1.0)]], 0.7),
        ([[(0.15, 0.0), (0.08, 0.6), (0.95, 0.6)], [(0.72, 0.0), (0.72, 1.0)]], 0.7),
    ],
    5: [
        ([[(0.85, 0.0), (0.2, 0.0), (0.16, 0.45)] + arc(0.47, 0.69, 0.42, 0.31, 240, 510)], 0.65),
        ([[(0.2, 0.0), (0.16, 0.45)] + arc(0.47, 0.69, 0.42, 0.31, 240, 510), [(0.2, 0.0), (0.9, 0.0)]], 0.65),
    ],
    6: [
        ([[(0.8, 0.0), (0.45, 0.15), (0.2, 0.4), (0.08, 0.7)] + arc(0.5, 0.72, 0.42, 0.28, 180, -180)], 0.65),
        ([[(0.7, 0.0), (0.1, 0.68)] + arc(0.5, 0.72, 0.42, 0.28, 180, -175)], 0.65),
    ],
    7: [
        ([[(0.05, 0.0), (0.95, 0.0), (0.4, 1.0)]], 0.65),
        ([[(0.05, 0.0), (0.95, 0.0), (0.45, 1.0)], [(0.35, 0.52), (0.85, 0.52)]], 0.7),
        ([[(0.05, 0.14), (0.08, 0.0), (0.95, 0.0), (0.5, 1.0)]], 0.65),
    ],
    8: [
        ([arc(0.5, 0.25, 0.4, 0.25, 0, 360), arc(0.5, 0.74, 0.48, 0.26, -90, 270)], 0.6),
        ([arc(0.5, 0.25, 0.4, 0.25, -30, -270) + arc(0.5, 0.74, 0.48, 0.26, -90, 270)
          + arc(0.5, 0.25, 0.4, 0.25, 90, -30)], 0.6),
    ],
    9: [
        ([arc(0.45, 0.28, 0.42, 0.28, 0, -360) + [(0.88, 0.28), (0.82, 1.0)]], 0.65),
        ([arc(0.45, 0.28, 0.42, 0.28, 10, -355) + [(0.88, 0.3), (0.84, 0.7), (0.7, 0.95), (0.4, 1.0)]], 0.65),
    ],
}


def resample(points, step):
    """Points every `step` units along a polyline (a mouse reports positions often)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


def wobble(points, amount, rng):
    """A hand's unsteadiness: smooth random drift, not pixel noise."""
    if amount == 0 or len(points) < 3:
        return points
    noise = np.array([[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in points])
    kernel = np.ones(9) / 9
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return [(x + amount * dx, y + amount * dy) for (x, y), (dx, dy) in zip(points, smooth)]


def render(strokes, width, white_on_black):
    size = CANVAS * SUPER
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    w = width * SUPER
    for pts in strokes:
        p = [(x * SUPER, y * SUPER) for x, y in pts]
        draw.line(p, fill=255, width=w, joint="curve")
        for x, y in (p[0], p[-1]):
            draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
    ink = np.asarray(img.resize((CANVAS, CANVAS), Image.Resampling.BOX))
    rgba = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    if white_on_black:
        rgba[..., :3] = ink[..., None]
        rgba[..., 3] = 255
    else:
        rgba[..., 3] = ink  # black ink, transparent page
    return Image.fromarray(rgba)


def drawing(digit, k, rng):
    strokes, ratio = STYLES[digit][k % len(STYLES[digit])]
    height = rng.choice([110, 140, 170, 200, 230, 250])
    width_px = height * ratio * rng.uniform(0.85, 1.15)
    slant = rng.uniform(-0.15, 0.3)  # positive: the top leans right, as most people write
    angle = math.radians(rng.uniform(-8, 8))
    stroke = min(rng.choice([12, 16, 20, 24, 28]), max(8, height // 7))
    placed = []
    for s in strokes:
        pts = []
        for x, y in s:
            px, py = (x - 0.5) * width_px, (y - 0.5) * height
            px += slant * -py
            pts.append((px * math.cos(angle) - py * math.sin(angle), px * math.sin(angle) + py * math.cos(angle)))
        placed.append(wobble(resample(pts, 4.0), height * 0.012, rng))
    allp = np.array([p for s in placed for p in s])
    lo, hi = allp.min(0) - stroke, allp.max(0) + stroke
    room = np.maximum(CANVAS - (hi - lo), 0)
    shift = -lo + np.array([rng.uniform(0, room[0]), rng.uniform(0, room[1])])
    placed = [[(x + shift[0], y + shift[1]) for x, y in s] for s in placed]
    return render(placed, stroke, white_on_black=(k % 3 != 2))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2024)
    for digit in range(10):
        for k in range(PER_DIGIT):
            drawing(digit, k, rng).save(OUT / f"{digit}_{k:02d}.png", optimize=True)
    print(f"wrote {10 * PER_DIGIT} drawings to {OUT}")


if __name__ == "__main__":
    main()
