"""Streamlit rendering helpers for the convolution page (and the pooling page's shared bits)."""
from __future__ import annotations

import functools
import io
import pickle

import numpy as np
import streamlit as st
from PIL import Image

from cnndemo.core import checkpoints, data
from cnndemo.figures import convolution as fc
from cnndemo.figures import images
from cnndemo.figures.spec import Served
from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters
from cnndemo.lessons.course import describe_dataset
from ui.common import digits_model, lang, shared_figure, show_error, tr

PLOT = {"displayModeBar": False}
grid = shared_figure(fc.number_grid)
# the step figure of one convolution without its step's outlines, for the class (read only):
# a move of the step slider adds the outlines and builds nothing else
_step_spec = st.cache_resource(show_spinner=False, max_entries=256,
                               hash_funcs={ops.Result: pickle.dumps})(fc.step_spec)
# the maps of repeated convolutions, for the class (read only)
_stack = st.cache_resource(show_spinner=False, max_entries=256)(ops.stack)


def png(values, colorscale: str = "gray", zmid: float | None = None, size: int = 168) -> bytes:
    """A map as a lossless PNG, each cell a crisp square (see cnndemo.figures.images)."""
    out = io.BytesIO()
    Image.fromarray(images.map_image(values, colorscale, zmid, size)).save(out, format="PNG")
    return out.getvalue()


def image_row(maps: dict[str, np.ndarray | bytes], cols: int, colorscale: str = "gray",
              zmid: float | None = None, size: int = 168) -> None:
    """Titled maps side by side as images (cheaper than a grid of heatmaps; no hover).
    A map may come as its PNG already (`png`), made once for the class."""
    names = list(maps)
    for start in range(0, len(names), cols):
        for col, name in zip(st.columns(cols), names[start:start + cols]):
            col.markdown(f"<div style='text-align:center;font-size:1.05em'>{name}</div>",
                         unsafe_allow_html=True)
            m = maps[name]
            # PNG said outright: streamlit would re-encode an RGB PNG as a JPEG every run
            col.image(m if isinstance(m, bytes) else png(m, colorscale, zmid, size),
                      width="stretch", output_format="PNG")


def big(text: str, size: float = 1.35) -> None:
    """A line of arithmetic, large enough for the back row."""
    st.markdown(f"<div style='font-size:{size}em;font-family:monospace;"
                f"padding:0.2em 0'>{text}</div>", unsafe_allow_html=True)


def read_grid(key: str, page: str, what: str, max_size: int = 12) -> np.ndarray | None:
    try:
        return ops.parse_grid(st.session_state[key], max_size, max_size, name=what)
    except ops.OpsError as e:
        show_error(e, page)
        return None


def apply_preset(prefix: str, preset: dict) -> None:
    for field, value in preset.items():
        st.session_state[f"{prefix}_{field}"] = value


def size_lines(res: ops.Result, page: str) -> None:
    big(f"{tr(page + '.out_h')}: {res.size_h.formula}")
    big(f"{tr(page + '.out_w')}: {res.size_w.formula}")
    if res.size_h.ceil_adjusted or res.size_w.ceil_adjusted:
        st.caption(tr(page + ".ceil_note"))


@st.fragment
def step_through(res: ops.Result, page: str, fmt: str = ".2f") -> None:
    n = len(res.steps)
    st.session_state[f"{page}_step"] = min(st.session_state.get(f"{page}_step", 0), n - 1)
    idx = st.slider(tr(page + ".step"), 0, n - 1, key=f"{page}_step",
                    format="%d", help=tr(page + ".step_help")) if n > 1 else 0
    st_ = res.steps[idx]
    big(tr(page + ".step_pos", row=st_.row, col=st_.col, n=idx + 1, total=n), 1.1)
    spec = _step_spec(res, fmt, (tr(page + ".padded_input"), tr(page + ".output")),
                      animate=True, play_label=tr(page + ".play"))
    fig = Served(fc.step_at(spec, res, idx))
    st.plotly_chart(fig, config=PLOT, key=f"{page}_step_fig")
    big(st_.expression(fmt), 1.4 if len(st_.cells) <= 9 else 1.05)


