"""The training engine: the course's loop, made fast and observable.

`fit` is the loop the course teaches (zero_grad -> forward -> loss -> backward -> step),
with three differences that matter in a classroom:
- the whole dataset is one uint8 tensor on the device and batches are indexed from it,
  so there is no per-sample `ToTensor` or `DataLoader` in the hot loop;
- it knows nothing about the UI: it reports through callbacks (as in minGPT);
- it checks a stop flag between batches and stops on NaN with a clear error.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnndemo import i18n
from cnndemo.core import arch, seeding
from cnndemo.core.data import DataSet, to_float
from cnndemo.errors import UserError

LOSSES = ("ce", "mse", "l1")
# The one optimizer table: name -> (torch.optim class, its settings besides the learning
# rate). The training lab and the CLI pick by name; the gradients lesson races these.
OPTIMIZER_CLASSES = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
}
OPTIMIZERS = tuple(OPTIMIZER_CLASSES)
SCHEDULES = ("constant", "cosine")


def pick_device(override: str | None = None) -> torch.device:
    """cuda, then mps, then cpu; an explicit choice wins."""
    if override:
        return torch.device(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class SettingsError(UserError):
    """A training setting that cannot work (`training.err.<code>`); a layer that does not
    fit carries its `arch.SpecError` as `spec_error`, worded in the UI language too."""
    prefix = "training.err."

    def localized(self, lang: str, page: str = "") -> str:
        if "spec_error" in self.fmt:
            fmt = {**self.fmt, "why": self.fmt["spec_error"].localized(lang)}
            return i18n.t(self.locale_key(), lang, **fmt)
        return super().localized(lang, page)


@dataclass
class TrainConfig:
    dataset: str = "mnist"
    preset: str = "course-b"
    spec: list | None = None          # layer dicts; overrides `preset` when given
    input_shape: tuple = (1, 28, 28)
    epochs: int = 1
    loss: str = "ce"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 100
    seed: int = 777
    train_subset: int | None = None
    test_subset: int | None = None
    augment: bool = False
    schedule: str = "constant"        # "cosine": the learning rate decays to 0 over the run
    device: str | None = None
    threads: int | None = None

    def layers(self) -> list:
        if self.spec is not None:
            return arch.spec_from_dicts(self.spec)
        return arch.preset(self.preset).spec

    def problems(self, n_train: int | None = None) -> list[SettingsError]:
        """Every impossible setting, before anything runs: the one settings check behind
        the training lab's messages and `validate`."""
        found = []
        for what, value, known in (("loss", self.loss, LOSSES), ("optimizer", self.optimizer, OPTIMIZERS),
                                   ("schedule", self.schedule, SCHEDULES)):
            if value not in known:
                found.append(SettingsError(what, value=value, known=", ".join(known)))
        if not (self.lr > 0 and math.isfinite(self.lr)):
            found.append(SettingsError("lr", lr=self.lr))
        if self.batch_size < 1:
            found.append(SettingsError("batch_size"))
        n = min(n_train, self.train_subset or n_train) if n_train else self.train_subset
        if n is not None and self.batch_size > n:
            found.append(SettingsError("batch", batch=self.batch_size, n=n))
        if self.epochs < 1:
            found.append(SettingsError("epochs"))
        analysis = arch.analyze(self.layers(), tuple(self.input_shape))
        if analysis.error is not None:
            e = analysis.error
            found.append(SettingsError("arch", layer=e.layer_name, why=e.message, spec_error=e))
        elif not analysis.rows or analysis.rows[-1].output_shape[1:] != (10,):
            shape = list(analysis.rows[-1].output_shape) if analysis.rows else []
            found.append(SettingsError("outputs", shape=shape))
        if tuple(self.input_shape) != (1, 28, 28):
            found.append(SettingsError("input", shape=list(self.input_shape)))
        return found

    def validate(self, n_train: int | None = None) -> None:
        """Refuse impossible settings before anything runs, with the first reason."""
        for problem in self.problems(n_train):
            raise problem.fmt.get("spec_error", problem)


