"""How a network learns: autograd, gradient descent, the perceptron and activations.

Everything here runs on real PyTorch autograd and ``torch.optim``; the page only draws
what these functions return.  The deep-network and optimizer demos live in
``optimizers.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnndemo.core import seeding
from cnndemo.errors import UserError


class BadInput(UserError):
    """A control value the demo cannot use; ``key`` names the message (``gradients.err.<key>``)."""
    prefix = "gradients.err."

    @property
    def key(self) -> str:
        return self.code


def check_lr(lr: float) -> float:
    """Refuse learning rates that cannot make progress (0, negative, NaN)."""
    if lr is None or not math.isfinite(lr):
        raise BadInput("lr_nan", "The learning rate must be a number.")
    if lr <= 0:
        raise BadInput("lr_nonpositive",
                       f"Learning rate {lr:g} refused: it must be greater than 0 "
                       "(0 never moves the weights, a negative one climbs the loss).", lr=lr)
    return float(lr)


def check_steps(steps: int, most: int = 5000) -> int:
    if steps is None or steps < 1 or steps > most:
        raise BadInput("steps_range", f"The number of steps must be between 1 and {most}.",
                       most=most)
    return int(steps)


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def descend(opt: torch.optim.Optimizer, loss_at, steps: int, record) -> int | None:
    """The loop every demo here shares: evaluate `loss_at(step)` at steps + 1 points with
    `opt` stepping between them, hand each finite loss to `record(step, loss)`, and stop at
    the first NaN/inf. Returns the step that diverged, or None."""
    for step in range(steps + 1):
        loss = loss_at(step)
        if not _finite(loss):
            return step
        record(step, loss)
        if step == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return None


# --- 1. autograd, step by step ---------------------------------------------------------

@dataclass
class AutogradResult:
    x: list[float]
    target: list[float]
    y: list[float]
    z: list[float]
    loss: float
    x_grad: list[float]
    dloss_dz: list[float]        # sign(z - target), what backward() sends into z
    dloss_dy: list[float]        # 3 * dloss_dz
    y_grad_is_none: bool
    z_grad_is_none: bool
    x_is_leaf: bool
    y_is_leaf: bool
    graph: list[tuple[str, str]]  # edges (child node -> parent node) of the backward graph


def _backward_graph(root) -> list[tuple[str, str]]:
    """Walk ``grad_fn.next_functions`` from the loss: the graph backward() really follows."""
    names: dict[int, str] = {}
    counts: dict[str, int] = {}

    def name(fn) -> str:
        if id(fn) not in names:
            base = type(fn).__name__
            if base == "AccumulateGrad":
                base = "x (leaf: AccumulateGrad)"
            counts[base] = counts.get(base, 0) + 1
            names[id(fn)] = base if counts[base] == 1 else f"{base} #{counts[base]}"
        return names[id(fn)]

    edges, seen, todo = [], set(), [root]
    while todo:
        fn = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                edges.append((name(fn), name(nxt)))
                todo.append(nxt)
    return edges


def autograd_example(x=(1.0, 2.0), target=(2.0, 3.0)) -> AutogradResult:
    """The course's example: y = x**2 + 5, z = 3*y, loss = sum(|z - target|)."""
    xs, ts = [float(v) for v in x], [float(v) for v in target]
    if len(xs) != len(ts) or not xs:
        raise BadInput("shape", "x and the target need the same number of values.")
    if not all(math.isfinite(v) for v in xs + ts):
        raise BadInput("not_finite", "x and the target must be finite numbers.")
    xt = torch.tensor(xs, requires_grad=True)
    y = xt ** 2 + 5
    z = 3 * y
    loss = torch.sum(torch.abs(z - torch.tensor(ts)))
    # the intermediate gradients, asked for explicitly (backward() does not keep them)
    dz, dy = torch.autograd.grad(loss, [z, y], retain_graph=True)
    graph = _backward_graph(loss.grad_fn)
    loss.backward()
    # backward() fills .grad only for leaves and tensors that asked (retain_grad). Reading
    # y.grad would say the same with a warning, and silencing warnings (catch_warnings)
    # changes the filters of the whole process, under every other student's thread.
    y_none, z_none = not (y.is_leaf or y.retains_grad), not (z.is_leaf or z.retains_grad)
    return AutogradResult(
        x=xs, target=ts, y=y.tolist(), z=z.tolist(), loss=loss.item(),
        x_grad=xt.grad.tolist(), dloss_dz=dz.tolist(), dloss_dy=dy.tolist(),
        y_grad_is_none=y_none, z_grad_is_none=z_none,
        x_is_leaf=xt.is_leaf, y_is_leaf=y.is_leaf, graph=graph)


