"""Why did the network say 7? Attribution maps, their faithfulness, and the nearest training images.

Everything here runs Captum (`captum.attr`) on the real model. The model a page passes in
is the one `st.cache_resource` shares with the whole class, so nothing here may change it:
no hooks on it, no train/eval switch, no global seed (randomness comes from a
`torch.Generator`). Saliency, Integrated Gradients and Occlusion only call the model;
LayerGradCam hooks the layer it explains, so it runs on a private twin (`private_copy`).
Attack and "dream" code lives in `explain_robust.py`.

Every map explains the class *score* (the logit, before softmax) of one chosen class.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency

from cnndemo.core.inference import as_batch

METHODS = ("saliency", "ig", "gradcam", "occlusion")
IG_STEPS = 50
INK = 0.05  # a pixel brighter than this is part of the drawing

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def private_copy(model: nn.Module) -> nn.Module:
    """A twin of the shared model for methods that register hooks (LayerGradCam).

    A 200 KB model copies in about a millisecond. The twin starts with no hooks even if
    another student's thread has hooks on the shared model at this very moment.
    """
    twin = copy.deepcopy(model)
    for m in twin.modules():
        for name in _HOOK_DICTS:
            getattr(m, name).clear()
    return twin


def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def saliency(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """|d score / d pixel|: how much a tiny change of each pixel would move the class score."""
    attr = Saliency(model).attribute(x.detach().requires_grad_(True), target=target, abs=True)
    return attr[0, 0].detach().numpy()


@dataclass
class IGResult:
    attribution: np.ndarray  # [28, 28], signed
    baseline: np.ndarray  # [28, 28], the image the path starts from
    total: float  # sum of the attributions
    gap: float  # f(x) - f(baseline)
    delta: float  # Captum's convergence delta: total - gap


def make_baseline(image: torch.Tensor, kind: str = "black") -> torch.Tensor:
    """The 'absence of evidence' the path starts from: all black, or the drawing blurred away."""
    if kind == "black":
        return torch.zeros_like(image)
    if kind == "blur":
        k = torch.ones(1, 1, 9, 9) / 81.0
        return F.conv2d(image, k, padding=4)
    raise ValueError(f"unknown baseline {kind!r}: use 'black' or 'blur'")


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: int, baseline: str = "black",
                         steps: int = IG_STEPS) -> IGResult:
    """Gradients averaged along the straight path from the baseline to the image, times the change."""
    base = make_baseline(x, baseline)
    attr, delta = IntegratedGradients(model).attribute(
        x, baselines=base, target=target, n_steps=steps, return_convergence_delta=True)
    out = logits(model, torch.cat([x, base]))[:, target]
    return IGResult(attr[0, 0].detach().numpy(), base[0, 0].numpy(), float(attr.sum()),
                    float(out[0] - out[1]), float(delta[0]))


def last_conv(model: nn.Module) -> tuple[str, nn.Module]:
    """Name and module of the last Conv2d: where Grad-CAM looks."""
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("this network has no convolution layer, so Grad-CAM has nothing to look at")
    return convs[-1]


@dataclass
class CamResult:
    upsampled: np.ndarray  # [H, W] of the input
    raw: np.ndarray  # [h, w] at the layer's own resolution
    layer: str  # module name, e.g. "3"


def grad_cam(model: nn.Module, x: torch.Tensor, target: int) -> CamResult:
    """Grad-CAM: the last conv layer's maps weighted by their mean gradient, ReLU, upsampled."""
    # LayerGradCam registers a forward hook on the layer: run it on a private twin,
    # never on the class's shared model.
    twin = private_copy(model)
    name, layer = last_conv(twin)
    cam = LayerGradCam(twin, layer).attribute(x, target=target, relu_attributions=True)
    up = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return CamResult(up[0, 0].detach().numpy(), cam[0, 0].detach().numpy(), name)


def occlusion(model: nn.Module, x: torch.Tensor, target: int, patch: int = 4, stride: int = 2) -> np.ndarray:
    """Cover a patch with black, see how far the score drops; averaged over the patches covering a pixel."""
    if not 1 <= patch <= x.shape[-1]:
        raise ValueError(f"patch size must be between 1 and {x.shape[-1]}, got {patch}")
    attr = Occlusion(model).attribute(
        x, target=target, sliding_window_shapes=(1, patch, patch), strides=(1, stride, stride),
        baselines=0.0, perturbations_per_eval=1024)
    return attr[0, 0].detach().numpy()