class Diverged(RuntimeError):
    def __init__(self, epoch: int, batch: int, history: History):
        self.epoch, self.batch, self.history = epoch, batch, history
        super().__init__(f"Training diverged at epoch {epoch}, batch {batch}: the loss became "
                         "NaN or infinite. Try a smaller learning rate.")


@dataclass
class History:
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    batches: list = field(default_factory=list)
    stopped: bool = False
    samples_per_s: float = 0.0
    device: str = "cpu"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Callbacks:
    on_batch_end: Callable[[dict], None] | None = None
    on_epoch_end: Callable[[dict], None] | None = None


def make_model(cfg: TrainConfig) -> nn.Module:
    """The model with its initial weights drawn from a generator seeded with `cfg.seed`
    (the same weights as the global generator seeded with cfg.seed, without touching it)."""
    return seeding.init_parameters(arch.build(cfg.layers()), cfg.seed)


def loss_value(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Cross-entropy on logits; MSE and L1 on softmax against one-hot (as the course compares)."""
    if kind == "ce":
        return F.cross_entropy(logits, y)
    probs = logits.softmax(dim=1)
    onehot = F.one_hot(y, probs.shape[1]).to(probs.dtype)
    if kind == "mse":
        return F.mse_loss(probs, onehot)
    return F.l1_loss(probs, onehot)


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    cls, kwargs = OPTIMIZER_CLASSES[cfg.optimizer]
    if "momentum" in kwargs:  # the config's momentum wins over the table's default
        kwargs = {**kwargs, "momentum": cfg.momentum}
    return cls(params, lr=cfg.lr, **kwargs)


def make_schedule(opt, kind: str, total_steps: int):
    """Cosine decay from the chosen rate to 0 over the run (None: a constant rate).
    A short classroom run gets most of the accuracy of a long one this way."""
    if kind != "cosine":
        return None
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)))


def augment_batch(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts (up to 3 px), rotations (up to 15 degrees) and scaling, batch-wise.
    Width and height scale separately, since hand-drawn digits come narrow and wide."""
    n = x.shape[0]
    r = lambda lo, hi: torch.rand(n, generator=gen, device=gen.device) * (hi - lo) + lo  # noqa: E731
    ang = r(-15, 15) * math.pi / 180
    sx, sy = r(0.8, 1.2), r(0.85, 1.15)
    tx, ty = r(-3 / 14, 3 / 14), r(-3 / 14, 3 / 14)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos / sx, -sin / sy, tx], 1),
                         torch.stack([sin / sx, cos / sy, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@torch.no_grad()
def evaluate(model: nn.Module, x_uint8: torch.Tensor, y: torch.Tensor, device=None,
             batch_size: int = 1000, loss: str = "ce") -> tuple[float, float]:
    """Accuracy and mean loss over a uint8 image tensor, in eval mode, without gradients."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct, total_loss = 0, 0.0
    for i in range(0, len(y), batch_size):
        xb = to_float(x_uint8[i:i + batch_size].to(device))
        yb = y[i:i + batch_size].to(device)
        logits = model(xb).float()
        total_loss += loss_value(logits, yb, loss).item() * len(yb)
        correct += (logits.argmax(1) == yb).sum().item()
    model.train(was_training)
    n = max(len(y), 1)
    return correct / n, total_loss / n


@torch.no_grad()
def predict_probs(model: nn.Module, x_float: torch.Tensor) -> torch.Tensor:
    """Class probabilities from a model in eval mode. The model is not switched to eval
    here: a loaded model is shared by the class and must not be changed per request."""
    if model.training:
        raise ValueError("predict_probs needs a model in eval mode; call model.eval() first")
    return model(x_float).softmax(dim=1)


def dropout_forward(model: nn.Module, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """`model(x)`, with each Dropout's mask drawn from `gen` instead of torch's global
    generator, exactly as `F.dropout` draws it (keep with probability 1 - p, scale by
    1 / (1 - p)). Other models, and models in eval mode, are simply called."""
    if not (model.training and isinstance(model, nn.Sequential)
            and any(isinstance(m, nn.Dropout) for m in model)):
        return model(x)
    for layer in model:
        if isinstance(layer, nn.Dropout) and layer.training and layer.p > 0:
            keep = 1 - layer.p
            noise = torch.empty_like(x).bernoulli_(keep, generator=gen).div_(keep) if keep else 0
            x = x * noise
        else:
            x = layer(x)
    return x


def fit(model: nn.Module, data: DataSet, cfg: TrainConfig, callbacks: Callbacks | None = None,
        stop=None) -> History:
    """Train `model` in place. Every random draw (shuffling, augmentation, dropout) comes
    from generators seeded with `cfg.seed`, so runs are reproducible even while other
    threads train or reseed. Threads are the caller's business: a job's worker process
    sets them (cnndemo.jobs.worker); the class's server must not change them per request."""
    cb = callbacks or Callbacks()
    cfg.validate(len(data.train_y))
    device = pick_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    gen = seeding.generator(cfg.seed, device)
    drop_gen = seeding.generator(cfg.seed, device)  # its own stream: shuffling stays as it was
    n = min(len(data.train_y), cfg.train_subset or len(data.train_y))
    train_x, train_y = data.train_x[:n].to(device), data.train_y[:n].to(device)
    m = min(len(data.test_y), cfg.test_subset or len(data.test_y))
    test_x, test_y = data.test_x[:m].to(device), data.test_y[:m].to(device)
    model.to(device).train()
    opt = make_optimizer(model.parameters(), cfg)
    amp = device.type == "cuda" and torch.cuda.is_bf16_supported()
    hist = History(device=str(device))
    n_batches = math.ceil(n / cfg.batch_size)
    sched = make_schedule(opt, cfg.schedule, cfg.epochs * n_batches)
    t0, seen = time.perf_counter(), 0
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(n, generator=gen, device=device)
        run_loss, run_correct, run_n = 0.0, 0, 0
        for b in range(n_batches):
            if stop is not None and stop.is_set():
                hist.stopped = True
                break
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            xb, yb = to_float(train_x[idx]), train_y[idx]
            if cfg.augment:
                xb = augment_batch(xb, gen)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = dropout_forward(model, xb, drop_gen)
            loss = loss_value(logits.float(), yb, cfg.loss)
            if not torch.isfinite(loss):
                hist.seconds = time.perf_counter() - t0
                raise Diverged(epoch, b + 1, hist)
            loss.backward()
            opt.step()
            lr_used = opt.param_groups[0]["lr"]
            if sched is not None:
                sched.step()
            k = len(yb)
            seen += k
            run_loss += loss.item() * k
            run_correct += (logits.argmax(1) == yb).sum().item()
            run_n += k
            info = {"epoch": epoch, "batch": b + 1, "n_batches": n_batches, "loss": loss.item(),
                    "acc": run_correct / run_n, "seen": seen, "lr": lr_used,
                    "samples_per_s": seen / max(time.perf_counter() - t0, 1e-9)}
            hist.batches.append(info)
            if cb.on_batch_end:
                cb.on_batch_end(info)
        if run_n == 0:
            break
        test_acc, test_loss = evaluate(model, test_x, test_y, device, loss=cfg.loss)
        model.train()
        hist.train_loss.append(run_loss / run_n)
        hist.train_acc.append(run_correct / run_n)
        hist.test_loss.append(test_loss)
        hist.test_acc.append(test_acc)
        hist.seconds = time.perf_counter() - t0
        hist.samples_per_s = seen / max(hist.seconds, 1e-9)
        if cb.on_epoch_end:
            cb.on_epoch_end({"epoch": epoch, "train_loss": hist.train_loss[-1],
                             "train_acc": hist.train_acc[-1], "test_loss": test_loss,
                             "test_acc": test_acc, "seconds": hist.seconds})
        if hist.stopped:
            break
    hist.seconds = time.perf_counter() - t0
    hist.samples_per_s = seen / max(hist.seconds, 1e-9)
    model.eval()
    return hist