# --- 2. linear regression by gradient descent --------------------------------------------

def regression_data(n: int = 500, noise: float = 1.0, seed: int = 777):
    """The course's data: x ~ U(-10, 10), y = 5x + 2 + noise * N(0, 1); shapes [n, 1]."""
    if noise < 0 or not math.isfinite(noise):
        raise BadInput("noise", "The noise level must be 0 or more.")
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g) * 20 - 10
    y = 5 * x + 2 + noise * torch.randn(n, 1, generator=g)
    return x, y


@dataclass
class RegressionRun:
    w: list[float]           # w after 0..k steps (k = steps, or fewer when it diverged)
    b: list[float]
    loss: list[float]        # MSE at (w[i], b[i])
    diverged_at: int | None  # the step whose loss was NaN/inf


def fit_line(x, y, lr: float = 0.01, steps: int = 200, seed: int = 777) -> RegressionRun:
    """nn.Linear(1, 1) trained by full-batch torch.optim.SGD on MSE, as in the course."""
    check_lr(lr)
    check_steps(steps)
    model = seeding.init_parameters(nn.Linear(1, 1), seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    ws, bs, losses = [], [], []

    def record(step, loss):
        ws.append(model.weight.item())
        bs.append(model.bias.item())
        losses.append(loss.item())

    diverged = descend(opt, lambda step: nn.functional.mse_loss(model(x), y), steps, record)
    return RegressionRun(ws, bs, losses, diverged_at=diverged)


def loss_surface(x, y, w_range, b_range, n: int = 60):
    """MSE over a (w, b) grid: returns (ws [n], bs [n], Z [n_b, n_w])."""
    ws = torch.linspace(w_range[0], w_range[1], n)
    bs = torch.linspace(b_range[0], b_range[1], n)
    pred = ws[None, :, None] * x.view(1, 1, -1) + bs[:, None, None]
    z = ((pred - y.view(1, 1, -1)) ** 2).mean(dim=2)
    return ws.numpy(), bs.numpy(), z.numpy()


# --- 3. the perceptron -----------------------------------------------------------------

GATE_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
GATES = {"or": [-1.0, 1.0, 1.0, 1.0], "and": [-1.0, -1.0, -1.0, 1.0],
         "xor": [-1.0, 1.0, 1.0, -1.0]}


def fixed_or(w=(1.0, 1.0), b: float = -0.5) -> list[float]:
    """sign(x w + b) for the four OR inputs; the course's w = [1, 1], b = -0.5."""
    out = torch.tensor(GATE_X) @ torch.tensor(w, dtype=torch.float32) + b
    return torch.sign(out).tolist()


def perceptron_model(hidden: int = 0) -> nn.Sequential:
    """One tanh perceptron (hidden=0), or a 2-layer tanh network with ``hidden`` units."""
    if hidden == 0:
        return nn.Sequential(nn.Linear(2, 1), nn.Tanh())
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1), nn.Tanh())


@dataclass
class PerceptronRun:
    gate: str
    hidden: int
    loss: list[float]
    outputs: list[float]          # tanh outputs for the four inputs after training
    predicted: list[float]        # sign of the outputs
    solved: bool
    snapshot_steps: list[int]
    grids: list[np.ndarray] = field(repr=False)   # model output on the grid per snapshot
    grid_axis: np.ndarray = field(repr=False)
    weights: list[list[float]]    # first layer [w1, w2, b] per snapshot (single perceptron)
    diverged_at: int | None = None


