"""Bench of the gradients lab: the cost of each section's computation and of each tab's rerun."""
from __future__ import annotations

import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("autograd", "regression", "perceptron", "activations", "vanishing", "optimizers")


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 4)


def bench_gradients() -> dict:
    """Seconds for the pure computations and for a cold AppTest run of every tab."""
    from streamlit.testing.v1 import AppTest

    from cnndemo.lessons import gradients as G
    from cnndemo.lessons import optimizers as O

    x, y = G.regression_data()
    digits_x, digits_y, _ = O.digit_batch(256)
    G.fit_line(x, y, steps=1)  # warm-up: the first optimizer step pays torch's one-off costs
    out = {
        "regression_fit_200_steps_s": _seconds(lambda: G.fit_line(x, y)),
        "perceptron_xor_2layer_500_steps_s": _seconds(lambda: G.train_perceptron("xor", 4)),
        "vanishing_depth20_backward_s": _seconds(
            lambda: O.vanishing(digits_x, digits_y, 20, "sigmoid")),
        "race_valley_s": _seconds(lambda: O.race("valley")),
        "race_rosenbrock_s": _seconds(lambda: O.race("rosenbrock")),
    }
    labels = json.loads((ROOT / "cnndemo/locales/en/gradients.json").read_text(encoding="utf-8"))
    for name in SECTIONS:
        at = AppTest.from_file(str(ROOT / "lessons" / "gradients.py"), default_timeout=120)
        at.session_state["gradients_tab"] = labels[f"gradients.tab.{name}"]
        out[f"page_tab_{name}_s"] = _seconds(at.run)
        out[f"page_tab_{name}_ok"] = not at.exception
    return out
