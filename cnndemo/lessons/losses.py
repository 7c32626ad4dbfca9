"""Softmax, entropy, cross-entropy, KL divergence, MSE and L1: the numbers of the loss lab.

Every value is computed with torch in float64, so the page shows exactly what a PyTorch
training loop would compute. Gradients come from autograd, never from a hand formula.

Conventions
- A distribution is a 1-D list of non-negative numbers. One that does not sum to 1 is
  normalised (``Distribution.normalised`` says so); a negative, non-finite or all-zero one
  raises ``LossInputError`` whose ``code`` names the problem (the page translates it).
- ``log 0`` never produces NaN: ``0 * log 0 = 0`` (``torch.xlogy``) and a true outcome with
  predicted probability 0 gives an infinite cross-entropy, which is the honest answer.
- MSE and L1 compare the probabilities with the one-hot label the way ``nn.MSELoss()`` and
  ``nn.L1Loss()`` do by default: averaged over the C classes (``reduction="mean"``). The
  course's per-sample ``||y - o||^2`` is the ``reduction="sum"`` variant (C times larger).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cnndemo.errors import UserError
from cnndemo.lessons import numbers

UNITS = ("nats", "bits")
LOSS_NAMES = ("ce", "mse", "l1")
_LOG_BASE = {"nats": 1.0, "bits": math.log(2.0)}


class LossInputError(UserError):
    """Bad input for the loss lab. ``code`` names the message (``losses.err.<code>``),
    ``info`` its details."""
    prefix = "losses.err."

    @property
    def info(self) -> dict:
        return self.fmt


@dataclass(frozen=True)
class Distribution:
    probs: np.ndarray  # float64, sums to 1
    raw_sum: float  # the sum of the numbers as given
    normalised: bool  # True when the input did not sum to 1 and was divided by raw_sum


@dataclass(frozen=True)
class ClassLosses:
    q: float  # probability given to the true class
    ce: float  # cross-entropy, in `unit` (inf when q == 0)
    mse: float
    l1: float
    unit: str


def _check_unit(unit: str) -> float:
    if unit not in _LOG_BASE:
        raise LossInputError("unit", f"unit must be one of {UNITS}, got {unit!r}", unit=unit)
    return _LOG_BASE[unit]


def parse_numbers(text: str) -> list[float]:
    """'0.5, 1/4 0.25' -> [0.5, 0.25, 0.25]. Accepts commas/spaces and fractions like 1/6."""
    found = numbers.tokens(text)
    if not found:
        raise LossInputError("empty", "no numbers given")
    out = []
    for tok in found:
        try:
            out.append(numbers.number(tok))
        except ValueError:
            raise LossInputError("bad_number", f"{tok!r} is not a number", token=tok) from None
    return out


def as_distribution(values, name: str = "p", tol: float = 1e-6) -> Distribution:
    """Validate a probability vector; normalise it (and say so) when it does not sum to 1."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise LossInputError("empty", f"{name} is empty", name=name)
    if not np.all(np.isfinite(arr)):
        raise LossInputError("not_finite", f"{name} contains a non-finite number", name=name)
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        i = int(neg[0])
        raise LossInputError("negative", f"{name}[{i}] = {arr[i]:g} is negative; probabilities "
                             "cannot be negative", name=name, index=i, value=float(arr[i]))
    total = float(arr.sum())
    if total <= 0:
        raise LossInputError("zero_sum", f"{name} sums to 0, so it is not a distribution", name=name)
    normalised = abs(total - 1.0) > tol
    return Distribution(probs=arr / total, raw_sum=total, normalised=normalised)


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _check_temperature(temperature: float) -> None:
    if not (math.isfinite(temperature) and temperature > 0):
        raise LossInputError("temperature", f"temperature must be > 0, got {temperature}",
                             value=temperature)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T): probabilities from scores. Small T sharpens, large T flattens."""
    _check_temperature(temperature)
    return torch.softmax(_t(logits) / temperature, dim=-1).numpy()


def softmax_terms(logits, k: int, temperature: float = 1.0) -> dict:
    """The numbers in p_k = exp(z_k/T) / sum_j exp(z_j/T), for printing the formula."""
    _check_temperature(temperature)
    z = _t(logits) / temperature
    exps = torch.exp(z)
    return {"z": float(_t(logits)[k]), "scaled": float(z[k]), "numerator": float(exps[k]),
            "denominator": float(exps.sum()), "p": float(torch.softmax(z, -1)[k])}


def entropy(p, unit: str = "nats") -> float:
    """H(p) = -sum p log p (0 log 0 = 0)."""
    base = _check_unit(unit)
    pt = _t(as_distribution(p, "p").probs)
    return float(-torch.xlogy(pt, pt).sum()) / base


def _pair(p, q) -> tuple[torch.Tensor, torch.Tensor]:
    pd, qd = as_distribution(p, "p"), as_distribution(q, "q")
    if pd.probs.size != qd.probs.size:
        raise LossInputError("length_mismatch", f"p has {pd.probs.size} entries but q has "
                             f"{qd.probs.size}", p=pd.probs.size, q=qd.probs.size)
    return _t(pd.probs), _t(qd.probs)


def cross_entropy(p, q, unit: str = "nats") -> float:
    """H(p, q) = -sum p log q; infinite when q gives 0 to an outcome that p says can happen."""
    base = _check_unit(unit)
    pt, qt = _pair(p, q)
    return float(-torch.xlogy(pt, qt).sum()) / base


def kl_divergence(p, q, unit: str = "nats") -> float:
    """KL(p || q) = sum p log(p / q) = H(p, q) - H(p) >= 0."""
    base = _check_unit(unit)
    pt, qt = _pair(p, q)
    return float((torch.xlogy(pt, pt) - torch.xlogy(pt, qt)).sum()) / base


def one_hot(k: int, n: int) -> np.ndarray:
    if not 0 <= k < n:
        raise LossInputError("class_index", f"true class {k} is not in 0..{n - 1}", k=k, n=n)
    y = np.zeros(n)
    y[k] = 1.0
    return y


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return x.mean(dim=-1)
    if reduction == "sum":
        return x.sum(dim=-1)
    raise LossInputError("reduction", f"reduction must be 'mean' or 'sum', got {reduction!r}")


def _losses_t(probs: torch.Tensor, y: torch.Tensor, reduction: str) -> dict:
    """The three per-sample losses of probability rows `probs` against one-hot rows `y`."""
    return {"ce": -torch.xlogy(y, probs).sum(dim=-1),
            "mse": _reduce((probs - y) ** 2, reduction),
            "l1": _reduce((probs - y).abs(), reduction)}


def class_losses(probs, true_class: int, unit: str = "nats", reduction: str = "mean") -> ClassLosses:
    """CE, MSE and L1 of one predicted distribution against the one-hot label `true_class`."""
    base = _check_unit(unit)
    dist = as_distribution(probs, "q")
    y = one_hot(true_class, dist.probs.size)
    vals = _losses_t(_t(dist.probs), _t(y), reduction)
    return ClassLosses(q=float(dist.probs[true_class]), ce=float(vals["ce"]) / base,
                       mse=float(vals["mse"]), l1=float(vals["l1"]), unit=unit)


def rest_shares(probs, true_class: int) -> np.ndarray:
    """How the probability not given to the true class is shared among the other classes."""
    dist = as_distribution(probs, "q").probs.copy()
    n = dist.size
    one_hot(true_class, n)
    dist[true_class] = 0.0
    rest = dist.sum()
    if n == 1:
        return dist
    return dist / rest if rest > 0 else np.where(np.arange(n) == true_class, 0.0, 1.0 / (n - 1))


def loss_curves(probs, true_class: int, qs, unit: str = "nats", reduction: str = "mean") -> dict:
    """The three losses as the true class's probability q sweeps `qs`, the other classes keeping
    their current shares of 1 - q (so the current distribution lies on the curves)."""
    base = _check_unit(unit)
    shares = _t(rest_shares(probs, true_class))
    n = shares.numel()
    qt = _t(qs).reshape(-1, 1)
    rows = (1 - qt) * shares.reshape(1, -1)
    rows[:, true_class] = qt[:, 0]
    y = _t(one_hot(true_class, n)).expand_as(rows)
    vals = _losses_t(rows, y, reduction)
    vals["ce"] = vals["ce"] / base
    return {k: v.numpy() for k, v in vals.items()}


def _loss_of_logits(z: torch.Tensor, true_class: int, name: str, temperature: float,
                    reduction: str) -> torch.Tensor:
    probs = torch.softmax(z / temperature, dim=-1)
    y = torch.zeros_like(probs)
    y[..., true_class] = 1.0
    if name == "ce":  # log_softmax keeps the gradient finite even where softmax underflows
        return -(y * torch.log_softmax(z / temperature, dim=-1)).sum(dim=-1)
    return _losses_t(probs, y, reduction)[name]


def logit_gradients(logits, true_class: int, temperature: float = 1.0,
                    reduction: str = "mean") -> dict:
    """d loss / d logits (a vector per loss, from autograd) at the current logits."""
    _check_temperature(temperature)
    n = len(np.asarray(logits).reshape(-1))
    one_hot(true_class, n)
    out = {}
    for name in LOSS_NAMES:
        z = _t(logits).clone().requires_grad_(True)
        _loss_of_logits(z, true_class, name, temperature, reduction).backward()
        out[name] = z.grad.numpy().copy()
    return out


def gradient_curves(logits, true_class: int, z_values, temperature: float = 1.0,
                    reduction: str = "mean") -> dict:
    """d loss / d z_true (autograd) as the true class's logit sweeps `z_values`, the other
    logits fixed. Also returns the probability of the true class along the sweep as "q"."""
    _check_temperature(temperature)
    base = _t(logits).reshape(-1)
    one_hot(true_class, base.numel())
    zs = _t(z_values).reshape(-1)
    out = {}
    for name in LOSS_NAMES:
        sweep = zs.clone().requires_grad_(True)
        rows = base.reshape(1, -1).repeat(zs.numel(), 1)
        rows = torch.cat([rows[:, :true_class], sweep.reshape(-1, 1), rows[:, true_class + 1:]], 1)
        _loss_of_logits(rows, true_class, name, temperature, reduction).sum().backward()
        out[name] = sweep.grad.numpy().copy()
    rows = base.reshape(1, -1).repeat(zs.numel(), 1)
    rows[:, true_class] = zs
    out["q"] = torch.softmax(rows / temperature, -1)[:, true_class].numpy()
    return out


# Course presets -------------------------------------------------------------------------

# Ten logits for digits 0..9 with the true class 3 (the course's example 5-1 uses class 3).
LOGIT_PRESETS = {
    "right": [0.5, 1.0, 0.0, 7.0, 0.0, 1.5, 0.0, 0.5, 2.0, 0.0],
    "wrong": [0.5, 7.0, 0.0, 1.0, 0.0, 1.5, 0.0, 0.5, 2.0, 0.0],
    "unsure": [0.2, 0.5, 0.1, 1.6, 0.3, 1.2, 0.0, 0.4, 1.4, 0.2],
}
PRESET_TRUE_CLASS = 3

# The course's cat-vs-dog table (seeds 000, 004): two classes, true = cat, P(cat) = q.
COURSE_TABLE_QS = (0.9, 0.3, 0.1)


def course_table(unit: str = "nats") -> list[dict]:
    """Rows q, CE, MSE, L1 for the course's two-class example (classes: dog, cat; true = cat)."""
    rows = []
    for q in COURSE_TABLE_QS:
        v = class_losses([1 - q, q], 1, unit)
        rows.append({"q": q, "ce": v.ce, "mse": v.mse, "l1": v.l1})
    return rows


