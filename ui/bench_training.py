"""Benchmarks of the training lab, run by `python -m cnndemo bench` only (never by tests).

- time_to_97_digits_s: the page's default quick run (CNN B, Adam, batch 64) on the digits
  until the held-out accuracy reaches 97%;
- time_to_90_fashion_s: the same recipe on all of Fashion-MNIST until 90% test accuracy;
- seed_recipe_time_to_90_fashion_s: the course's recipe (Adam lr 0.001, batch 100, CNN B)
  through the course's loop (torchvision-style dataset with a per-image ToTensor, a
  shuffling DataLoader with drop_last, evaluation after each epoch), to the same accuracy;
- draw_rerun_ms_p50_while_training: the Draw page's rerun time while two jobs train.
Each training bench uses as many torch threads as one training job gets on this machine.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from cnndemo import data, jobs, train

ROOT = Path(__file__).resolve().parent.parent


def _threads() -> int:
    return jobs.default_threads(jobs.default_max_running())


def _quick(dataset: str, target: float, max_epochs: int) -> dict:
    """Seconds of `train.fit` with the page's defaults until test accuracy >= target."""
    ds = data.load(dataset)
    cfg = train.TrainConfig(dataset=dataset, preset="course-b", optimizer="adam", lr=1e-3,
                            batch_size=64, epochs=max_epochs, threads=_threads())
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


def time_to_97_digits_s(max_epochs: int = 20) -> dict:
    r = _quick("mnist", 0.97, max_epochs)
    return {"time_to_97_digits_s": r["seconds"], "time_to_97_digits_detail": r}


def time_to_90_fashion_s(max_epochs: int = 15) -> dict:
    r = _quick("fashion-mnist", 0.90, max_epochs)
    return {"time_to_90_fashion_s": r["seconds"], "time_to_90_fashion_detail": r}


def seed_recipe_time_to_90_fashion_s(max_epochs: int = 15) -> dict:
    """The course's loop, as written in the notes (seed 002), on Fashion-MNIST."""
    from PIL import Image
    from torchvision import transforms

    torch.set_num_threads(_threads())
    ds = data.load("fashion-mnist")
    device = train.pick_device()

    class CourseDataset(torch.utils.data.Dataset):  # what torchvision.datasets.FashionMNIST does
        def __init__(self, x, y):
            self.x, self.y, self.tf = x, y, transforms.ToTensor()

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.tf(Image.fromarray(self.x[i].numpy(), mode="L")), int(self.y[i])

    torch.manual_seed(777)
    loader = torch.utils.data.DataLoader(CourseDataset(ds.train_x, ds.train_y), batch_size=100,
                                         shuffle=True, drop_last=True)
    test = torch.utils.data.DataLoader(CourseDataset(ds.test_x, ds.test_y), batch_size=1000)
    model = train.make_model(train.TrainConfig(preset="course-b")).to(device)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    t0, result = time.perf_counter(), None
    for epoch in range(1, max_epochs + 1):
        model.train()
        for X, Y in loader:
            X, Y = X.to(device), Y.to(device)
            optimizer.zero_grad()
            cost = criterion(model(X), Y)
            cost.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for X, Y in test:
                correct += (model(X.to(device)).argmax(1) == Y.to(device)).sum().item()
        acc = correct / len(ds.test_y)
        if acc >= 0.90:
            result = {"seconds": round(time.perf_counter() - t0, 2), "epochs": epoch, "acc": acc}
            break
    return {"seed_recipe_time_to_90_fashion_s": result["seconds"] if result else None,
            "seed_recipe_detail": result or {"reached": False, "epochs": max_epochs}}


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


BENCHES = [time_to_97_digits_s, time_to_90_fashion_s, seed_recipe_time_to_90_fashion_s,
           draw_rerun_ms_p50_while_training]
