"""Figures for the Explain page: attribution heat maps as crisp static images, the deletion plot.

Maps are pictures nobody needs to hover, so they are uint8 RGB arrays (instant to send,
sharp on a projector), each 28x28 pixel a block of `factor` x `factor` screen pixels.
Each map is scaled to its own largest magnitude: the colours compare pixels within a
map, not one method with another.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

FACTOR = 8
POS = np.array([0.95, 0.25, 0.1], np.float32)  # red: evidence for the class
NEG = np.array([0.15, 0.45, 1.0], np.float32)  # blue: evidence against
COLOURS = {"saliency": "#e4572e", "ig": "#2e86ab", "gradcam": "#8e44ad", "occlusion": "#f18f01",
           "random": "#8aa1b1"}


def _blocks(rgb: np.ndarray, factor: int) -> np.ndarray:
    big = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    return (np.clip(big, 0, 1) * 255).round().astype(np.uint8)


def grey(image: np.ndarray, factor: int = FACTOR) -> np.ndarray:
    img = np.clip(np.asarray(image, np.float32), 0, 1)
    return _blocks(np.repeat(img[..., None], 3, axis=2), factor)


def overlay(image: np.ndarray, attribution: np.ndarray, factor: int = FACTOR) -> np.ndarray:
    """The input dimmed to grey with the attribution on top: red for +, blue for -."""
    a = np.asarray(attribution, np.float32)
    scale = float(np.abs(a).max()) or 1.0
    strength = np.clip(np.abs(a) / scale, 0, 1)[..., None] ** 0.7
    colour = np.where(a[..., None] >= 0, POS, NEG)
    base = 0.45 * np.clip(np.asarray(image, np.float32), 0, 1)[..., None] * np.ones(3, np.float32)
    return _blocks(base * (1 - strength) + colour * strength, factor)


def perturbation(delta: np.ndarray, factor: int = FACTOR) -> tuple[np.ndarray, float]:
    """A signed change as red (brighter) / blue (darker) on mid grey; returns the image and its scale."""
    d = np.asarray(delta, np.float32)
    scale = float(np.abs(d).max()) or 1.0
    s = np.clip(d / scale, -1, 1)[..., None]
    mid = np.full(3, 0.5, np.float32)
    rgb = np.where(s >= 0, mid + s * (POS - mid), mid - s * (NEG - mid))
    return _blocks(rgb, factor), scale


def deletion_figure(erased: np.ndarray, curves: dict, random: np.ndarray, names: dict, n_ink: int,
                    x_title: str, y_title: str, random_name: str) -> go.Figure:
    """Confidence of the class while pixels are erased, one line per method plus random order."""
    pct = 100.0 * np.asarray(erased) / max(1, n_ink)
    fig = go.Figure()
    for method, curve in curves.items():
        fig.add_trace(go.Scatter(x=pct, y=curve, name=names[method], mode="lines+markers",
                                 line=dict(color=COLOURS.get(method), width=2.5), marker=dict(size=5)))
    fig.add_trace(go.Scatter(x=pct, y=random, name=random_name, mode="lines",
                             line=dict(color=COLOURS["random"], width=2.5, dash="dash")))
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(title=x_title, ticksuffix="%"), yaxis=dict(title=y_title, range=[0, 1.02]))
    return fig