# name -> (p, q or None, unit). q=None means "just the entropy of p" (q is then p itself).
ENTROPY_PRESETS = {
    "coin": ("1/2, 1/2", "1/2, 1/2", "bits"),
    "coin_guess": ("1/2, 1/2", "1/4, 3/4", "bits"),
    "cars": ("1/2, 1/4, 1/8, 1/8", "1/2, 1/4, 1/8, 1/8", "bits"),
    "cars_uniform": ("1/2, 1/4, 1/8, 1/8", "1/4, 1/4, 1/4, 1/4", "bits"),
    "die": ("1/6, 1/6, 1/6, 1/6, 1/6, 1/6", "1/6, 1/6, 1/6, 1/6, 1/6, 1/6", "nats"),
    "loaded_die": ("1/6, 1/6, 1/6, 1/6, 1/6, 1/6", "1/2, 1/10, 1/10, 1/10, 1/10, 1/10", "nats"),
}


def information(p, q, unit: str = "nats") -> dict:
    """H(p), H(p, q) and KL(p || q) together, plus the normalisation flags of p and q."""
    pd, qd = as_distribution(p, "p"), as_distribution(q, "q")
    return {"h_p": entropy(pd.probs, unit), "h_pq": cross_entropy(pd.probs, qd.probs, unit),
            "kl": kl_divergence(pd.probs, qd.probs, unit), "p": pd, "q": qd, "unit": unit}
