"""Teaching implementations of convolution and pooling that show their work.

Every number the convolution and pooling pages display comes from here. The functions
loop over output positions the way one would by hand and record a `Step` per position
(which input cells the window covers, the products, the sum), so a page can replay the
arithmetic. The unit tests check every result against `torch.nn.functional`, which is
what a real `nn.Conv2d` / `nn.MaxPool2d` / `nn.AvgPool2d` computes.

Coordinates in a `Step` are in the *padded* input, the grid the page draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cnndemo.core.arch import SizeCalc, output_size  # the one size rule
from cnndemo.errors import UserError
from cnndemo.lessons import numbers


class OpsError(UserError):
    """A setting that cannot produce an output. `code` names the problem (the page that
    shows it words it as `<page>.err_<code>`), `params` fills the message, `formula` shows
    the arithmetic."""
    prefix = "{page}.err_"
    default_page = "convolution"

    def __init__(self, code: str, message: str, formula: str | None = None, **params):
        self.formula = formula
        self.params = params
        super().__init__(code, message, **params, formula=formula or "")


@dataclass
class Step:
    """One output position: the window it reads and how its value came about."""

    row: int
    col: int
    cells: list[tuple[int, int]]          # padded-input coordinates, kernel order
    values: np.ndarray                     # [C, n] input values under the window
    value: float                           # the output value
    weights: np.ndarray | None = None      # [C, n] kernel values (convolution)
    bias: float = 0.0
    winner: int | None = None              # index into cells of the max (max pooling)
    divisor: int | None = None             # how many cells the mean divides by (avg pooling)

    @property
    def products(self) -> np.ndarray:
        return self.values * self.weights

    def expression(self, fmt: str = "g", max_terms: int = 27) -> str:
        """The arithmetic as text, e.g. '1×1 + 2×0 + 2×1 + 1×0 + 5 = 8'."""
        def f(v):
            return fmt_num(v, fmt)
        if self.weights is not None:
            terms = [f"{f(x)}×{f(w)}" for x, w in zip(self.values.ravel(), self.weights.ravel())]
            if len(terms) > max_terms:
                terms = terms[: max_terms - 1] + ["…"]
            text = " + ".join(terms)
            if self.bias:
                text += f" + {f(self.bias)}"
            return f"{text} = {f(self.value)}"
        vals = [f(v) for v in self.values.ravel()]
        if self.divisor is not None:
            return f"({' + '.join(vals)}) / {self.divisor} = {f(self.value)}"
        return f"max({', '.join(vals)}) = {f(self.value)}"


@dataclass
class Result:
    """Output of a traced op: the padded input as drawn, the output, one Step per output cell."""

    padded: np.ndarray                     # [C, Hp, Wp]
    output: np.ndarray                     # [H_out, W_out]
    steps: list[Step] = field(default_factory=list)
    size_h: SizeCalc | None = None
    size_w: SizeCalc | None = None
    padding: int = 0

    def step_at(self, row: int, col: int) -> Step:
        return self.steps[row * self.output.shape[1] + col]


def fmt_num(v: float, fmt: str) -> str:
    if v == -math.inf:
        return "-∞"
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    return format(float(v), fmt)


def _as_chw(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1] == 0 or a.shape[2] == 0:
        raise OpsError("bad_shape", f"expected a 2-D grid or a [C, H, W] volume, got shape {a.shape}")
    return a


def _check_hyper(stride: int, padding: int, dilation: int) -> None:
    if stride < 1:
        raise OpsError("bad_stride", f"stride must be at least 1, got {stride}", value=stride)
    if padding < 0:
        raise OpsError("bad_padding", f"padding cannot be negative, got {padding}", value=padding)
    if dilation < 1:
        raise OpsError("bad_dilation", f"dilation must be at least 1, got {dilation}", value=dilation)


def _sizes(h, w, kh, kw, stride, padding, dilation, ceil_mode=False):
    sh = output_size(h, kh, stride, padding, dilation, ceil_mode)
    sw = output_size(w, kw, stride, padding, dilation, ceil_mode)
    for calc, n, k in ((sh, h, kh), (sw, w, kw)):
        if calc.size < 1:
            raise OpsError(
                "kernel_too_big",
                f"the kernel ({dilation * (k - 1) + 1} wide after dilation) is larger than the "
                f"padded input ({n} + 2*{padding} = {n + 2 * padding}): {calc.formula}",
                formula=calc.formula, k_eff=dilation * (k - 1) + 1, padded=n + 2 * padding)
    return sh, sw


def conv2d(x, kernel, bias: float = 0.0, stride: int = 1, padding: int = 0,
           dilation: int = 1, trace: bool = True) -> Result:
    """One output map: x [H,W] or [C,H,W], kernel [kh,kw] or [C,kh,kw] (cross-correlation,
    like nn.Conv2d: the kernel is not flipped)."""
    x = _as_chw(x)
    k = _as_chw(kernel)
    if k.shape[0] != x.shape[0]:
        raise OpsError("channels_mismatch", f"the kernel has {k.shape[0]} channels but the input "
                       f"has {x.shape[0]}", kernel=k.shape[0], input=x.shape[0])
    _check_hyper(stride, padding, dilation)
    c, h, w = x.shape
    kh, kw = k.shape[1:]
    sh, sw = _sizes(h, w, kh, kw, stride, padding, dilation)
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    if not trace:  # the same sum, all windows at once (for whole images)
        span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
        win = np.lib.stride_tricks.sliding_window_view(padded, (span_h, span_w), axis=(1, 2))
        win = win[:, ::stride, ::stride, ::dilation, ::dilation][:, :sh.size, :sw.size]
        out = np.einsum("chwij,cij->hw", win, k) + bias
        return Result(padded, out, [], sh, sw, padding)
    out = np.empty((sh.size, sw.size))
    steps = []
    offs_r = [dilation * a for a in range(kh)]
    offs_c = [dilation * b for b in range(kw)]
    for i in range(sh.size):
        for j in range(sw.size):
            rows = [i * stride + a for a in offs_r]
            cols = [j * stride + b for b in offs_c]
            window = padded[:, rows][:, :, cols]
            out[i, j] = float((window * k).sum() + bias)
            cells = [(r, q) for r in rows for q in cols]
            steps.append(Step(i, j, cells, window.reshape(c, -1), out[i, j],
                              weights=k.reshape(c, -1), bias=float(bias)))
    return Result(padded, out, steps, sh, sw, padding)


def conv2d_multi(x, weights, bias=None, stride: int = 1, padding: int = 0,
                 dilation: int = 1) -> np.ndarray:
    """N kernels -> N output maps: x [C,H,W], weights [N,C,kh,kw], bias [N] -> [N,H',W']."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise OpsError("bad_shape", f"expected weights [N, C, kh, kw], got shape {w.shape}")
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    return np.stack([conv2d(x, w[n], b[n], stride, padding, dilation, trace=False).output
                     for n in range(w.shape[0])])