@st.fragment
def stacking(x: np.ndarray, k: np.ndarray, bias: float) -> None:
    keep = st.toggle(tr("convolution.stack_keep"), key="convolution_stack_keep")
    pad = (k.shape[0] - 1) // 2 if keep else 0
    maps = _stack(x, k, times=4 if keep else 12, padding=pad, bias=bias)
    st.markdown(" → ".join(f"**{m.shape[0]}×{m.shape[1]}**" for m in maps))
    cols = st.columns(len(maps))
    for i, (col, m) in enumerate(zip(cols, maps)):
        title = tr("convolution.input") if i == 0 else tr("convolution.after_n", n=i)
        col.plotly_chart(grid(m, title, width=260), config=PLOT,
                         key=f"convolution_stack_{i}")


@functools.cache
def _channel_maps() -> tuple[list, np.ndarray]:
    """The fixed example's three partial maps and their sum (the same for everyone)."""
    x, w0 = filters.CHANNEL_X, filters.CHANNEL_W
    return ([ops.conv2d(x[c], w0[c], trace=False).output for c in range(3)],
            ops.conv2d(x, w0, trace=False).output)


@functools.lru_cache(maxsize=64)
def _multi_shape(n_out: int) -> tuple[int, ...]:
    x, w0 = filters.CHANNEL_X, filters.CHANNEL_W
    return ops.conv2d_multi(x, np.broadcast_to(w0, (n_out, *w0.shape))).shape


@st.fragment
def channels() -> None:
    """One 3-channel kernel on a 3-channel input: three partial maps added into one."""
    x, w0 = filters.CHANNEL_X, filters.CHANNEL_W
    partial, total = _channel_maps()
    for c, name in enumerate(("R", "G", "B")):
        cols = st.columns([3, 1, 3, 1, 3], vertical_alignment="center")
        cols[0].plotly_chart(grid(x[c], tr("convolution.ch_in", c=name), width=240),
                             config=PLOT, key=f"convolution_ch_x{c}")
        cols[1].markdown("## ⊛")
        cols[2].plotly_chart(grid(w0[c], tr("convolution.ch_k", c=name), width=160),
                             config=PLOT, key=f"convolution_ch_w{c}")
        cols[3].markdown("## =")
        cols[4].plotly_chart(grid(partial[c], tr("convolution.ch_part", c=name),
                                            width=220), config=PLOT, key=f"convolution_ch_p{c}")
    cols = st.columns([3, 1, 3, 1, 3], vertical_alignment="center")
    cols[0].markdown(f"## {tr('convolution.ch_sum')}")
    cols[4].plotly_chart(grid(total, tr("convolution.ch_total"), width=220),
                         config=PLOT, key="convolution_ch_total")
    n_out = st.slider(tr("convolution.ch_n"), 1, 64, 2, key="convolution_ch_n")
    k = w0.shape[-1]
    shape = _multi_shape(n_out)
    big(tr("convolution.ch_out_shape", n=n_out, h=shape[1], w=shape[2]), 1.2)
    big(tr("convolution.ch_weights", n=n_out, k=k, total=n_out * 3 * k * k + n_out), 1.2)


@functools.cache
def _why_maps():
    """The X, the shifted X, their overlap and their diagonal maps (fixed, shared)."""
    x, xs = filters.x_image(), filters.x_image(shift=1)
    both, ink = filters.ink_overlap(x, xs)
    a = ops.conv2d(x, filters.DIAGONAL / 9, trace=False).output
    b = ops.conv2d(xs, filters.DIAGONAL / 9, trace=False).output
    return x, xs, both, ink, a, b, bool(np.allclose(a[:, :-1], b[:, 1:]))


