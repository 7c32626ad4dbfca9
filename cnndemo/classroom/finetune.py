"""Fine-tune a digits model on the class's own labelled drawings.

The teacher starts it from the class panel; it runs as a job (`cnndemo.jobs.worker` runs a
`FinetuneConfig` with `finetune`), never in the server's script thread. The label of a
drawing is what the student said they drew. Three things keep the figures honest:
- with enough drawings a quarter of them is held out and never trained on, so "after" on
  those is a real test; the drawings it trained on are reported too, as training accuracy;
- real MNIST digits are mixed into every epoch (replay), and the held-out digits are
  measured before and after, so forgetting shows;
- every figure is `train.evaluate` on the same tensors, before and after.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from cnndemo.core import checkpoints, data, train
from cnndemo.errors import UserError

MIN_DRAWINGS = 10        # labelled drawings needed before a fine-tune can start
HOLDOUT_FROM = 30        # from this many on, a quarter of the drawings is held out
HOLDOUT_FRACTION = 0.25
REPLAY_MIN, REPLAY_PER_DRAWING = 200, 2  # real digits mixed in: max(200, 2 per drawing)
MAX_EPOCHS = 30
ROWS = ("held", "trained", "digits")  # the results' rows, in the order the page shows them


class FinetuneError(UserError):
    prefix = "classroom.ft.err."


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tune job: the model file to start from and the class's drawings (784 bytes
    each, what the model read) with their labels. Plain values only: it travels to a job."""
    job_kind: ClassVar[str] = "finetune"  # how the job worker tells it from a TrainConfig
    model_path: str
    images: tuple = ()
    labels: tuple = ()
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 32
    replay: int | None = None  # real digits mixed in; None: max(200, 2 per drawing)
    augment: bool = False
    seed: int = 777
    device: str | None = None
    threads: int | None = None


@dataclass(frozen=True)
class Labelled:
    images: tuple
    labels: tuple
    unlabelled: int  # drawings nobody labelled (skipped)
    damaged: int     # stored images that are not a 28x28 drawing, or have no ink (skipped)

    def __len__(self) -> int:
        return len(self.labels)


def labelled(drawings) -> Labelled:
    """The drawings a fine-tune can use (store.Drawing rows), and how many it must skip."""
    images, labels, unlabelled, damaged = [], [], 0, 0
    for d in drawings:
        if d.label is None:
            unlabelled += 1
            continue
        img = d.image
        if (not isinstance(img, (bytes, bytearray, memoryview)) or len(img) != 784
                or not isinstance(d.label, int) or not 0 <= d.label <= 9 or not any(bytes(img))):
            damaged += 1
            continue
        images.append(bytes(img))
        labels.append(int(d.label))
    return Labelled(tuple(images), tuple(labels), unlabelled, damaged)


def n_replay(cfg: FinetuneConfig, n_train_drawings: int) -> int:
    return max(REPLAY_MIN, REPLAY_PER_DRAWING * n_train_drawings) if cfg.replay is None \
        else max(0, int(cfg.replay))


def split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(trained on, held out) indices: a quarter held out from HOLDOUT_FROM drawings on."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    held = math.ceil(n * HOLDOUT_FRACTION) if n >= HOLDOUT_FROM else 0
    return order[held:], order[:held]


def check(cfg: FinetuneConfig) -> None:
    n = len(cfg.labels)
    if len(cfg.images) != n:
        raise FinetuneError("mismatch", images=len(cfg.images), labels=n)
    if n < MIN_DRAWINGS:
        raise FinetuneError("too_few", n=n, need=MIN_DRAWINGS)
    if not 1 <= int(cfg.epochs) <= MAX_EPOCHS:
        raise FinetuneError("epochs", epochs=cfg.epochs, most=MAX_EPOCHS)
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise FinetuneError("lr", lr=cfg.lr)


def _tensors(images, labels) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.frombuffer(b"".join(images), dtype=np.uint8).reshape(-1, 28, 28).copy()
    return torch.from_numpy(x), torch.tensor(labels, dtype=torch.int64)


