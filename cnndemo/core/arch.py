"""Layer specs, the course's networks, and shape/parameter inference.

A network is a plain list of small dataclasses. `build` turns it into a real
`nn.Sequential`; `analyze` walks it with the same formulas PyTorch uses and explains
every number, so a student can see *why* a shape is what it is. Tests check both
against a real forward pass.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch.nn as nn


@dataclass
class Conv2d:
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: bool = True


@dataclass
class MaxPool2d:
    kernel_size: int
    stride: int | None = None
    padding: int = 0
    ceil_mode: bool = False


@dataclass
class AvgPool2d:
    kernel_size: int
    stride: int | None = None
    padding: int = 0
    ceil_mode: bool = False


@dataclass
class ReLU:
    pass


@dataclass
class LeakyReLU:
    negative_slope: float = 0.01


@dataclass
class Sigmoid:
    pass


@dataclass
class Tanh:
    pass


@dataclass
class Flatten:
    pass


@dataclass
class Linear:
    in_features: int
    out_features: int
    bias: bool = True


@dataclass
class Dropout:
    p: float = 0.5


@dataclass
class BatchNorm2d:
    num_features: int


LAYER_TYPES = {cls.__name__: cls for cls in (
    Conv2d, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Sigmoid, Tanh, Flatten, Linear,
    Dropout, BatchNorm2d)}
ACTIVATIONS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")


def to_dict(layer) -> dict:
    return {"type": type(layer).__name__, **asdict(layer)}


def from_dict(d: dict):
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in LAYER_TYPES:
        raise ValueError(f"Unknown layer type {kind!r}; known types: {', '.join(LAYER_TYPES)}")
    cls = LAYER_TYPES[kind]
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"{kind} has no field(s) {', '.join(sorted(unknown))}")
    return cls(**d)


def spec_to_dicts(spec) -> list[dict]:
    return [to_dict(layer) for layer in spec]


def spec_from_dicts(dicts) -> list:
    return [from_dict(d) for d in dicts]


def layer_name(layer) -> str:
    """The layer as a student would write it in PyTorch, e.g. `Conv2d(1, 32, 3, padding=1)`."""
    kind = type(layer).__name__
    if isinstance(layer, Conv2d):
        args = [str(layer.in_channels), str(layer.out_channels), str(layer.kernel_size)]
        for key, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("bias", True)):
            if getattr(layer, key) != default:
                args.append(f"{key}={getattr(layer, key)}")
        return f"{kind}({', '.join(args)})"
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        args = [str(layer.kernel_size)]
        if layer.stride is not None:
            args.append(str(layer.stride))
        if layer.padding:
            args.append(f"padding={layer.padding}")
        if layer.ceil_mode:
            args.append("ceil_mode=True")
        return f"{kind}({', '.join(args)})"
    if isinstance(layer, Linear):
        extra = "" if layer.bias else ", bias=False"
        return f"Linear({layer.in_features}, {layer.out_features}{extra})"
    if isinstance(layer, LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    if isinstance(layer, Dropout):
        return f"Dropout({layer.p})"
    if isinstance(layer, BatchNorm2d):
        return f"BatchNorm2d({layer.num_features})"
    return f"{kind}()"


def build(spec) -> nn.Sequential:
    """The real PyTorch module for a spec (module names "0", "1", ... in spec order)."""
    modules = []
    for layer in spec:
        kind = type(layer).__name__
        if kind not in LAYER_TYPES:
            raise ValueError(f"Unknown layer {layer!r}")
        cls = getattr(nn, kind)
        kwargs = asdict(layer)
        modules.append(cls(**kwargs))
    return nn.Sequential(*modules)


# Plain-words reasons, by code; the Korean ones are in locales/ko/arch.json.
MESSAGES = {
    "pool_padding": "padding {padding} is more than half the kernel ({kernel}); PyTorch allows "
                    "at most {max_padding}.",
    "no_fit": "gets a {h}x{w} input but its kernel is {k}x{k}: there is no position where it "
              "fits. Use a smaller kernel, add padding, or remove a pooling layer before it.",
    "no_fit_padded": "gets a {h}x{w} input but its kernel is {k}x{k} (with padding {padding}): "
                     "there is no position where it fits. Use a smaller kernel, add padding, "
                     "or remove a pooling layer before it.",
    "needs_4d": "{what} needs an image-shaped input [batch, channels, height, width] but gets "
                "{shape}. Put it before the Flatten.",
    "in_channels": "expects {expected} input channels but receives {got}: set in_channels to "
                   "{got}.",
    "num_features": "expects {expected} channels but receives {got}: set num_features to {got}.",
    "needs_flatten": "receives an image-shaped input {shape}; add a Flatten before it (it would "
                     "then receive {n} features).",
    "in_features": "receives {got_text} features: set in_features to {got}.",
}


class SpecError(ValueError):
    """A layer that cannot work, explained in plain words with the fix."""

    def __init__(self, index: int, layer_name: str, code: str, fix: dict | None = None, **args):
        self.index, self.layer_name, self.code, self.fix, self.args_ = (
            index, layer_name, code, fix, args)
        self.message = MESSAGES[code].format(**args)
        super().__init__(f"Layer {index + 1}, {layer_name}: {self.message}")

    def localized(self, lang: str) -> str:
        """The reason in the UI language (English when no translation exists)."""
        from cnndemo.i18n import t

        text = t(f"arch.{self.code}", lang, **self.args_)
        return self.message if text == f"arch.{self.code}" else text


@dataclass
class LayerInfo:
    index: int
    name: str
    type: str
    input_shape: tuple
    output_shape: tuple
    params: int
    params_formula: str
    size_formula: str | None
    macs: int


@dataclass
class Analysis:
    rows: list
    error: SpecError | None


def _out_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """PyTorch's output-size rule, and the same rule written out with the numbers."""
    eff = dilation * (kernel - 1) + 1
    num = size + 2 * padding - eff
    if num < 0 and not ceil_mode:
        return None, ""
    # PyTorch's rule, with Python's floor division rounding toward minus infinity
    out = (num + (stride - 1 if ceil_mode else 0)) // stride + 1
    # with ceil_mode the last window must start inside the input or the left padding
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    k_txt = f"{dilation}*({kernel}-1)+1" if dilation != 1 else f"{kernel}"
    f = "ceil" if ceil_mode else "floor"
    return out, f"{f}(({size} - {k_txt} + 2*{padding})/{stride}) + 1 = {out}"


