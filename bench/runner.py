"""`python -m cnndemo bench`: speed measurements (never part of the tests).

Every benchmark lives in this folder, outside the `cnndemo` package because the page
benchmarks drive Streamlit's AppTest. Each module exposes `run()` or `bench_<name>()`
(or a list `BENCHES` of functions) returning a dict of figures.
"""
from __future__ import annotations

import importlib
import os

import torch

from bench.timing import p50_ms, seed_loop
from cnndemo.core import arch, checkpoints, data, train


def bench_infer() -> dict:
    model = checkpoints.load(checkpoints.shipped_path("mnist")).model
    x = torch.rand(1, 1, 28, 28)

    def once():
        with torch.no_grad():
            model(x)

    return {"infer_ms_p50": p50_ms(once, repeats=200)}


def bench_train(n: int = 3000) -> dict:
    ds = data.load("mnist")
    device = train.pick_device()
    cfg = train.TrainConfig(preset="course-b", epochs=1, batch_size=100, train_subset=n,
                            test_subset=100, seed=1)
    model = train.make_model(cfg)
    hist = train.fit(model, ds, cfg)
    engine = hist.samples_per_s
    torch.manual_seed(1)
    model = arch.build(arch.preset("course-b").spec)
    run = seed_loop(model, ds.train_x[:n], ds.train_y[:n], device=device)
    seed = run["seen"] / run["seconds"]
    return {"train_samples_per_s": round(engine, 1), "seed_loop_samples_per_s": round(seed, 1),
            "train_speedup_vs_seed_loop": round(engine / seed, 2), "device": str(device)}


BENCHES = {"infer": bench_infer, "train": bench_train}
PAGE_BENCHES = ("convolution", "draw", "gradients", "losses", "shapes", "training",
                "classroom_follow")


def _page_benches() -> dict:
    """The page-level benchmarks of this folder (they drive Streamlit's AppTest)."""
    found = {}
    # AppTest runs pages outside a server; Streamlit's warnings about that are noise here
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    for name in PAGE_BENCHES:
        module = importlib.import_module(f"bench.{name}")
        fns = getattr(module, "BENCHES", None) or [getattr(module, "run", None)
                                                   or getattr(module, f"bench_{name}", None)]
        for i, fn in enumerate(f for f in fns if f is not None):
            found[name if i == 0 else f"{name}_{i}"] = fn
    return found


def run_all(only=None) -> dict:
    benches = {**BENCHES, **_page_benches()}
    results: dict = {}
    for name, fn in benches.items():
        if only and name not in only:
            continue
        try:
            results.update(fn())
        except Exception as e:  # one failing bench must not hide the others
            results[f"{name}_error"] = f"{type(e).__name__}: {e}"
    return results