def pool2d(x, kind: str = "max", kernel_size: int = 2, stride: int | None = None,
           padding: int = 0, ceil_mode: bool = False, dilation: int = 1,
           count_include_pad: bool = True, trace: bool = True) -> Result:
    """Max or average pooling of x [H,W] or [C,H,W] (channel by channel), as F.max_pool2d /
    F.avg_pool2d do it: max pads with -inf, the mean divides by the window's cells inside
    the padded input (count_include_pad=True, nn.AvgPool2d's default)."""
    if kind not in ("max", "avg"):
        raise OpsError("bad_kind", f"pooling kind must be 'max' or 'avg', got {kind!r}")
    if kind == "avg" and dilation != 1:
        raise OpsError("bad_dilation", "average pooling has no dilation", value=dilation)
    x = _as_chw(x)
    stride = kernel_size if stride is None else stride
    _check_hyper(stride, padding, dilation)
    if kernel_size < 1:
        raise OpsError("bad_kernel", f"kernel size must be at least 1, got {kernel_size}",
                       value=kernel_size)
    if 2 * padding > kernel_size:  # PyTorch's rule, on the undilated kernel size
        raise OpsError("pad_too_big", f"padding {padding} is more than half the kernel size "
                       f"({kernel_size}); PyTorch refuses it", padding=padding, k=kernel_size)
    c, h, w = x.shape
    sh, sw = _sizes(h, w, kernel_size, kernel_size, stride, padding, dilation, ceil_mode)
    fill = -math.inf if kind == "max" else 0.0
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    hp, wp = padded.shape[1:]
    out = np.empty((c, sh.size, sw.size))
    steps = []
    offs = [dilation * a for a in range(kernel_size)]
    for i in range(sh.size):
        for j in range(sw.size):
            rows = [r for r in (i * stride + a for a in offs) if r < hp]  # ceil_mode overhang
            cols = [q for q in (j * stride + b for b in offs) if q < wp]
            window = padded[:, rows][:, :, cols].reshape(c, -1)
            winner = divisor = None
            if kind == "max":
                out[:, i, j] = window.max(axis=1)
                if np.isfinite(window[0]).any():  # (a dilated window can miss the input)
                    winner = int(np.argmax(window[0]))  # first maximum, as PyTorch picks it
            else:
                inside = sum(1 for r in rows if padding <= r < h + padding) * \
                    sum(1 for q in cols if padding <= q < w + padding)
                divisor = window.shape[1] if count_include_pad else inside
                out[:, i, j] = window.sum(axis=1) / divisor
            if trace:
                cells = [(r, q) for r in rows for q in cols]
                steps.append(Step(i, j, cells, window[:1], float(out[0, i, j]),
                                  winner=winner, divisor=divisor))
    return Result(padded, out[0] if c == 1 else out, steps, sh, sw, padding)


