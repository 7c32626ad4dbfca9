"""The layer shape explorer's numbers: everything `arch.analyze` says, plus what a
student needs next to it (receptive field, multiply-adds, activation memory, totals),
the PyTorch source of the network, and the course's shape exercises as checks.

`arch.analyze` already explains shapes and parameters; this module only adds columns
and never re-derives a shape on its own, so the two cannot disagree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnndemo.core import arch

BYTES_PER_FLOAT = 4  # float32 weights and activations
SPATIAL = ("Conv2d", "MaxPool2d", "AvgPool2d")
EDITABLE_TYPES = tuple(arch.LAYER_TYPES)


@dataclass(frozen=True)
class ReceptiveField:
    """How much of the input one output unit of a layer sees, along one side.

    `size` is the side of the window in input pixels, `jump` the distance in input
    pixels between neighbouring output units, `start` the input coordinate of the first
    unit's window (negative when the window reaches into the zero padding).
    `whole` is True once a Linear layer has mixed every input pixel together.
    """
    size: int
    jump: int
    start: int
    whole: bool = False

    def window(self, index: int) -> tuple[int, int]:
        """First and last input coordinate seen by output unit `index` (inclusive)."""
        lo = self.start + index * self.jump
        return lo, lo + self.size - 1


@dataclass
class Row(arch.LayerInfo):
    """One line of the explorer's table: arch's numbers plus the explorer's own."""
    mult_adds: int
    rf: ReceptiveField | None
    activation_bytes: int


@dataclass
class Totals:
    params: int
    trainable: int
    buffers: int
    mult_adds: int
    activation_bytes: int
    model_bytes: int


@dataclass
class Report:
    input_shape: tuple
    batch: int
    rows: list[Row]
    error: arch.SpecError | None
    totals: Totals
    layers: list = field(default_factory=list)


def _layers(spec) -> list:
    """The explorer's entry point takes the editor's layer dicts (or dataclasses) and
    converts them once; everything below works on dataclasses."""
    return [arch.from_dict(x) if isinstance(x, dict) else x for x in spec]


def receptive_fields(spec, input_shape=(1, 28, 28)) -> list[ReceptiveField | None]:
    """Receptive field after every layer, by the usual recurrence:
    size grows by (effective kernel - 1) * jump, jump multiplies by the stride,
    and the start moves left by padding * jump. Stops at the end of the spec; layers after
    a broken one still get a value, but the page shows only the working rows."""
    if len(input_shape) != 3:
        return [None] * len(spec)
    rf = ReceptiveField(1, 1, 0)
    out = []
    for layer in spec:
        kind = type(layer).__name__
        if rf is not None and not rf.whole and kind in SPATIAL:
            k = layer.kernel_size
            pool = kind != "Conv2d"
            stride = (layer.stride or k) if pool else layer.stride
            eff = k if pool else layer.dilation * (k - 1) + 1
            rf = ReceptiveField(rf.size + (eff - 1) * rf.jump, rf.jump * stride,
                                rf.start - layer.padding * rf.jump)
        elif kind == "Linear" and rf is not None:
            rf = ReceptiveField(rf.size, rf.jump, rf.start, whole=True)
        out.append(rf)
    return out


def mult_adds(info: arch.LayerInfo, layer) -> int:
    """Multiply-adds counted the way torchinfo counts them: every weight and bias used
    once per output position (conv) or once per sample (linear, batch norm).
    `arch.analyze` counts only the weight multiplications; the bias adds come on top."""
    kind = info.type
    batch = info.output_shape[0]
    if kind == "Conv2d":
        positions = info.output_shape[2] * info.output_shape[3] * batch
        return info.macs + (layer.out_channels * positions if layer.bias else 0)
    if kind == "Linear":
        return info.macs + (layer.out_features * batch if layer.bias else 0)
    if kind == "BatchNorm2d":
        return info.params * batch
    return info.macs


def _buffers(layer) -> int:
    """Bytes of non-trainable state: BatchNorm's running mean and variance (float32)
    and its int64 batch counter."""
    if type(layer).__name__ == "BatchNorm2d":
        return 2 * layer.num_features * BYTES_PER_FLOAT + 8
    return 0


