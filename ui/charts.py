"""Charts drawn on one canvas in the browser, and pictures in a grid: Streamlit components of
our own (Components v2, no iframe) for the Draw page, which shows new ones for every drawing.

A plotly chart costs the browser a few hundred milliseconds of its main thread to mount on a
classroom laptop, and the Draw page had three per drawing: the probabilities and a channel's
map and kernel. These draw the same bars, cells, colours, colour bar and hover values in
about a millisecond. Their data comes from `cnndemo.figures.draw` (`probs_data`,
`heatmap_data`); the drawing code is `assets/charts.js`. The gallery shows a layer's maps as
pictures with their captions in one element instead of a page element for each (`gallery_data`,
`assets/gallery.js`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).parent / "assets"
_JS = (ASSETS / "charts.js").read_text(encoding="utf-8")
_CSS = (ASSETS / "charts.css").read_text(encoding="utf-8")


def _define(kind: str):
    return st.components.v2.component(
        f"cnndemo.{kind}",
        html=f'<div class="cnn-chart" data-kind="{kind}"></div>',
        css=_CSS,
        js=_JS,
        isolate_styles=True,
    )


_heatmap = _define("heatmap")
_bars = _define("bars")
_gallery = st.components.v2.component(
    "cnndemo.gallery",
    html='<div class="cnn-gallery" role="group"></div>',
    css=_CSS,
    js=(ASSETS / "gallery.js").read_text(encoding="utf-8"),
    isolate_styles=True,
)


def heatmap(data: dict, *, key: str, label: str = "") -> None:
    """Show `data` (from `heatmap_data`); `label` is what a screen reader says."""
    _heatmap(key=key, data={**data, "label": label}, width="content", height="content")


def bars(data: dict, *, key: str, label: str = "") -> None:
    """Show `data` (from `probs_data`) as wide as its column."""
    _bars(key=key, data={**data, "label": label}, width="stretch", height="content")


def gallery(data: dict, *, key: str, label: str = "") -> None:
    """Show `data` (from `gallery_data`) as wide as its column."""
    _gallery(key=key, data={**data, "label": label}, width="stretch", height="content")
