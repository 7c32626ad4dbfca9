"""Layer specs, the course's networks, and shape/parameter inference.

A network is a plain list of small dataclasses. `build` turns it into a real
`nn.Sequential`; `analyze` walks it with the same formulas PyTorch uses and explains
every number, so a student can see *why* a shape is what it is. Tests check both
against a real forward pass.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import torch.nn as nn

from cnndemo import i18n
from cnndemo.errors import UserError


@dataclass
class Rule:
    """What one layer does to the shape flowing through it, and what it costs."""
    output_shape: tuple
    size_formula: str | None = None
    params: int = 0
    params_formula: str = "0"
    macs: int = 0


class Layer:
    """What every layer kind carries in one place: its short name in generated code
    (conv1, fc2), its constructor's positional arguments, how a student writes it in
    PyTorch (`code`) and its shape rule (`rule`). Adding a layer kind means one class here.
    The default is a layer that keeps the shape and has no parameters (ReLU, Dropout)."""
    short: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    is_activation: ClassVar[bool] = False  # the "act" of the course's layer pattern

    def code(self) -> str:
        return f"{type(self).__name__}()"

    def rule(self, i: int, name: str, shape: tuple, batch: int) -> Rule:
        return Rule(shape)


@dataclass
class Conv2d(Layer):
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: bool = True
    short: ClassVar[str] = "conv"
    positional: ClassVar[tuple[str, ...]] = ("in_channels", "out_channels")

    def code(self) -> str:
        args = [str(self.in_channels), str(self.out_channels), str(self.kernel_size)]
        for key, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("bias", True)):
            if getattr(self, key) != default:
                args.append(f"{key}={getattr(self, key)}")
        return f"Conv2d({', '.join(args)})"

    def rule(self, i, name, shape, batch):
        _check_4d(i, name, shape, "Conv2d")
        if shape[1] != self.in_channels:
            raise SpecError(i, name, "in_channels", {"in_channels": shape[1]},
                            expected=self.in_channels, got=shape[1])
        out, size_formula = _conv_like(i, self, shape, name, False)
        k, cin, cout = self.kernel_size, self.in_channels, self.out_channels
        weights = cout * cin * k * k
        params = weights + (cout if self.bias else 0)
        pform = f"{cout}*{cin}*{k}*{k}" + (f" + {cout}" if self.bias else "") + f" = {params:,}"
        return Rule(out, size_formula, params, pform, weights * out[2] * out[3] * batch)


@dataclass
class _Pool(Layer):
    kernel_size: int
    stride: int | None = None
    padding: int = 0
    ceil_mode: bool = False
    short: ClassVar[str] = "pool"

    def code(self) -> str:
        args = [str(self.kernel_size)]
        if self.stride is not None:
            args.append(str(self.stride))
        if self.padding:
            args.append(f"padding={self.padding}")
        if self.ceil_mode:
            args.append("ceil_mode=True")
        return f"{type(self).__name__}({', '.join(args)})"

    def rule(self, i, name, shape, batch):
        _check_4d(i, name, shape, type(self).__name__)
        return Rule(*_conv_like(i, self, shape, name, True))


@dataclass
class MaxPool2d(_Pool):
    pass


@dataclass
class AvgPool2d(_Pool):
    pass


@dataclass
class ReLU(Layer):
    short: ClassVar[str] = "relu"
    is_activation: ClassVar[bool] = True


@dataclass
class LeakyReLU(Layer):
    negative_slope: float = 0.01
    short: ClassVar[str] = "lrelu"
    is_activation: ClassVar[bool] = True

    def code(self) -> str:
        return f"LeakyReLU({self.negative_slope})"


@dataclass
class Sigmoid(Layer):
    short: ClassVar[str] = "sigmoid"
    is_activation: ClassVar[bool] = True


@dataclass
class Tanh(Layer):
    short: ClassVar[str] = "tanh"
    is_activation: ClassVar[bool] = True


@dataclass
class Flatten(Layer):
    short: ClassVar[str] = "flatten"

    def rule(self, i, name, shape, batch):
        n = math.prod(shape[1:])
        size_formula = " x ".join(str(s) for s in shape[1:]) + f" = {n:,}" if len(shape) > 2 else None
        return Rule((shape[0], n), size_formula)


@dataclass
class Linear(Layer):
    in_features: int
    out_features: int
    bias: bool = True
    short: ClassVar[str] = "fc"
    positional: ClassVar[tuple[str, ...]] = ("in_features", "out_features")

    def code(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"Linear({self.in_features}, {self.out_features}{extra})"

    def rule(self, i, name, shape, batch):
        if len(shape) != 2:
            raise SpecError(i, name, "needs_flatten", None, shape=list(shape),
                            n=f"{math.prod(shape[1:]):,}")
        if shape[1] != self.in_features:
            raise SpecError(i, name, "in_features", {"in_features": shape[1]},
                            got=shape[1], got_text=f"{shape[1]:,}")
        fi, fo = self.in_features, self.out_features
        params = fi * fo + (fo if self.bias else 0)
        pform = f"{fi}*{fo}" + (f" + {fo}" if self.bias else "") + f" = {params:,}"
        return Rule((shape[0], fo), None, params, pform, fi * fo * batch)


@dataclass
class Dropout(Layer):
    p: float = 0.5
    short: ClassVar[str] = "drop"

    def code(self) -> str:
        return f"Dropout({self.p})"


@dataclass
class BatchNorm2d(Layer):
    num_features: int
    short: ClassVar[str] = "bn"
    positional: ClassVar[tuple[str, ...]] = ("num_features",)

    def code(self) -> str:
        return f"BatchNorm2d({self.num_features})"

    def rule(self, i, name, shape, batch):
        _check_4d(i, name, shape, "BatchNorm2d")
        if shape[1] != self.num_features:
            raise SpecError(i, name, "num_features", {"num_features": shape[1]},
                            expected=self.num_features, got=shape[1])
        params = 2 * self.num_features
        return Rule(shape, None, params, f"2*{self.num_features} = {params:,}")


LAYER_TYPES = {cls.__name__: cls for cls in (
    Conv2d, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Sigmoid, Tanh, Flatten, Linear,
    Dropout, BatchNorm2d)}


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
    return layer.code()


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


class SpecError(UserError):
    """A layer that cannot work, explained in plain words with the fix (`fix`: the fields
    to set). The reasons are in locales/*/arch.json."""
    prefix = "arch."

    def __init__(self, index: int, layer_name: str, code: str, fix: dict | None = None, **args):
        self.index, self.layer_name, self.fix = index, layer_name, fix
        self.code, self.fmt = code, args
        self.message = self.localized("en")
        super().__init__(code, f"Layer {index + 1}, {layer_name}: {self.message}", **args)

    def localized(self, lang: str, page: str = "") -> str:
        """The reason in the UI language (English when no translation exists)."""
        return i18n.t(self.locale_key(), lang, **self.fmt)


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


@dataclass(frozen=True)
class SizeCalc:
    """Output size along one axis, with the formula filled in with the user's numbers."""

    size: int
    formula: str
    ceil_adjusted: bool = False  # ceil_mode dropped a window that would start in the padding


def output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                ceil_mode: bool = False) -> SizeCalc:
    """O = floor((I - K_eff + 2P) / S) + 1 with K_eff = D*(K-1) + 1: PyTorch's rule, the one
    rule behind every shape in the app (the network table and the traced conv/pool ops)."""
    k_eff = dilation * (k - 1) + 1
    k_txt = str(k) if dilation == 1 else f"({dilation}*({k}-1)+1)"
    span = n - k_eff + 2 * padding
    rnd = "ceil" if ceil_mode else "floor"
    size = max((-(-span // stride) if ceil_mode else span // stride) + 1, 0)
    formula = f"{rnd}(({n} - {k_txt} + 2*{padding})/{stride}) + 1 = {size}"
    adjusted = False
    if ceil_mode and size > 0 and (size - 1) * stride >= n + padding:
        size -= 1  # PyTorch: the last window must start inside the input or the left padding
        adjusted = True
        formula += f" - 1 = {size}"
    return SizeCalc(size, formula, adjusted)


def _conv_like(i, layer, shape, name, is_pool):
    b, c, h, w = shape
    k = layer.kernel_size
    s = (layer.stride or k) if is_pool else layer.stride
    d = 1 if is_pool else layer.dilation
    ceil = layer.ceil_mode if is_pool else False
    if is_pool and layer.padding > k // 2:
        raise SpecError(i, name, "pool_padding", {"padding": k // 2}, padding=layer.padding,
                        kernel=k, max_padding=k // 2)
    sh, sw = output_size(h, k, s, layer.padding, d, ceil), output_size(w, k, s, layer.padding, d, ceil)
    oh, ow, fh, fw = sh.size, sw.size, sh.formula, sw.formula
    if oh < 1 or ow < 1:
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
            r = layer.rule(i, name, tuple(shape), batch)
        except SpecError as e:
            return Analysis(rows, e)
        rows.append(LayerInfo(i, name, kind, tuple(shape), tuple(r.output_shape), r.params,
                              r.params_formula, r.size_formula, r.macs))
        shape = r.output_shape
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