@dataclass
class Maps:
    probs: np.ndarray
    predicted: int
    target: int
    saliency: np.ndarray
    ig: IGResult
    cam: CamResult
    occlusion: np.ndarray
    patch: int

    def by_method(self) -> dict[str, np.ndarray]:
        return {"saliency": self.saliency, "ig": self.ig.attribution, "gradcam": self.cam.upsampled,
                "occlusion": self.occlusion}


def explain(model: nn.Module, image, target: int | None = None, patch: int = 4,
            baseline: str = "black") -> Maps:
    """All four maps for one image and one class (the predicted class when `target` is None)."""
    x = as_batch(image)
    probs = torch.softmax(logits(model, x)[0], 0).numpy()
    predicted = int(probs.argmax())
    target = predicted if target is None else int(target)
    return Maps(probs, predicted, target, saliency(model, x, target),
                integrated_gradients(model, x, target, baseline), grad_cam(model, x, target),
                occlusion(model, x, target, patch), patch)


@dataclass
class Deletion:
    erased: np.ndarray  # number of pixels erased at each step
    curves: dict  # method -> confidence of the class at each step
    random: np.ndarray  # mean confidence over several random orders of the ink pixels
    n_ink: int

    def area(self, curve) -> float:
        """Mean confidence over the steps: the lower, the faster the curve falls."""
        return float(np.mean(curve))

    def fastest(self) -> str:
        return min(self.curves, key=lambda m: self.area(self.curves[m]))


def deletion_curve(model: nn.Module, image, target: int, attributions: dict, steps: int = 20,
                   n_random: int = 8, seed: int = 0) -> Deletion:
    """Erase (set to black) the pixels an attribution ranks highest, a few more at each step.

    The comparison erases the drawing's ink pixels in random order (erasing black
    background would change nothing). All steps of all curves go through the model
    as one batch.
    """
    x = torch.as_tensor(np.asarray(image, np.float32)).reshape(-1)
    ink = torch.nonzero(x > INK).flatten()
    n_ink = max(1, len(ink))
    erased = np.unique(np.linspace(0, n_ink, steps + 1).round().astype(int))
    orders = [torch.as_tensor(np.argsort(-np.asarray(a, np.float64).reshape(-1), kind="stable"))
              for a in attributions.values()]
    gen = torch.Generator().manual_seed(seed)
    orders += [ink[torch.randperm(len(ink), generator=gen)] for _ in range(n_random)]
    batch = x.repeat(len(orders) * len(erased), 1)
    row = 0
    for order in orders:
        for k in erased:
            batch[row, order[:k]] = 0.0
            row += 1
    probs = torch.softmax(logits(model, batch.reshape(-1, 1, 28, 28)), 1)[:, target]
    probs = probs.reshape(len(orders), len(erased)).numpy()
    names = list(attributions)
    return Deletion(erased, {m: probs[i] for i, m in enumerate(names)},
                    probs[len(names):].mean(0), int(len(ink)))


def hidden_layer(model: nn.Module) -> nn.Module:
    """Everything before the last Linear layer: its output is the last hidden layer."""
    children = list(model.children())
    last = max((i for i, m in enumerate(children) if isinstance(m, nn.Linear)), default=None)
    if last is None:
        raise ValueError("this network has no Linear layer to read a hidden layer from")
    return nn.Sequential(*children[:last])  # a new container over the same layers: nothing changes


def features(model: nn.Module, images_uint8: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Last-hidden-layer vectors [N, D] of uint8 images [N, 28, 28]."""
    body = hidden_layer(model)
    out = []
    with torch.no_grad():
        for i in range(0, len(images_uint8), batch):
            chunk = images_uint8[i:i + batch].unsqueeze(1).float().div_(255.0)
            out.append(body(chunk).flatten(1))
    return torch.cat(out)


@dataclass
class Neighbours:
    indices: np.ndarray  # into the training images
    distances: np.ndarray  # Euclidean, in the last hidden layer


def nearest(model: nn.Module, image, bank: torch.Tensor, k: int = 8) -> Neighbours:
    """The k training images whose last-hidden-layer vectors lie closest to the image's."""
    with torch.no_grad():
        q = hidden_layer(model)(as_batch(image)).flatten(1)
    d = torch.cdist(q, bank)[0]
    dist, idx = torch.topk(d, min(k, len(bank)), largest=False)
    return Neighbours(idx.numpy(), dist.numpy())
