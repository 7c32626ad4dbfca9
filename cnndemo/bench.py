"""`python -m cnndemo bench`: speed measurements (never part of the tests).

Core figures are measured here; page-level figures (which drive Streamlit's AppTest) live
in `ui/bench_<name>.py` modules at the repo root, each exposing `run()` or
`bench_<name>()` (or a list `BENCHES` of functions) returning a dict; they are
loaded only when this command runs.
"""
from __future__ import annotations

import importlib
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import arch, checkpoints, data, train


def p50_ms(fn, repeats: int = 50, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def bench_infer() -> dict:
    model = checkpoints.load(checkpoints.shipped_path("mnist")).model
    x = torch.rand(1, 1, 28, 28)

    def once():
        with torch.no_grad():
            model(x)

    return {"infer_ms_p50": p50_ms(once, repeats=200)}


class _CourseStyleDataset(torch.utils.data.Dataset):
    """What the course does: a torchvision-style dataset, PIL image + ToTensor per sample."""

    def __init__(self, x_uint8, y):
        from PIL import Image
        from torchvision import transforms

        self.images = [Image.fromarray(img.numpy(), mode="L") for img in x_uint8]
        self.y = y
        self.to_tensor = transforms.ToTensor()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.to_tensor(self.images[i]), int(self.y[i])


def seed_loop(model, x_uint8, y, epochs=1, lr=1e-3, batch_size=100, device="cpu",
              stop_at=None, test=None) -> dict:
    """The course's training loop, for comparison: a torchvision-style dataset with a
    per-sample ToTensor, DataLoader(batch_size=100, shuffle=True), Adam, cross-entropy.
    With `stop_at` and `test` (uint8 images, labels) it evaluates after every epoch and
    stops once the test accuracy reaches `stop_at`."""
    loader = torch.utils.data.DataLoader(_CourseStyleDataset(x_uint8, y), batch_size=batch_size,
                                         shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.to(device).train()
    seen, t0, acc, epoch = 0, time.perf_counter(), None, 0
    for epoch in range(1, epochs + 1):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            seen += len(yb)
        if test is not None:
            acc, _ = train.evaluate(model, test[0], test[1], device)
            model.train()
            if stop_at is not None and acc >= stop_at:
                break
    return {"seen": seen, "seconds": time.perf_counter() - t0, "epochs": epoch, "acc": acc}


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


def _page_benches() -> dict:
    """ui/bench_*.py modules (they may import streamlit, so they live outside cnndemo)."""
    found = {}
    # AppTest runs pages outside a server; Streamlit's warnings about that are noise here
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    ui_dir = Path(__file__).resolve().parent.parent / "ui"
    for path in sorted(ui_dir.glob("bench_*.py")):
        module = importlib.import_module(f"ui.{path.stem}")
        name = path.stem.removeprefix("bench_")
        fns = getattr(module, "BENCHES", None) or [getattr(module, "run", None)
                                                   or getattr(module, path.stem, None)]
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
