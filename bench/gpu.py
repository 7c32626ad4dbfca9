"""`python -m cnndemo bench --gpu`: the CUDA path measured, on a machine with an NVIDIA GPU.

- gpu_time_to_90_fashion_s: the training engine (data on the device as one uint8 tensor, bf16
  autocast, cudnn.benchmark) with the page's recipe (CNN B, Adam lr 0.002, cosine decay)
  on all of Fashion-MNIST, until 90% test accuracy;
- gpu_engine_samples_per_s and gpu_course_loop_samples_per_s: one epoch each, the engine
  against the course's loop (per-image ToTensor, a shuffling DataLoader, batch 100) on the
  same GPU in the same run, and their ratio.
On a machine without CUDA it refuses: there is nothing to measure, and a CPU figure under a
GPU name would mislead.
"""
from __future__ import annotations

import dataclasses
import time

import torch

from bench.timing import seed_loop
from cnndemo.core import data, train


class NoGpu(RuntimeError):
    pass


def _device() -> torch.device:
    if not torch.cuda.is_available():
        raise NoGpu("bench --gpu needs an NVIDIA GPU with CUDA; torch.cuda.is_available() "
                    f"is False here (torch {torch.__version__}, CUDA build "
                    f"{torch.version.cuda or 'none'}). Run it on the GPU machine.")
    return torch.device("cuda")


def _sync_seconds(t0: float) -> float:
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def time_to_90(ds, batch_size: int = 256, epochs: int = 6) -> dict:
    cfg = train.TrainConfig(dataset="fashion-mnist", preset="course-b", optimizer="adam",
                            lr=2e-3, batch_size=batch_size, epochs=epochs, schedule="cosine",
                            device="cuda")
    hit: dict = {}

    class Stop:
        def is_set(self):
            return bool(hit)

    def on_epoch(info):
        if not hit and info["test_acc"] >= 0.90:
            hit.update(seconds=round(info["seconds"], 2), epoch=info["epoch"],
                       acc=info["test_acc"])

    hist = train.fit(train.make_model(cfg), ds, cfg, train.Callbacks(on_epoch_end=on_epoch),
                     stop=Stop())
    return {"gpu_time_to_90_fashion_s": hit.get("seconds"),
            "gpu_time_to_90_detail": {**hit, "batch_size": batch_size,
                                      "best_acc": max(hist.test_acc)}}


def samples_per_s(ds, device: torch.device, batch_size: int = 100) -> dict:
    """One epoch of each loop at the course's batch size, after a short warm-up of each."""
    cfg = train.TrainConfig(dataset="fashion-mnist", preset="course-b", epochs=1,
                            batch_size=batch_size, device="cuda", test_subset=1000)
    train.fit(train.make_model(cfg), ds, dataclasses.replace(cfg, train_subset=2000))
    hist = train.fit(train.make_model(cfg), ds, cfg)
    engine = hist.samples_per_s
    seed_loop(train.make_model(cfg), ds.train_x[:2000], ds.train_y[:2000], device=device)
    t0 = time.perf_counter()
    run = seed_loop(train.make_model(cfg), ds.train_x, ds.train_y, batch_size=batch_size,
                    device=device)
    course = run["seen"] / _sync_seconds(t0)
    return {"gpu_engine_samples_per_s": round(engine),
            "gpu_course_loop_samples_per_s": round(course),
            "gpu_speedup_vs_course_loop": round(engine / course, 2),
            "gpu_name": torch.cuda.get_device_name(device)}


def run() -> dict:
    device = _device()
    ds = data.load("fashion-mnist")
    return {**time_to_90(ds), **samples_per_s(ds, device)}
