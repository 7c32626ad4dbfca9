"""The Draw page's canvas, a Streamlit component of our own (Components v2, no iframe).

It sends each stroke the moment the pen lifts. streamlit-drawable-canvas 0.13 waits a fixed
200 ms after the last change before it sends, a fifth of a second on every drawing, and sends
the whole Fabric.js scene with it. This one sends the canvas as a PNG and the number of
strokes on it, nothing else. Undo (↶) is on the canvas; Clear remounts it empty.
The drawing code is `assets/canvas.js`; reading the PNG is `cnndemo.core.preprocess`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).parent / "assets"

_component = st.components.v2.component(
    "cnndemo.draw_canvas",
    html='<div class="cnn-canvas-box"></div>',
    css=(ASSETS / "canvas.css").read_text(encoding="utf-8"),
    js=(ASSETS / "canvas.js").read_text(encoding="utf-8"),
    isolate_styles=True,
)


@dataclass(frozen=True)
class Drawing:
    strokes: int  # strokes on the canvas now (undo takes them off)
    png: str | None  # the canvas as a PNG data URL, as the browser sent it


def draw_canvas(*, key: str, size: int, stroke: int, label: str, undo: str) -> Drawing:
    """Show the canvas (`size` px square, pen `stroke` px wide); what is on it now."""
    result = _component(
        key=key,
        data={"size": size, "stroke": stroke, "label": label, "undo": undo},
        default={"drawing": None},
        on_drawing_change=lambda: None,
        width="content",
        height="content",
    )
    return _drawing(result)


def current(key: str) -> Drawing:
    """What is on the canvas under `key`, before the canvas is drawn in this run.
    The browser's value is in session state as the run starts, so a page can compute from it
    and show the result first: the prediction leaves the server before the canvas does."""
    return _drawing(st.session_state.get(key))


def _drawing(state) -> Drawing:
    value = state.get("drawing") if hasattr(state, "get") else None
    if not isinstance(value, dict):
        return Drawing(0, None)
    strokes, png = value.get("strokes"), value.get("png")
    return Drawing(strokes if isinstance(strokes, int) and strokes > 0 else 0,
                   png if isinstance(png, str) else None)
