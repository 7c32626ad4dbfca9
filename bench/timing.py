"""Timing helpers and the course's own training loop, shared by every benchmark."""
from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from cnndemo.core import train


def p50_ms(fn, repeats: int = 50, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


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
    for epoch in range(1, epochs + 1):  # noqa: B007 (the last epoch is returned)
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
