"""Deep networks and optimizers: vanishing gradients, and torch.optim racing on a surface."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnndemo.core import seeding, train
from cnndemo.lessons.gradients import BadInput, activation_module, check_lr, check_steps, descend

# --- 5. vanishing gradients --------------------------------------------------------------

DEEP_ACTIVATIONS = ("sigmoid", "tanh", "relu")  # the ones with a classic initialisation rule
INITS = ("default", "scaled")  # scaled = Xavier for sigmoid/tanh, He (Kaiming) for ReLU
MIN_DEPTH, MAX_DEPTH = 2, 20


def deep_mlp(depth: int, activation: str = "sigmoid", init: str = "default",
             width: int = 64, seed: int = 777) -> nn.Sequential:
    """784 -> width -> ... -> 10 with ``depth`` Linear layers and the activation between."""
    if not MIN_DEPTH <= depth <= MAX_DEPTH:
        raise BadInput("depth", f"Depth must be between {MIN_DEPTH} and {MAX_DEPTH}.",
                       lo=MIN_DEPTH, hi=MAX_DEPTH)
    if activation not in DEEP_ACTIVATIONS:
        raise BadInput("activation", f"Unknown activation {activation!r}.", name=activation)
    if init not in INITS:
        raise BadInput("init", f"Unknown initialisation {init!r}.", name=init)
    gen = seeding.generator(seed)
    layers, d = [], 784
    for _ in range(depth - 1):
        layers += [nn.Linear(d, width), activation_module(activation)]
        d = width
    layers.append(nn.Linear(d, 10))
    model = seeding.init_parameters(nn.Sequential(*layers), gen)
    if init == "scaled":
        for m in model:
            if isinstance(m, nn.Linear):
                if activation == "relu":
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=gen)
                else:
                    nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain(activation),
                                           generator=gen)
                nn.init.zeros_(m.bias)
    return model


@dataclass
class VanishingResult:
    depth: int
    activation: str
    init: str
    norms: list[float]     # ||dLoss/dW|| of each Linear layer, first layer first
    loss: float

    @property
    def ratio(self) -> float:
        """first layer's gradient norm / last layer's."""
        return self.norms[0] / self.norms[-1] if self.norms[-1] else float("nan")


def layer_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """One forward + backward on the batch (cross-entropy); weight-gradient norm per Linear."""
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(x.flatten(1)), y)
    loss.backward()
    norms = [m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)]
    return norms, loss.item()


def digit_batch(n: int = 256, seed: int = 0):
    """A real batch of MNIST training digits: (x [n, 1, 28, 28] in [0, 1], labels [n])."""
    from cnndemo.core import data

    ds = data.load("mnist")
    idx = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(seed))[:n]
    return data.to_float(ds.train_x[idx]), ds.train_y[idx], ds.describe()


def vanishing(x: torch.Tensor, y: torch.Tensor, depth: int = 10, activation: str = "sigmoid",
              init: str = "default", width: int = 64, seed: int = 777) -> VanishingResult:
    model = deep_mlp(depth, activation, init, width, seed)
    norms, loss = layer_grad_norms(model, x, y)
    return VanishingResult(depth, activation, init, norms, loss)


def course_product(depth: int = 10, local: float = 0.01) -> float:
    """The course's arithmetic: ``depth`` local gradients of ``local`` multiplied together."""
    return local ** depth


# --- 6. optimizers on a surface ----------------------------------------------------------

def _valley(p):
    return 0.05 * p[0] ** 2 + 2.0 * p[1] ** 2


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _bowl(p):
    return 0.5 * (p[0] ** 2 + p[1] ** 2)


@dataclass(frozen=True)
class Surface:
    fn: object
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minimum: tuple[float, float]
    lr: float          # a learning rate that shows the differences well
    steps: int
    log_z: bool        # draw contours of log(1 + f)


SURFACES = {
    "valley": Surface(_valley, (-10, 10), (-3, 3), (-9.0, 2.0), (0.0, 0.0), 0.1, 100, False),
    "rosenbrock": Surface(_rosenbrock, (-2, 2), (-1, 3), (-1.5, 2.0), (1.0, 1.0), 0.002,
                          500, True),
    "bowl": Surface(_bowl, (-5, 5), (-5, 5), (-4.0, 3.0), (0.0, 0.0), 0.1, 60, False),
}

# The engine's optimizer table, with momentum shown at two strengths:
# name -> (torch.optim class, keyword arguments besides lr)
_ENGINE = train.OPTIMIZER_CLASSES
OPTIMIZERS = {
    "sgd": _ENGINE["sgd"],
    "momentum_0.5": (_ENGINE["momentum"][0], {"momentum": 0.5}),
    "momentum_0.9": _ENGINE["momentum"],
    "adagrad": _ENGINE["adagrad"],
    "rmsprop": _ENGINE["rmsprop"],
    "adam": _ENGINE["adam"],
}


def surface(name: str) -> Surface:
    if name not in SURFACES:
        raise BadInput("surface", f"Unknown surface {name!r}.", name=name)
    return SURFACES[name]


def make_optimizer(name: str, params, lr: float):
    if name not in OPTIMIZERS:
        raise BadInput("optimizer", f"Unknown optimizer {name!r}.", name=name)
    cls, kwargs = OPTIMIZERS[name]
    return cls(params, lr=lr, **kwargs)


@dataclass
class OptimizerPath:
    name: str
    path: np.ndarray        # [k, 2] positions, the start included
    loss: list[float]       # f at each position
    diverged_at: int | None


def run_optimizer(name: str, surface_name: str, lr: float | None = None,
                  steps: int | None = None, start=None) -> OptimizerPath:
    """Minimise the surface with one torch.optim optimizer from the same start."""
    s = surface(surface_name)
    lr = check_lr(s.lr if lr is None else lr)
    steps = check_steps(s.steps if steps is None else steps)
    p = torch.tensor(s.start if start is None else start, dtype=torch.float32,
                     requires_grad=True)
    opt = make_optimizer(name, [p], lr)
    path, losses = [], []

    def loss_at(step):
        loss = s.fn(p)
        # a position that has overflowed counts as diverged even if f happens to be finite
        return loss if torch.isfinite(p).all() else loss * float("nan")

    def record(step, loss):
        path.append(p.detach().tolist())
        losses.append(loss.item())

    diverged = descend(opt, loss_at, steps, record)
    return OptimizerPath(name, np.array(path).reshape(-1, 2), losses, diverged)


def race(surface_name: str, names=tuple(OPTIMIZERS), lr: float | None = None,
         steps: int | None = None) -> dict[str, OptimizerPath]:
    return {n: run_optimizer(n, surface_name, lr, steps) for n in names}


def surface_grid(surface_name: str, n: int = 120):
    """f on a grid over the surface's window: (xs [n], ys [n], Z [n, n]), Z[i, j] = f(xs[j], ys[i])."""
    s = surface(surface_name)
    xs = torch.linspace(*s.xlim, n)
    ys = torch.linspace(*s.ylim, n)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    z = s.fn(torch.stack([gx, gy]))
    if s.log_z:
        z = torch.log1p(z)
    return xs.numpy(), ys.numpy(), z.numpy()


def distance_to_min(path: OptimizerPath, surface_name: str) -> float:
    if not len(path.path):
        return math.inf
    return float(np.hypot(*(path.path[-1] - np.array(surface(surface_name).minimum))))
