"""Fair comparison experiments from the course, and what a finished run's results show.

A fair comparison changes one thing only. Every run of an experiment starts from the same
initial weights (layers the architectures share get identical weights), sees the training
samples in the same order (same seed for the shuffling generator) and is measured on the
same test set. `initial_models` makes the first part explicit rather than trusting that
re-seeding happens to give the same numbers.

Course experiments (seed 001 and 002), scaled to a lesson on a CPU:
- 5-10: the deep MLP trained with MSE and with cross-entropy (Adam, lr 0.001);
- 5-11: SGD, AdaGrad, RMSprop and Adam (all lr 0.001, batch 128) on Fashion-MNIST;
- seed-002: the 3-conv "deeper" CNN C against the 2-conv CNN B (Adam, lr 0.001, batch 100).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from cnndemo.core import arch, seeding, train
from cnndemo.core.data import to_float


@dataclass(frozen=True)
class Experiment:
    name: str
    base: dict            # TrainConfig fields shared by every run
    runs: tuple           # (label, {field: value}) changed per run
    gpu_base: dict        # what changes when a GPU is there: the course's full size


EXPERIMENTS = {
    "5-10": Experiment(
        "5-10", dict(dataset="mnist", preset="deep-mlp", optimizer="adam", lr=1e-3,
                     batch_size=128, epochs=8, train_subset=4000, seed=777),
        (("MSE", {"loss": "mse"}), ("Cross-entropy", {"loss": "ce"})),
        dict(epochs=30, train_subset=None)),
    "5-11": Experiment(
        "5-11", dict(dataset="fashion-mnist", preset="deep-mlp", loss="ce", lr=1e-3,
                     batch_size=128, epochs=4, train_subset=6000, test_subset=2000, seed=777),
        (("SGD", {"optimizer": "sgd"}), ("AdaGrad", {"optimizer": "adagrad"}),
         ("RMSprop", {"optimizer": "rmsprop"}), ("Adam", {"optimizer": "adam"})),
        dict(epochs=30, train_subset=None, test_subset=None)),
    "seed-002": Experiment(
        "seed-002", dict(dataset="mnist", optimizer="adam", lr=1e-3, batch_size=100,
                         epochs=3, train_subset=4000, seed=777),
        (("CNN B (2 conv)", {"preset": "course-b"}), ("CNN C (3 conv)", {"preset": "course-c"})),
        dict(epochs=15, train_subset=None)),
}


def experiment_configs(name: str, gpu: bool = False, **override) -> list[tuple[str, train.TrainConfig]]:
    """The (label, TrainConfig) pairs of a course experiment; `override` applies to all runs."""
    exp = EXPERIMENTS[name]
    base = {**exp.base, **(exp.gpu_base if gpu else {}), **override}
    return [(label, train.TrainConfig(**{**base, **change})) for label, change in exp.runs]


def spec_dicts(cfg) -> list[dict]:
    return arch.spec_to_dicts(cfg.layers())


def initial_models(cfgs: list) -> list[torch.nn.Module]:
    """One freshly initialised model per config, with identical weights wherever possible.

    Runs with the same architecture get exactly the first run's weights; a different
    architecture gets them for the layers it shares with the first run's (same layer, same
    place, from the start of the network), so CNN B and CNN C start from the same convs.
    """
    models = [train.make_model(cfg) for cfg in cfgs]
    if not models:
        return models
    ref_spec, ref_state = spec_dicts(cfgs[0]), models[0].state_dict()
    for cfg, model in zip(cfgs[1:], models[1:]):
        spec = spec_dicts(cfg)
        shared = 0
        while shared < min(len(spec), len(ref_spec)) and spec[shared] == ref_spec[shared]:
            shared += 1
        state = model.state_dict()
        for key in state:
            if int(key.split(".")[0]) < shared and state[key].shape == ref_state[key].shape:
                state[key] = ref_state[key].clone()
        model.load_state_dict(state)
    return models


def check_settings(cfg: train.TrainConfig, n_train: int) -> list[train.SettingsError]:
    """Impossible settings, before anything runs."""
    return cfg.problems(n_train)


@torch.no_grad()
def compute_results(model: torch.nn.Module, data, device=None, test_subset: int | None = None,
                    top_k: int = 24, batch_size: int = 1000) -> dict:
    """Test-set results: accuracy, per-class accuracy, confusion matrix, confident mistakes.

    Uses the same first `test_subset` test samples as `train.fit`. Plain lists only, so the
    result can travel between processes without torch.
    """
    dev = train.pick_device(device)
    model = model.to(dev).eval()
    m = min(len(data.test_y), test_subset or len(data.test_y))
    probs = []
    for i in range(0, m, batch_size):
        xb = to_float(data.test_x[i:min(i + batch_size, m)].to(dev))
        probs.append(model(xb).float().softmax(dim=1).cpu())
    model.cpu()
    p = torch.cat(probs).numpy()
    y = data.test_y[:m].numpy()
    return results_from_probs(p, y, list(data.classes), top_k)


def results_from_probs(p: np.ndarray, y: np.ndarray, classes: list, top_k: int = 24) -> dict:
    pred = p.argmax(1)
    conf = p.max(1)
    k = len(classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    per_class = [float(cm[c, c] / cm[c].sum()) if cm[c].sum() else None for c in range(k)]
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:top_k]
    mistakes = [{"index": int(i), "true": int(y[i]), "pred": int(pred[i]),
                 "conf": float(conf[i])} for i in order]
    return {"acc": float((pred == y).mean()) if len(y) else 0.0, "n": int(len(y)),
            "per_class_acc": per_class, "confusion": cm.tolist(), "classes": classes,
            "pred": pred.tolist(), "conf": conf.astype(float).round(4).tolist(),
            "mistakes": mistakes}


def cell_indices(results: dict, true_class: int, pred_class: int, labels) -> list[int]:
    """Test-set indices whose label is `true_class` and prediction is `pred_class`."""
    pred = np.asarray(results["pred"])
    conf = np.asarray(results["conf"])
    idx = np.flatnonzero((np.asarray(labels) == true_class) & (pred == pred_class))
    return idx[np.argsort(-conf[idx], kind="stable")].tolist()


def overfitting_epoch(train_loss: list, test_loss: list, tol: float = 0.03) -> int | None:
    """The epoch (1-based) after which the test loss rises while the train loss still falls.

    That is the epoch with the lowest test loss, provided a later epoch has a test loss
    higher by more than `tol` (relative: 3% by default, so noise is not called over-fitting)
    and a lower train loss; None when there is no such pattern.
    """
    n = min(len(train_loss), len(test_loss))
    if n < 2:
        return None
    best = int(np.argmin(test_loss[:n]))
    for e in range(best + 1, n):
        if test_loss[e] > test_loss[best] * (1 + tol) and train_loss[e] < train_loss[best]:
            return best + 1
    return None


def measure_samples_per_s(cfg: train.TrainConfig, batches: int = 3) -> float:
    """Training samples per second of this model on this device, from a few real steps,
    with the calling process's torch threads. `cfg.threads` is not applied: torch's thread
    count is process-wide, and the class's server must not change it per request."""
    dev = train.pick_device(cfg.device)
    gen = seeding.generator(cfg.seed, dev)
    model = train.make_model(cfg).to(dev).train()
    opt = train.make_optimizer(model.parameters(), cfg)
    x = torch.rand(cfg.batch_size, *cfg.input_shape, device=dev, generator=gen)
    y = torch.randint(0, 10, (cfg.batch_size,), device=dev, generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        train.loss_value(train.dropout_forward(model, x, gen).float(), y, cfg.loss).backward()
        opt.step()

    step()  # the first step pays for allocation and kernel choice
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return batches * cfg.batch_size / max(time.perf_counter() - t0, 1e-9)


def expected_seconds(cfg: train.TrainConfig, n_train: int, n_test: int,
                     samples_per_s: float) -> float:
    """Training time estimate: epochs x (train samples + a third for each test pass) / speed."""
    n = min(n_train, cfg.train_subset or n_train)
    m = min(n_test, cfg.test_subset or n_test)
    return cfg.epochs * (n + m / 3) / max(samples_per_s, 1e-9)

