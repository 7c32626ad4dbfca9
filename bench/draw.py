"""Bench for the Draw page: how long a student waits after lifting the pen.

- predict_ms_p50: one 280x280 canvas drawing -> MNIST-style 28x28 -> prediction plus
  every layer's activation (the forward-hook pass the page uses).
- draw_page_rerun_ms_p50: the Draw page's whole script run with a drawing on the
  canvas, through AppTest (warm: imports, model and data already loaded).
Targets on a 2-core CPU: predict <= 10 ms, page rerun <= 300 ms.
"""

import base64
from pathlib import Path

from bench.timing import p50_ms

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "lessons" / "draw.py")
DRAWING = ROOT / "tests" / "data" / "drawings" / "7_00.png"


def predict_ms_p50(repeats: int = 100) -> dict:
    from cnndemo.core import checkpoints, inference, preprocess

    loaded = checkpoints.load(checkpoints.shipped_path("mnist"))
    rgba = preprocess.load_image(DRAWING)  # 280x280 RGBA, as the canvas sends it

    def once():
        image = preprocess.preprocess(rgba).image
        return inference.run(loaded.model, image, loaded.spec, loaded.classes)

    assert once().prediction.top == 7
    return {"predict_ms_p50": p50_ms(once, repeats, warmup=3)}


def draw_page_rerun_ms_p50(repeats: int = 10) -> dict:
    from streamlit.testing.v1 import AppTest

    url = "data:image/png;base64," + base64.b64encode(DRAWING.read_bytes()).decode()
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["draw_canvas_0"] = {"drawing": {"png": url, "strokes": 1}}
    at.run()
    if at.exception or [m.value for m in at.metric] != ["7"]:
        return {"draw_page_rerun_ms_p50": None, "draw_page_error": str(at.exception)}
    return {"draw_page_rerun_ms_p50": p50_ms(at.run, repeats, warmup=1)}


def run() -> dict:
    return {**predict_ms_p50(), **draw_page_rerun_ms_p50()}