def _conv_like(i, layer, shape, name, is_pool):
    b, c, h, w = shape
    k = layer.kernel_size
    s = (layer.stride or k) if is_pool else layer.stride
    d = 1 if is_pool else layer.dilation
    ceil = layer.ceil_mode if is_pool else False
    if is_pool and layer.padding > k // 2:
        raise SpecError(i, name, "pool_padding", {"padding": k // 2}, padding=layer.padding,
                        kernel=k, max_padding=k // 2)
    oh, fh = _out_size(h, k, s, layer.padding, d, ceil)
    ow, fw = _out_size(w, k, s, layer.padding, d, ceil)
    if oh is None or ow is None or oh < 1 or ow < 1:
        eff = d * (k - 1) + 1
        raise SpecError(i, name, "no_fit_padded" if layer.padding else "no_fit", None, h=h, w=w,
                        k=eff, padding=layer.padding)
    formula = fh if fh == fw else f"H: {fh}; W: {fw}"
    return (b, c if is_pool else layer.out_channels, oh, ow), formula


def _check_4d(i, name, shape, what):
    if len(shape) != 4:
        raise SpecError(i, name, "needs_4d", None, what=what, shape=list(shape))


def analyze(spec, input_shape=(1, 28, 28), batch=1) -> Analysis:
    """Walk the spec layer by layer; stop at the first layer that cannot work."""
    shape = (batch, *input_shape)
    rows = []
    for i, layer in enumerate(spec):
        name = layer_name(layer)
        kind = type(layer).__name__
        try:
            params, pform, size_formula, macs = 0, "0", None, 0
            if isinstance(layer, Conv2d):
                _check_4d(i, name, shape, "Conv2d")
                if shape[1] != layer.in_channels:
                    raise SpecError(i, name, "in_channels", {"in_channels": shape[1]},
                                    expected=layer.in_channels, got=shape[1])
                out, size_formula = _conv_like(i, layer, shape, name, False)
                k, cin, cout = layer.kernel_size, layer.in_channels, layer.out_channels
                weights = cout * cin * k * k
                params = weights + (cout if layer.bias else 0)
                pform = f"{cout}*{cin}*{k}*{k}" + (f" + {cout}" if layer.bias else "") + f" = {params:,}"
                macs = weights * out[2] * out[3] * batch
            elif isinstance(layer, (MaxPool2d, AvgPool2d)):
                _check_4d(i, name, shape, kind)
                out, size_formula = _conv_like(i, layer, shape, name, True)
            elif isinstance(layer, BatchNorm2d):
                _check_4d(i, name, shape, "BatchNorm2d")
                if shape[1] != layer.num_features:
                    raise SpecError(i, name, "num_features", {"num_features": shape[1]},
                                    expected=layer.num_features, got=shape[1])
                out = shape
                params = 2 * layer.num_features
                pform = f"2*{layer.num_features} = {params:,}"
            elif isinstance(layer, Flatten):
                n = math.prod(shape[1:])
                out = (shape[0], n)
                if len(shape) > 2:
                    size_formula = " x ".join(str(s) for s in shape[1:]) + f" = {n:,}"
            elif isinstance(layer, Linear):
                if len(shape) != 2:
                    n = math.prod(shape[1:])
                    raise SpecError(i, name, "needs_flatten", None, shape=list(shape),
                                    n=f"{n:,}")
                if shape[1] != layer.in_features:
                    raise SpecError(i, name, "in_features", {"in_features": shape[1]},
                                    got=shape[1], got_text=f"{shape[1]:,}")
                out = (shape[0], layer.out_features)
                fi, fo = layer.in_features, layer.out_features
                params = fi * fo + (fo if layer.bias else 0)
                pform = f"{fi}*{fo}" + (f" + {fo}" if layer.bias else "") + f" = {params:,}"
                macs = fi * fo * batch
            else:
                out = shape
        except SpecError as e:
            return Analysis(rows, e)
        rows.append(LayerInfo(i, name, kind, tuple(shape), tuple(out), params, pform,
                              size_formula, macs))
        shape = out
    return Analysis(rows, None)


def infer(spec, input_shape=(1, 28, 28), batch=1) -> list[LayerInfo]:
    result = analyze(spec, input_shape, batch)
    if result.error is not None:
        raise result.error
    return result.rows


def total_params(spec, input_shape=(1, 28, 28)) -> int:
    return sum(r.params for r in infer(spec, input_shape))


@dataclass
class Preset:
    name: str
    spec: list
    input_shape: tuple
    title: str


def _mlp(sizes, act):
    spec = [Flatten()]
    for a, b in zip(sizes, sizes[1:]):
        spec += [Linear(a, b), act()]
    return spec[:-1]


def _presets() -> dict[str, Preset]:
    b_body = [Conv2d(1, 32, 3, padding=1), ReLU(), MaxPool2d(2),
              Conv2d(32, 64, 3, padding=1), ReLU(), MaxPool2d(2)]
    items = [
        Preset("course-a", [Conv2d(1, 16, 5), ReLU(), Conv2d(16, 32, 5), ReLU(),
                            MaxPool2d(2, 2), Conv2d(32, 64, 5), ReLU(), MaxPool2d(2, 2),
                            Flatten(), Linear(576, 100), ReLU(), Linear(100, 10)],
               (1, 28, 28), "Course CNN A: 1-16-32-64, 5x5 kernels, 576-100-10"),
        Preset("course-b", b_body + [Flatten(), Linear(3136, 10)], (1, 28, 28),
               "Course CNN B: 32/64 filters, padding 1, 3136-10"),
        Preset("course-c", b_body + [Conv2d(64, 128, 3, padding=1), ReLU(),
                                     MaxPool2d(2, 2, padding=1), Flatten(),
                                     Linear(2048, 625), ReLU(), Dropout(0.5), Linear(625, 10)],
               (1, 28, 28), "Course deep CNN C: 3 conv layers, 2048-625-10 with dropout"),
        Preset("mlp", _mlp([784, 1024, 10], Tanh), (1, 28, 28), "MLP 784-1024-10 (tanh)"),
        Preset("deep-mlp", _mlp([784, 1024, 512, 512, 512, 10], Tanh), (1, 28, 28),
               "Deep MLP 784-1024-512-512-512-10 (tanh)"),
        Preset("count-exercise", _mlp([784, 500, 500, 500, 500, 10], ReLU), (1, 28, 28),
               "Parameter-count exercise: 4 hidden layers of 500 (1,149,010 parameters)"),
        Preset("regression-net", [Linear(1, 5), ReLU(), Linear(5, 3), ReLU(), Linear(3, 4),
                                  ReLU(), Linear(4, 1)], (1,),
               "Small regression net 1-5-3-4-1"),
    ]
    return {p.name: p for p in items}


PRESETS = _presets()


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    p = PRESETS[name]
    # a fresh copy, so callers may edit it freely
    return Preset(p.name, spec_from_dicts(spec_to_dicts(p.spec)), p.input_shape, p.title)