def why_conv() -> None:
    x, xs, both, ink, a, b, same = _why_maps()
    cols = st.columns(2)
    cols[0].plotly_chart(grid(x, tr("convolution.why_x"), width=330), config=PLOT,
                         key="convolution_why_x")
    cols[1].plotly_chart(grid(xs, tr("convolution.why_xs"), width=330), config=PLOT,
                         key="convolution_why_xs")
    big(tr("convolution.why_overlap", both=both, ink=ink), 1.2)
    cols = st.columns(2)
    cols[0].plotly_chart(grid(a, tr("convolution.why_map"), width=330), config=PLOT,
                         key="convolution_why_a")
    cols[1].plotly_chart(grid(b, tr("convolution.why_map_s"), width=330), config=PLOT,
                         key="convolution_why_b")
    big(tr("convolution.why_shifted" if same else "convolution.why_not_shifted"), 1.2)


def pick_image(page: str) -> tuple[np.ndarray | None, str]:
    """The student's last drawing, else a real held-out digit chosen by number."""
    drawing = st.session_state.get("last_drawing")
    options = ["drawing", "dataset"] if drawing is not None else ["dataset"]
    labels = {o: tr(f"{page}.img_{o}") for o in options}
    if st.session_state.get(f"{page}_img_src", options[0]) not in options:  # cleared since
        st.session_state[f"{page}_img_src"] = options[0]
    src = st.radio(tr(page + ".img_src"), options, horizontal=True, key=f"{page}_img_src",
                   format_func=labels.get)
    if src == "drawing":
        return np.asarray(drawing, dtype=np.float32), tr(page + ".img_drawing")
    try:
        ds = data.load("mnist")
    except data.DataUnavailable as e:
        st.error(tr(page + ".err_data", reason=str(e)))
        return None, ""
    i = st.number_input(tr(page + ".img_index", n=len(ds.test_y) - 1), 0, len(ds.test_y) - 1, 0,
                        key=f"{page}_img_index")
    img = ds.test_image(int(i))
    return img, tr(page + ".img_caption", i=int(i), label=int(ds.test_y[int(i)]),
                   source=describe_dataset(ds, lang()))


@st.cache_resource(show_spinner=False, max_entries=256)
def _handcrafted(img: np.ndarray, custom: np.ndarray | None) -> dict[str, bytes]:
    """The image and its hand-made filter maps as PNGs, for the whole class (most students
    look at the same digits): name -> PNG."""
    maps = {"input": img, **filters.apply_all(img, custom=custom)}
    return {k: png(v) for k, v in maps.items()}


@st.cache_resource(show_spinner=False, max_entries=256)
def _learned(model_key: tuple, _model, img: np.ndarray) -> tuple[str, int, list, list]:
    """(layer name, kernel count, kernel PNGs, feature-map PNGs) of the model's first conv
    layer on `img`, for at most 8 kernels; `model_key` (path, mtime) names the model."""
    fl = filters.first_layer(_model, img)
    n = min(8, fl.weights.shape[0])
    return (fl.name, int(fl.weights.shape[0]),
            [png(fl.weights[i, 0], "RdBu", 0.0, 96) for i in range(n)],
            [png(fl.maps[i], size=112) for i in range(n)])


def model_key(loaded) -> tuple:
    path = loaded.path
    return str(path), path.stat().st_mtime if path.exists() else 0.0


@st.fragment
def real_filters(custom: np.ndarray | None) -> None:
    img, caption = pick_image("convolution")
    if img is None:
        return
    st.caption(caption)
    if custom is not None and (custom.shape[0] % 2 == 0 or custom.shape[1] % 2 == 0):
        custom = None  # an even kernel cannot keep the size centred; skip it here
    maps = _handcrafted(img, custom)
    st.markdown(f"#### {tr('convolution.handcrafted')}")
    image_row({tr(f"convolution.f_{k}"): v for k, v in maps.items()}, cols=5)
    st.markdown(f"#### {tr('convolution.learned')}")
    try:
        loaded = digits_model()
        layer, total, kernels, fmaps = _learned(model_key(loaded), loaded.model, img)
    except (checkpoints.CheckpointError, filters.NoConvLayer) as e:
        st.error(tr("convolution.err_model", reason=str(e)))
        return
    st.caption(tr("convolution.learned_caption", model=loaded.name, layer=layer,
                  n=total, shown=len(kernels)))
    image_row({f"#{i}": k for i, k in enumerate(kernels)}, cols=8)
    image_row({f"#{i}": m for i, m in enumerate(fmaps)}, cols=8)