def explain(spec, input_shape=(1, 28, 28), batch=1) -> Report:
    """The whole table for a spec (layer dataclasses or their dicts)."""
    layers = _layers(spec)
    input_shape = tuple(int(x) for x in input_shape)
    analysis = arch.analyze(layers, input_shape, batch)
    rfs = receptive_fields(layers, input_shape)
    rows = []
    for info in analysis.rows:
        layer = layers[info.index]
        rows.append(Row(**vars(info), mult_adds=mult_adds(info, layer), rf=rfs[info.index],
                        activation_bytes=math.prod(info.output_shape) * BYTES_PER_FLOAT))
    params = sum(r.params for r in rows)
    buffers = sum(_buffers(layers[r.index]) for r in rows)
    totals = Totals(params=params, trainable=params, buffers=buffers,
                    mult_adds=sum(r.mult_adds for r in rows),
                    activation_bytes=sum(r.activation_bytes for r in rows),
                    model_bytes=params * BYTES_PER_FLOAT + buffers)
    return Report(input_shape, batch, rows, analysis.error, totals, layers)


def rf_text(rf: ReceptiveField | None) -> str:
    """'5x5', 'all' after a Linear layer, or '' where it makes no sense (vector input)."""
    if rf is None:
        return ""
    if rf.whole:
        return "all"
    return f"{rf.size}x{rf.size}"