def stack(x, kernel, times: int, padding: int = 0, bias: float = 0.0) -> list[np.ndarray]:
    """Apply the same kernel again and again (9x9 -> 7x7 -> 5x5 ...); stops when the map
    is smaller than the kernel. Returns [x, map1, map2, ...]."""
    maps = [np.asarray(x, dtype=np.float64)]
    for _ in range(times):
        try:
            maps.append(conv2d(maps[-1], kernel, bias, padding=padding, trace=False).output)
        except OpsError:
            break
    return maps


def parse_grid(text: str, max_rows: int = 12, max_cols: int = 12, name: str = "grid") -> np.ndarray:
    """Rows of numbers (one row per line, separated by spaces or commas) -> 2-D array.
    Fractions like 1/9 are accepted. Raises OpsError with the offending token."""
    rows = []
    for ln, line in enumerate(text.strip().splitlines(), start=1):
        found = numbers.tokens(line)
        if not found:
            continue
        row = []
        for tok in found:
            try:
                val = numbers.number(tok)
            except ValueError:
                raise OpsError("not_a_number", f"{name}: '{tok}' in row {ln} is not a number",
                               token=tok, row=ln, what=name) from None
            if not math.isfinite(val):
                raise OpsError("not_a_number", f"{name}: '{tok}' in row {ln} is not a number",
                               token=tok, row=ln, what=name)
            row.append(val)
        rows.append(row)
    if not rows:
        raise OpsError("empty", f"{name} is empty", what=name)
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise OpsError("ragged", f"{name}: rows have different lengths {sorted(widths)}",
                       lengths=", ".join(str(len(r)) for r in rows))
    a = np.array(rows, dtype=np.float64)
    if a.shape[0] > max_rows or a.shape[1] > max_cols:
        raise OpsError("too_big", f"{name} is {a.shape[0]}x{a.shape[1]}, at most "
                       f"{max_rows}x{max_cols} fits", rows=a.shape[0], cols=a.shape[1],
                       max_rows=max_rows, max_cols=max_cols)
    return a

