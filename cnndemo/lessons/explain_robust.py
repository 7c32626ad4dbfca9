"""Can we fool the network? Adversarial attacks (`captum.robust`) and 'dreams' by gradient ascent.

As in `explain.py`, the model is the class's shared one: it is only ever called. Captum's
FGSM and PGD call the model and take gradients with respect to the input; they register
no hooks. Randomness (the dream's noise and jitter) comes from a `torch.Generator`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from captum.robust import FGSM, PGD

from cnndemo.core.inference import as_batch


def _loss(out: torch.Tensor, label: int) -> torch.Tensor:
    """Cross-entropy of each image with `label` (Captum's default assumes probabilities)."""
    return F.cross_entropy(out, torch.full((out.shape[0],), int(label)), reduction="none")


def away_loss(out: torch.Tensor, label: int) -> torch.Tensor:
    """For untargeted attacks: logsumexp of the other classes' scores minus the label's score.

    It equals cross-entropy up to a log1p term, but does not saturate: on a digit the model
    is 100.0% sure of, cross-entropy's gradient underflows to 0 in float32 and FGSM would
    not move (Captum leaves pixels with |gradient| < 1e-6 unchanged).
    """
    others = out.clone()
    others[:, int(label)] = float("-inf")
    return torch.logsumexp(others, 1) - out[:, int(label)]


@dataclass
class Attack:
    method: str  # "FGSM" or "PGD"
    image: np.ndarray  # the adversarial 28x28
    perturbation: np.ndarray  # image - original image
    original: int
    predicted: int  # what the model, run again on `image`, says
    confidence: float  # its probability
    success: bool
    epsilon: float  # FGSM: the epsilon used; PGD: the radius of the ball
    steps: int  # gradient steps taken (FGSM: 1)
    linf: float
    l2: float
    norm: str = "Linf"
    target: int | None = None  # the class a targeted attack asked for


def _finish(method, model, x, adv, original, success_of, **kw) -> Attack:
    with torch.no_grad():
        probs = torch.softmax(model(adv), 1)[0]
    pred = int(probs.argmax())
    x = x.detach()
    diff = (adv - x).flatten()
    return Attack(method, adv[0, 0].numpy().copy(), (adv - x)[0, 0].numpy(), original, pred,
                  float(probs[pred]), success_of(pred), linf=float(diff.abs().max()), l2=float(diff.norm()), **kw)


def fgsm_smallest_epsilon(model: nn.Module, image, eps_max: float = 0.5, grid: float = 0.01,
                          tol: float = 0.001) -> Attack:
    """The smallest FGSM step that changes the prediction.

    Steps up epsilon on a grid of `grid` until the prediction flips, then halves the last
    interval down to `tol`. The result is always an image the model was run on again.
    """
    x = as_batch(image)
    with torch.no_grad():
        original = int(model(x).argmax())
    fgsm = FGSM(model, loss_func=away_loss, lower_bound=0.0, upper_bound=1.0)

    def attempt(eps):
        adv = fgsm.perturb(x.requires_grad_(True), epsilon=eps, target=original).detach()
        with torch.no_grad():
            return adv, int(model(adv).argmax()) != original

    lo, found = 0.0, None
    for eps in np.arange(grid, eps_max + 1e-9, grid):
        adv, ok = attempt(float(eps))
        if ok:
            found = (float(eps), adv)
            break
        lo = float(eps)
    if found is None:
        adv, _ = attempt(eps_max)
        return _finish("FGSM", model, x, adv, original, lambda p: p != original, epsilon=eps_max, steps=1)
    hi, adv = found
    while hi - lo > tol:
        mid = (lo + hi) / 2
        cand, ok = attempt(mid)
        if ok:
            hi, adv = mid, cand
        else:
            lo = mid
    return _finish("FGSM", model, x, adv, original, lambda p: p != original, epsilon=hi, steps=1)


def pgd(model: nn.Module, image, target: int | None = None, norm: str = "Linf", radius: float = 0.2,
        step_size: float = 0.01, max_steps: int = 60) -> Attack:
    """Projected gradient descent: many small FGSM steps, each projected back into the ball.

    Untargeted (`target` None) it pushes away from the predicted class; targeted it pulls
    towards `target` ("make it say 3"). Captum's PGD runs all `max_steps`; a thin wrapper
    around the model records the image at the start of every step, so we can report the
    first step at which the attack worked and return that (smallest) change.
    """
    if norm not in ("Linf", "L2"):
        raise ValueError(f"norm must be 'Linf' or 'L2', got {norm!r}")
    x = as_batch(image)
    with torch.no_grad():
        original = int(model(x).argmax())
    seen: list[tuple[torch.Tensor, int]] = []

    def recorded(inp):
        out = model(inp)
        seen.append((inp.detach().clone(), int(out.detach().argmax())))
        return out

    goal = original if target is None else int(target)
    loss = _loss if target is not None else away_loss
    final = PGD(recorded, loss_func=loss, lower_bound=0.0, upper_bound=1.0).perturb(
        x.requires_grad_(True), radius=radius, step_size=step_size, step_num=max_steps, target=goal,
        targeted=target is not None, norm=norm).detach()
    if target is None:
        def success(p):
            return p != original
    else:
        def success(p):
            return p == target
    for step, (inp, pred) in enumerate(seen[1:], start=1):
        if success(pred):
            return _finish("PGD", model, x, inp, original, success, epsilon=radius, steps=step,
                           norm=norm, target=target)
    return _finish("PGD", model, x, final, original, success, epsilon=radius, steps=max_steps,
                   norm=norm, target=target)


CHANNEL_MEAN = 0.3


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None, :] / 16.0).reshape(1, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k)