def _row(model, x, y) -> dict:
    if len(y) == 0:
        return {"n": 0, "acc": None, "loss": None}
    acc, loss = train.evaluate(model, x, y)
    return {"n": len(y), "acc": acc, "loss": loss}


def finetune(cfg: FinetuneConfig, callbacks: train.Callbacks | None = None, stop=None):
    """Train a fresh copy of the model in `cfg.model_path` on the drawings (plus replayed
    real digits). Returns (the fine-tuned model, plain results: before/after per row).
    Raises FinetuneError for bad input, checkpoints.CheckpointError for a bad model file,
    train.Diverged when the loss becomes NaN."""
    check(cfg)
    base = checkpoints.load(cfg.model_path)  # its own copy, loaded here: never a cached model
    if base.dataset != "mnist":
        raise FinetuneError("not_digits", name=base.name)
    ds = data.load("mnist")
    x, y = _tensors(cfg.images, cfg.labels)
    tr_idx, held_idx = split(len(y), cfg.seed)
    k = min(n_replay(cfg, len(tr_idx)), len(ds.train_y))
    replay = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(cfg.seed + 1))[:k]
    train_x = torch.cat([x[tr_idx], ds.train_x[replay]])
    train_y = torch.cat([y[tr_idx], ds.train_y[replay]])
    mix = data.DataSet("mnist", train_x, train_y, ds.test_x, ds.test_y, ds.source, ds.classes,
                       ds.test_kind)
    tcfg = train.TrainConfig(dataset="mnist", spec=base.meta["spec"], epochs=int(cfg.epochs),
                             optimizer="adam", lr=float(cfg.lr), seed=cfg.seed,
                             batch_size=min(int(cfg.batch_size), len(train_y)),
                             augment=cfg.augment, device=cfg.device)
    model = base.model
    sets = {"held": (x[held_idx], y[held_idx]), "trained": (x[tr_idx], y[tr_idx]),
            "digits": (ds.test_x, ds.test_y)}
    before = {name: _row(model, *xy) for name, xy in sets.items()}
    hist = train.fit(model, mix, tcfg, callbacks=callbacks, stop=stop)
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise train.Diverged(len(hist.train_loss), 0, hist)
    after = {name: _row(model, *xy) for name, xy in sets.items()}
    rows = {name: {"n": before[name]["n"], "before": before[name]["acc"],
                   "after": after[name]["acc"]} for name in ROWS}
    return model, {
        "rows": rows, "n_drawings": len(y), "n_trained": len(tr_idx), "n_held": len(held_idx),
        "n_replay": k, "epochs": int(cfg.epochs), "lr": float(cfg.lr), "stopped": hist.stopped,
        "seconds": hist.seconds, "device": hist.device, "base_name": base.name,
        "base_path": str(base.path), "digits_source": ds.source, "digits_kind": ds.test_kind,
        "history": {"train_acc": list(hist.train_acc), "test_acc": list(hist.test_acc)}}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:40] or "class"


def save(state_path: str, results: dict, stem: str, job_id: str) -> Path:
    """Save a finished job's weights as a user checkpoint (it then shows in the sidebar's
    model list). Saving the same job twice returns the first file."""
    folder = checkpoints.user_dir()
    stem = _slug(stem)
    for i in range(1, 1000):
        path = folder / (f"{stem}.pt" if i == 1 else f"{stem}-{i}.pt")
        if not path.exists():
            break
        try:
            if checkpoints.load(path).meta.get("finetune_job") == job_id:
                return path
        except checkpoints.CheckpointError:
            continue
    base = checkpoints.load(results["base_path"])
    model = base.model
    model.load_state_dict(torch.load(state_path, map_location="cpu", weights_only=True))
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise FinetuneError("nan")
    digits = results["rows"]["digits"]
    meta = checkpoints.make_meta(
        base.spec, "mnist", results["digits_source"], results["n_trained"] + results["n_replay"],
        digits["n"], results["digits_kind"], digits["after"], name=path.stem,
        classes=data.DIGIT_CLASSES, finetuned_from=base.name, finetune_job=job_id,
        class_drawings=results["n_drawings"], replay_digits=results["n_replay"],
        epochs=results["epochs"], lr=results["lr"], optimizer="adam")
    return checkpoints.save(path, model, meta)
