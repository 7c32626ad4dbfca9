"""Bench for the convolution and pooling labs: how long a student waits after a change."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters

ROOT = Path(__file__).resolve().parent.parent


def _best_ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 2)


def _page_s(path: str, setup=None) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{path}: {at.exception[0].value}")
    if setup:
        setup(at)
        t0 = time.perf_counter()
        at.run()
        return round(first, 2), round(time.perf_counter() - t0, 2)
    return round(first, 2), None


def bench_convolution() -> dict:
    rng = np.random.default_rng(0)
    x12, k5 = rng.normal(size=(12, 12)), rng.normal(size=(5, 5))
    img = rng.random((28, 28))
    conv_first, conv_rerun = _page_s(
        "lessons/convolution.py",
        lambda at: at.session_state.__setitem__("convolution_padding", 2))
    pool_first, _ = _page_s("lessons/pooling.py")
    return {
        "conv_trace_12x12_k5_pad2_ms": _best_ms(lambda: ops.conv2d(x12, k5, padding=2)),
        "maxpool_trace_12x12_k2_ms": _best_ms(lambda: ops.pool2d(x12, "max", 2)),
        "seven_filters_28x28_ms": _best_ms(lambda: filters.apply_all(img)),
        "convolution_page_first_run_s": conv_first,
        "convolution_page_rerun_s": conv_rerun,
        "pooling_page_first_run_s": pool_first,
    }


if __name__ == "__main__":
    print(bench_convolution())
