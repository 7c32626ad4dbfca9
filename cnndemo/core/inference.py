"""Predict a digit and record what every layer produced, in one forward pass.

The model is an `nn.Sequential`, whose forward pass is nothing but each layer applied to
the previous one's output, so we run the layers one by one and keep every output. This
never touches the model: one model object serves the whole class (st.cache_resource), and
forward hooks registered on it would fire for every student's pass running at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from cnndemo.core import arch

UNSURE = 0.5  # below this top probability the page says the model is unsure


@dataclass
class LayerOutput:
    index: int
    name: str  # e.g. "Conv2d(1, 32, 3, padding=1)"
    kind: str  # e.g. "Conv2d"
    shape: tuple[int, ...]  # the output tensor's shape, batch included: (1, 32, 28, 28)
    values: np.ndarray  # the output for our one image: [C, H, W] or [features]

    @property
    def is_map(self) -> bool:
        """True for image-shaped outputs (conv, activation, pool), drawn as heatmaps."""
        return self.values.ndim == 3


@dataclass
class Prediction:
    probs: np.ndarray  # softmax probabilities, one per class
    classes: list[str]
    logits: np.ndarray

    @property
    def top(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def label(self) -> str:
        return self.classes[self.top]

    @property
    def confidence(self) -> float:
        return float(self.probs[self.top])

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE


@dataclass
class Result:
    prediction: Prediction
    input_shape: tuple[int, ...]
    layers: list[LayerOutput] = field(default_factory=list)

    def shape_trail(self) -> list[tuple[int, ...]]:
        """[input shape, shape after layer 0, after layer 1, ...]."""
        return [self.input_shape] + [layer.shape for layer in self.layers]


def layer_names(model: nn.Module, spec: list | None = None) -> list[str]:
    """Names as a student would write them, from the spec when we have it."""
    children = list(model.children())
    if spec and len(spec) == len(children):
        return [arch.layer_name(layer) for layer in spec]
    return [f"{type(m).__name__}()" for m in children]


def as_batch(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    """[28, 28] (or [C, H, W]) image in [0, 1] -> float tensor [1, C, H, W]."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"expected an image [H, W] or [C, H, W], got shape {tuple(x.shape)}")
    return x[None]


def forward_layers(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's output for batch `x`, in order; the last one is the model's output.

    Exactly what `nn.Sequential.forward` computes, without registering anything on the
    (shared) model and without changing its train/eval mode."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"expected an nn.Sequential (what arch.build makes), "
                         f"got {type(model).__name__}")
    outputs = []
    for layer in model:
        x = layer(x)
        outputs.append(x)
    return outputs


@torch.inference_mode()
def run(model: nn.Module, image, spec: list | None = None, classes: list[str] | None = None) -> Result:
    """One forward pass: the prediction plus every layer's output."""
    x = as_batch(image)
    names = layer_names(model, spec)
    outputs = forward_layers(model, x)
    logits = outputs[-1] if outputs else x
    probs = torch.softmax(logits[0].float(), dim=0)
    n = probs.numel()
    classes = list(classes) if classes and len(classes) == n else [str(i) for i in range(n)]
    layers = [
        LayerOutput(i, names[i], type(m).__name__, tuple(out.shape), out[0].cpu().numpy())
        for i, (m, out) in enumerate(zip(model.children(), outputs))
    ]
    pred = Prediction(probs=probs.cpu().numpy(), classes=classes, logits=logits[0].cpu().numpy())
    return Result(prediction=pred, input_shape=tuple(x.shape), layers=layers)


def conv_kernels(model: nn.Module, index: int) -> np.ndarray:
    """The learned kernels of layer `index` (a Conv2d): [out_channels, in_channels, k, k]."""
    layer = list(model.children())[index]
    if not isinstance(layer, nn.Conv2d):
        raise ValueError(f"layer {index} is a {type(layer).__name__}, not a Conv2d")
    return layer.weight.detach().cpu().numpy()


def format_shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"