def train_perceptron(gate: str = "or", hidden: int = 0, lr: float = 0.1, steps: int = 500,
                     seed: int = 777, snapshots: int = 25, grid_n: int = 41) -> PerceptronRun:
    """Train with tanh + MSE + SGD on the four gate inputs (full batch)."""
    if gate not in GATES:
        raise BadInput("gate", f"Unknown gate {gate!r}.", gate=gate)
    check_lr(lr)
    check_steps(steps)
    model = seeding.init_parameters(perceptron_model(hidden), seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, t = torch.tensor(GATE_X), torch.tensor(GATES[gate]).view(-1, 1)
    axis = np.linspace(-0.5, 1.5, grid_n, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    grid_in = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
    keep = sorted(set(np.linspace(0, steps, snapshots + 1).round().astype(int).tolist()))
    losses, grids, weights, snap_steps = [], [], [], []

    def loss_at(step):
        if step in keep:  # the decision boundary as it stands before this step
            with torch.no_grad():
                grids.append(model(grid_in).view(grid_n, grid_n).numpy().copy())
                first = model[0]
                weights.append(first.weight[0].tolist() + [first.bias[0].item()])
            snap_steps.append(step)
        return nn.functional.mse_loss(model(x), t)

    diverged = descend(opt, loss_at, steps, lambda step, loss: losses.append(loss.item()))
    with torch.no_grad():
        out = model(x).view(-1)
    pred = torch.sign(out).tolist()
    return PerceptronRun(gate, hidden, losses, out.tolist(), pred, pred == GATES[gate],
                         snap_steps, grids, axis, weights, diverged)


# --- 4. activations ----------------------------------------------------------------------

# The one list of activations the lessons use: name -> the module, given the leaky slope
# and PReLU's starting slope.
ACTIVATION_MODULES = {
    "relu": lambda slope, prelu_init: nn.ReLU(),
    "leaky_relu": lambda slope, prelu_init: nn.LeakyReLU(slope),
    "prelu": lambda slope, prelu_init: nn.PReLU(init=prelu_init),  # its slope is learned
    "sigmoid": lambda slope, prelu_init: nn.Sigmoid(),
    "tanh": lambda slope, prelu_init: nn.Tanh(),
}
ACTIVATIONS = tuple(ACTIVATION_MODULES)


def activation_module(name: str, slope: float = 0.01, prelu_init: float = 0.25) -> nn.Module:
    if name not in ACTIVATION_MODULES:
        raise BadInput("activation", f"Unknown activation {name!r}.", name=name)
    return ACTIVATION_MODULES[name](slope, prelu_init)


def activation_curves(names=ACTIVATIONS, lo: float = -5.0, hi: float = 5.0, n: int = 201,
                      slope: float = 0.01, prelu_init: float = 0.25) -> dict:
    """Each activation and its derivative, the derivative taken by autograd."""
    if not (math.isfinite(slope) and 0 <= slope < 1):
        raise BadInput("slope", "The leaky slope must be between 0 and 1.")
    xs = torch.linspace(lo, hi, n)
    out = {"x": xs.numpy()}
    for name in names:
        x = xs.clone().requires_grad_(True)
        y = activation_module(name, slope, prelu_init)(x)
        (dy,) = torch.autograd.grad(y.sum(), x)
        out[name] = (y.detach().numpy(), dy.numpy())
    return out


@dataclass
class DyingRun:
    activation: str
    w: list[float]        # weight after each step
    b: list[float]
    fired: int            # how many inputs gave a positive pre-activation at the start
    grad_w0: float        # the first step's gradient for w
    grad_b0: float


def dying_neuron(activation: str = "relu", w: float = -3.0, b: float = -5.0, n: int = 21,
                 lr: float = 0.1, steps: int = 50) -> DyingRun:
    """A neuron y = act(w x + b) on inputs in [-1, 1] trained by SGD toward y = x + 1.

    With the course's w = -3, b = -5, ``w x + b`` lies in [-8, -2]: ReLU outputs 0
    everywhere, its gradient is 0, so SGD never changes w or b (a dead neuron).
    """
    check_lr(lr)
    check_steps(steps)
    x = torch.linspace(-1, 1, n).view(-1, 1)
    target = x + 1
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(w)
        lin.bias.fill_(b)
    act = activation_module(activation)
    opt = torch.optim.SGD(lin.parameters(), lr=lr)
    fired = int((lin(x) > 0).sum())
    ws, bs, g0 = [lin.weight.item()], [lin.bias.item()], None
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(act(lin(x)), target).backward()
        if g0 is None:
            g0 = (lin.weight.grad.item(), lin.bias.grad.item())
        opt.step()
        ws.append(lin.weight.item())
        bs.append(lin.bias.item())
    return DyingRun(activation, ws, bs, fired, g0[0], g0[1])
