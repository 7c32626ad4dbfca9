"""Bench for the shape explorer: the page's rerun after one edit on course-c."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "lessons" / "shapes.py"


def bench_shapes(repeats: int = 15) -> dict:
    """Median wall time of one AppTest rerun after changing the first conv's
    out_channels on course-c (the whole page: table, totals, 3-D view and code)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    at.selectbox(key="shapes.preset").set_value("course-c").run()
    uid = at.session_state["shapes.spec"][0]["uid"]
    widget = f"shapes.l{uid}.out_channels"
    at.number_input(key=widget).set_value(33).run()  # warm-up
    times = []
    for i in range(repeats):
        at.number_input(key=widget).set_value(32 + i % 2)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        if at.exception:
            raise RuntimeError(f"shapes page raised: {at.exception[0].message}")
    return {"shapes_page_rerun_ms_p50": round(statistics.median(times), 1)}


if __name__ == "__main__":
    print(bench_shapes())