def human_bytes(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------- PyTorch source code

def module_expr(layer) -> str:
    """`nn.Conv2d(1, 32, kernel_size=3, padding=1)`: the constructor call, with the
    arguments that differ from PyTorch's defaults spelled out by name."""
    d = arch.to_dict(layer)
    kind = d.pop("type")
    cls = arch.LAYER_TYPES[kind]
    positional = cls.positional
    defaults = {f: getattr(cls, f) for f in d if hasattr(cls, f)}
    args = [repr(d.pop(name)) for name in positional]
    for name, value in d.items():
        if name in defaults and defaults[name] == value and kind != "Dropout":
            continue
        args.append(f"{name}={value!r}")
    return f"nn.{kind}({', '.join(args)})"


def _shape_text(shape) -> str:
    return "[" + ", ".join(["b", *(str(s) for s in shape[1:])]) + "]"


def pytorch_source(spec, input_shape=(1, 28, 28), class_name: str = "Net") -> str:
    """A self-contained `nn.Module` for the spec; every line of `forward` carries the
    shape it produces, and running the file prints the output shape and parameters."""
    report = explain(spec, input_shape)
    counts: dict[str, int] = {}
    names = []
    for layer in report.layers:
        base = layer.short
        counts[base] = counts.get(base, 0) + 1
        names.append(base)
    seen: dict[str, int] = {}
    for i, base in enumerate(names):
        if base != "flatten" or counts[base] > 1:  # conv1, conv2, ...; one flatten stays "flatten"
            seen[base] = seen.get(base, 0) + 1
            names[i] = f"{base}{seen[base]}"
    lines = ["import torch", "from torch import nn", "", "",
             f"class {class_name}(nn.Module):", "    def __init__(self):",
             "        super().__init__()"]
    for name, layer in zip(names, report.layers):
        lines.append(f"        self.{name} = {module_expr(layer)}")
    if not report.layers:
        lines.append("        self.identity = nn.Identity()")
    lines += ["", f"    def forward(self, x):  # x: {_shape_text((0, *report.input_shape))}"]
    for i, name in enumerate(names):
        if i < len(report.rows):
            note = _shape_text(report.rows[i].output_shape)
        elif report.error is not None and i == report.error.index:
            note = "fails: " + report.error.message
        else:
            note = "not reached"
        lines.append(f"        x = self.{name}(x)  # {note}")
    if not report.layers:
        lines.append("        x = self.identity(x)")
    size = ", ".join(str(s) for s in report.input_shape)
    lines += ["        return x", "", "", 'if __name__ == "__main__":',
              f"    model = {class_name}()", f"    x = torch.zeros(1, {size})",
              "    print(model(x).shape)",
              "    print(sum(p.numel() for p in model.parameters()), \"parameters\")", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the course's exercises

def _trail(report: Report) -> list[tuple]:
    """Shapes after each layer that changes the shape (conv, pool, flatten, linear),
    without the batch dimension, as the course notes write them."""
    keep = ("Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Linear")
    return [tuple(r.output_shape[1:]) for r in report.rows if r.type in keep]


COURSE_TRAILS = {
    "course-a": [(16, 24, 24), (32, 20, 20), (32, 10, 10), (64, 6, 6), (64, 3, 3), (576,),
                 (100,), (10,)],
    "course-b": [(32, 28, 28), (32, 14, 14), (64, 14, 14), (64, 7, 7), (3136,), (10,)],
    "course-c": [(32, 28, 28), (32, 14, 14), (64, 14, 14), (64, 7, 7), (128, 7, 7),
                 (128, 4, 4), (2048,), (625,), (10,)],
}
COUNT_EXERCISE_PARAMS = 1_149_010  # (784+1)*500 + 3*(500+1)*500 + (500+1)*10


@dataclass
class Check:
    key: str              # locale key suffix, e.g. "trail-a"
    preset: str | None    # the preset to load for it, if any
    expected: str
    actual: str
    ok: bool
    detail: str = ""


def _fmt_trail(trail) -> str:
    return " -> ".join("x".join(str(s) for s in shape) for shape in trail)


def pool_7x7_check() -> Check:
    """Why 3 or 4? MaxPool2d(2, 2, padding=1) on a 7x7 map: the notes' formula line
    forgot the padding ((7-2)/2+1 = 3.5 -> 3); with it, floor((7-2+2)/2)+1 = 4."""
    report = explain([arch.MaxPool2d(2, 2, padding=1)], (128, 7, 7))
    row = report.rows[0]
    return Check("pool-7", None, "4", str(row.output_shape[2]), row.output_shape[2] == 4,
                 row.size_formula or "")


def course_checks() -> list[Check]:
    checks = []
    for name, expected in COURSE_TRAILS.items():
        p = arch.preset(name)
        report = explain(p.spec, p.input_shape)
        trail = _trail(report)
        checks.append(Check("trail-" + name[-1], name, _fmt_trail(expected), _fmt_trail(trail),
                            trail == expected and report.error is None))
    p = arch.preset("count-exercise")
    report = explain(p.spec, p.input_shape)
    total = report.totals.params
    layers = [report.layers[r.index] for r in report.rows if r.type == "Linear"]
    formula = " + ".join(f"({x.in_features}+{int(x.bias)})*{x.out_features}" for x in layers)
    formula += f" = {total:,}"
    checks.append(Check("params-mlp", "count-exercise", f"{COUNT_EXERCISE_PARAMS:,}",
                        f"{total:,}", total == COUNT_EXERCISE_PARAMS, formula))
    checks.append(pool_7x7_check())
    return checks


# ---------------------------------------------------------------- editing helpers

def default_layer(kind: str, prev_shape: tuple | None) -> dict:
    """A new layer of `kind` that fits after a layer with output `prev_shape`."""
    channels = prev_shape[1] if prev_shape and len(prev_shape) == 4 else 1
    features = math.prod(prev_shape[1:]) if prev_shape else 1
    make = {
        "Conv2d": lambda: arch.Conv2d(channels, max(2 * channels, 16), 3, padding=1),
        "MaxPool2d": lambda: arch.MaxPool2d(2, 2),
        "AvgPool2d": lambda: arch.AvgPool2d(2, 2),
        "Linear": lambda: arch.Linear(features, 10),
        "BatchNorm2d": lambda: arch.BatchNorm2d(channels),
    }.get(kind, lambda: arch.LAYER_TYPES[kind]())
    return arch.to_dict(make())


def retype(d: dict, kind: str, prev_shape: tuple | None) -> dict:
    """Change a layer's type, keeping the fields the two types share."""
    new = default_layer(kind, prev_shape)
    for key in new:
        if key != "type" and key in d and type(d[key]) is type(new[key]):
            new[key] = d[key]
    return new
