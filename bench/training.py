"""Benchmarks of the training lab, run by `python -m cnndemo bench` only (never by tests).

- time_to_97_digits_s: the page's default recipe (CNN B, Adam lr 0.002, batch 64, cosine
  decay) as a 20-epoch run on the 4,000 digits, until the held-out accuracy reaches 97%;
- time_to_90_fashion_s: the page's default 3-epoch run on all of Fashion-MNIST, until 90%
  test accuracy;
- seed_recipe_time_to_90_fashion_s: the course's recipe (Adam lr 0.001, batch 100, CNN B)
  through the course's loop (torchvision-style dataset with a per-image ToTensor, a
  shuffling DataLoader, evaluation after each epoch), to the same accuracy;
- draw_rerun_ms_p50_while_training: the Draw page's rerun time while two jobs train;
- job_stop_latency_s / job_stop_to_results_s / job_poll_us: from Stop to the job saying it
  trains no further, and to its final test pass and results being in (median of 3); one
  page poll of a running job's snapshot with 8 threads polling; on Ray too when
  $CNNDEMO_RAY_ADDRESS is set.
Each training bench uses as many torch threads as one training job gets on this machine.
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

import torch

from bench import timing as bench
from cnndemo.core import data, train
from cnndemo.jobs import manager as jobs

ROOT = Path(__file__).resolve().parent.parent


def _threads() -> int:
    return jobs.default_threads(jobs.default_max_running())


def _quick(dataset: str, target: float, epochs: int) -> dict:
    """Seconds of `train.fit` with the page's defaults (CNN B, Adam lr 0.002, batch 64,
    cosine decay over an `epochs`-long run) until the test accuracy first reaches target."""
    ds = data.load(dataset)
    cfg = train.TrainConfig(dataset=dataset, preset="course-b", optimizer="adam", lr=2e-3,
                            batch_size=64, epochs=epochs, schedule="cosine",
                            threads=_threads())
    torch.set_num_threads(cfg.threads)  # a bench is its own process; fit leaves threads alone
    hit: dict = {}

    class Stop:
        def is_set(self):
            return bool(hit)

    def on_epoch(info):
        if not hit and info["test_acc"] >= target:
            hit.update(seconds=info["seconds"], epoch=info["epoch"], acc=info["test_acc"])

    hist = train.fit(train.make_model(cfg), ds, cfg, train.Callbacks(on_epoch_end=on_epoch),
                     stop=Stop())
    return {"seconds": round(hit["seconds"], 2) if hit else None, "epochs": hit.get("epoch"),
            "best_acc": max(hist.test_acc), "device": hist.device,
            "samples_per_s": round(hist.samples_per_s)}


def time_to_97_digits_s(epochs: int = 20) -> dict:
    r = _quick("mnist", 0.97, epochs)
    return {"time_to_97_digits_s": r["seconds"], "time_to_97_digits_detail": r}


def time_to_90_fashion_s(epochs: int = 3) -> dict:
    r = _quick("fashion-mnist", 0.90, epochs)
    return {"time_to_90_fashion_s": r["seconds"], "time_to_90_fashion_detail": r}


def seed_recipe_time_to_90_fashion_s(max_epochs: int = 15) -> dict:
    """The course's recipe (seed 002: CNN B, Adam lr 0.001, batch 100) through the course's
    loop (`bench.timing.seed_loop`), on Fashion-MNIST, until 90% test accuracy."""
    torch.set_num_threads(_threads())
    ds = data.load("fashion-mnist")
    model = train.make_model(train.TrainConfig(preset="course-b"))
    run = bench.seed_loop(model, ds.train_x, ds.train_y, epochs=max_epochs, lr=0.001,
                          batch_size=100, device=train.pick_device(), stop_at=0.90,
                          test=(ds.test_x, ds.test_y))
    reached = run["acc"] is not None and run["acc"] >= 0.90
    detail = {"seconds": round(run["seconds"], 2), "epochs": run["epochs"], "acc": run["acc"]}
    return {"seed_recipe_time_to_90_fashion_s": detail["seconds"] if reached else None,
            "seed_recipe_detail": detail}


def draw_rerun_ms_p50_while_training(reruns: int = 15) -> dict:
    """Median Draw-page rerun (AppTest, a real digit on the page) while two jobs train."""
    from streamlit.testing.v1 import AppTest

    mgr = jobs.JobManager(max_running=2)
    long_run = train.TrainConfig(preset="course-b", epochs=1000, train_subset=4000)
    ids = [mgr.submit([jobs.Run(f"bench{i}", long_run)], owner="bench") for i in range(2)]
    try:
        for job_id in ids:
            mgr.wait(job_id, 120, until=lambda j: bool(j.runs[0].batches))
        at = AppTest.from_file(str(ROOT / "lessons" / "draw.py"), default_timeout=120)
        at.run()
        at.button(key="draw_random").click().run()
        times = []
        for _ in range(reruns):
            t0 = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - t0) * 1000)
        running = mgr.running_count()
    finally:
        mgr.shutdown()
    return {"draw_rerun_ms_p50_while_training": round(statistics.median(times), 1),
            "draw_rerun_jobs_running": running}


def _poll_us(mgr: jobs.JobManager, job_id: str, threads: int = 8, n: int = 2000) -> float:
    """Microseconds per `get` while `threads` threads poll the same running job."""
    times: list[float] = []

    def poll():
        t0 = time.perf_counter()
        for _ in range(n):
            mgr.get(job_id)
        times.append((time.perf_counter() - t0) / n * 1e6)

    pollers = [threading.Thread(target=poll) for _ in range(threads)]
    for t in pollers:
        t.start()
    for t in pollers:
        t.join()
    return statistics.median(times)


def job_stop_latency_s(repeats: int = 3) -> dict:
    backends = [("local", None)]
    if os.environ.get("CNNDEMO_RAY_ADDRESS"):
        from cnndemo.jobs import ray_backend
        backends.append(("ray", ray_backend.RayBackend(os.environ["CNNDEMO_RAY_ADDRESS"])))
    long_run = train.TrainConfig(preset="course-b", epochs=1000, train_subset=2000)
    out = {}
    for name, backend in backends:
        mgr = jobs.JobManager(max_running=1, threads=1, backend=backend)
        lat, polls = [], []
        try:
            for _ in range(repeats):
                job_id = mgr.submit([jobs.Run("bench", long_run)], owner="bench")
                mgr.wait(job_id, 180, until=lambda j: j.runs[0].n_points > 0)
                polls.append(_poll_us(mgr, job_id))
                t0 = time.time()
                mgr.stop(job_id)
                job = mgr.wait(job_id, 90)
                lat.append((job.stop_seen - t0, job.finished - t0))
        finally:
            mgr.shutdown()
        out[f"job_stop_latency_s_{name}"] = round(statistics.median(t for t, _ in lat), 3)
        out[f"job_stop_to_results_s_{name}"] = round(statistics.median(t for _, t in lat), 3)
        out[f"job_poll_us_{name}"] = round(statistics.median(polls), 2)
    return out


BENCHES = [time_to_97_digits_s, time_to_90_fashion_s, seed_recipe_time_to_90_fashion_s,
           draw_rerun_ms_p50_while_training, job_stop_latency_s]