def first_conv_index(model: nn.Module) -> int:
    for i, m in enumerate(model.children()):
        if isinstance(m, nn.Conv2d):
            return i
    raise ValueError("this network has no convolution layer")


@dataclass
class Dream:
    image: np.ndarray
    objective: float  # the class score, or the channel's mean activation, at the end
    probability: float  # the model's probability for the class (class dreams)
    steps: int


def dream(model: nn.Module, index: int, what: str = "class", steps: int = 160, lr: float = 0.04,
          jitter: int = 2, blur_every: int = 4, decay: float = 0.05, seed: int = 0,
          progress: Callable[[int, int], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> Dream:
    """Gradient ascent on the input, from noise, towards what a class (or first-layer channel) wants.

    Regularised the simple way: the image is shifted by a random jitter before every
    step (so no single pixel pattern wins), blurred every few steps, pulled gently towards
    black (`decay`), and kept in [0, 1]. A first-layer channel is a 3x3 filter: a plain
    white image would maximise most of them, so for channels the image's mean brightness
    is held at `CHANNEL_MEAN` and only the pattern can grow.
    """
    if what not in ("class", "channel"):
        raise ValueError(f"what must be 'class' or 'channel', got {what!r}")
    gen = torch.Generator().manual_seed(seed)
    # A channel's mean *before* its ReLU is linear in the image, so no pattern would win:
    # the objective is the channel after the activation that follows it.
    body = nn.Sequential(*list(model.children())[:first_conv_index(model) + 2]) if what == "channel" else model
    x = (0.1 + 0.05 * torch.randn(1, 1, 28, 28, generator=gen)).clamp(0, 1)
    done = 0
    for i in range(steps):
        if should_stop and should_stop():
            break
        dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
        shifted = torch.roll(x, (dy, dx), (2, 3)).requires_grad_(True)
        out = body(shifted)
        obj = out[0, index] if what == "class" else out[0, index].mean()
        (grad,) = torch.autograd.grad(obj, shifted)
        grad = torch.roll(grad, (-dy, -dx), (2, 3))
        x = x + lr * grad / (grad.abs().mean() + 1e-8) - decay * x
        if what == "channel":
            x = x - x.mean() + CHANNEL_MEAN
        x = x.clamp(0, 1).detach()
        if blur_every and (i + 1) % blur_every == 0:
            x = _blur(x)
        done = i + 1
        if progress:
            progress(done, steps)
    with torch.no_grad():
        out = body(x)
        obj = float(out[0, index] if what == "class" else out[0, index].mean())
        prob = float(torch.softmax(model(x), 1)[0, index]) if what == "class" else float("nan")
    return Dream(x[0, 0].numpy(), obj, prob, done)
