"""Bench for the loss lab: how long a student waits for the page and for its computations."""
import time
from pathlib import Path

import numpy as np

from cnndemo.lessons import losses as L

PAGE = str(Path(__file__).resolve().parents[1] / "lessons" / "losses.py")


def _best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_losses() -> dict:
    """Seconds: one full page run (AppTest, warm), one rerun after a widget change, and the
    autograd gradient sweep behind tab ③ (241 logit values x 3 losses)."""
    from streamlit.testing.v1 import AppTest

    logits = np.array(L.LOGIT_PRESETS["wrong"])
    zs = np.linspace(-12, 12, 241)
    at = AppTest.from_file(PAGE, default_timeout=120)
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    at.selectbox(key="losses_preset").set_value("wrong").run()
    rerun = time.perf_counter() - t0
    return {"losses_page_first_run_s": round(first, 3), "losses_page_rerun_s": round(rerun, 3),
            "losses_page_exception": bool(at.exception),
            "losses_gradient_sweep_s": round(_best(lambda: L.gradient_curves(logits, 3, zs)), 4),
            "losses_course_table_s": round(_best(L.course_table), 5)}


if __name__ == "__main__":
    print(bench_losses())
