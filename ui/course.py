"""Views for the course items of issue 15 on the convolution, pooling and shapes pages."""
from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnndemo.core import arch, checkpoints
from cnndemo.figures import convolution as fc
from cnndemo.figures import course as F
from cnndemo.lessons import course as C
from cnndemo.lessons import filters
from ui.common import active_model, lang, shared_figure, shared_figures, tr
from ui.convolution import grid

PLOT = {"displayModeBar": False}
# Built once for the class, keyed by their inputs: most of these never change.
FF = shared_figures(F, "timeline_figure")
volume_boxes = shared_figure(fc.volume_boxes)


def _big(text: str, size: float = 1.2) -> None:
    st.markdown(f"<div style='font-size:{size}em;font-family:monospace;padding:0.15em 0'>{text}</div>",
                unsafe_allow_html=True)


def dataset_caption(ds) -> str:
    return C.describe_dataset(ds, lang())


# ----- convolution page -----
@st.cache_resource(show_spinner=False, max_entries=16)
def _ws_spec(image, edges: tuple, labels: tuple) -> dict:
    """The weight-sharing figure's spec with the outputs left out: the lines, the nodes and
    the input never change with the weights (read only)."""
    return F.weight_sharing_figure(image, list(edges), np.zeros(4), dict(labels)).to_dict()


def ws_figure(ws, labels: dict) -> go.Figure:
    """F.weight_sharing_figure for these weights, in about 1 ms instead of 25: the shared
    spec with this output's numbers written into the output nodes (the trace named
    labels["output"])."""
    base = _ws_spec(ws.image, tuple(ws.edges), tuple(labels.items()))
    text = [f"{v:g}" for v in ws.output.ravel()]
    data = [{**t, "text": text} if t.get("name") == labels["output"] else t
            for t in base["data"]]
    return go.Figure({**base, "data": data}, _validate=False)


@st.fragment
def weight_sharing() -> None:
    """Seed 004's 3x3 image 0..8 and 2x2 kernel w0..w3 as a network of 16 lines, 4 weights."""
    st.header(tr("convolution.ws_title"))
    st.markdown(tr("convolution.ws_intro"))
    cols = st.columns(4)
    w = [cols[k].number_input(f"w{k}", value=float(k + 1), step=1.0, format="%g",
                              key=f"convolution_ws_w{k}") for k in range(4)]
    try:
        ws = C.weight_sharing(w)
    except ValueError as e:
        st.error(str(e))
        return
    left, right = st.columns([1, 1.2])
    left.plotly_chart(ws_figure(ws, {"input": tr("convolution.ws_in"),
                                     "output": tr("convolution.ws_out")}),
                      config=PLOT, key="convolution_ws_fig")
    with right:
        for n, (sym, num) in enumerate(zip(ws.symbolic, ws.arithmetic)):
            _big(f"y{n} = {sym}", 1.05)
            _big(f"&nbsp;&nbsp;&nbsp;= {num}", 1.05)
        st.markdown(tr("convolution.ws_count", edges=len(ws.edges), shared=len(ws.weights),
                       dense=ws.dense_weights))


@functools.cache
def _tilt():
    """The tilted X, the overlaps and the diagonal filter's responses (fixed, shared)."""
    x, xs, xt = filters.x_image(), filters.x_image(shift=1), C.tilted_x()
    both_s, ink = filters.ink_overlap(x, xs)
    both_t, _ = filters.ink_overlap(x, xt)
    r = {name: C.diagonal_response(img, filters.DIAGONAL) for name, img in
         (("x", x), ("shift", xs), ("tilt", xt))}
    return xt, both_s, both_t, ink, r


def tilted_x() -> None:
    """The tilted X beside the shifted X: few pixels in common, the diagonal filter still fires."""
    xt, both_s, both_t, ink, r = _tilt()
    st.subheader(tr("convolution.tilt_title"))
    cols = st.columns(2)
    cols[0].plotly_chart(grid(xt, tr("convolution.tilt_img"), width=330), config=PLOT,
                         key="convolution_tilt_x")
    cols[1].plotly_chart(grid(r["tilt"].fmap, tr("convolution.tilt_map"), width=330),
                         config=PLOT, key="convolution_tilt_map")
    rows = [{tr("convolution.tilt_col_img"): tr(f"convolution.tilt_row_{k}"),
             tr("convolution.tilt_col_common"): f"{n} / {ink}" if k != "x" else f"{ink} / {ink}",
             tr("convolution.tilt_col_best"): f"{r[k].best:.2f}",
             tr("convolution.tilt_col_strong"): r[k].strong}
            for k, n in (("x", ink), ("shift", both_s), ("tilt", both_t))]
    st.table(rows, hide_index=True)
    st.markdown(tr("convolution.tilt_explain", common=both_t, ink=ink, best=f"{r['tilt'].best:.2f}"))


@functools.cache
def _lenet() -> tuple[list, list[str]]:
    """LeNet-5's volumes and its fully connected widths (fixed, shared)."""
    stages = C.volume_stages(C.LENET5, C.LENET5_INPUT)
    fcs = [str(r.output_shape[1]) for r in arch.infer(C.LENET5, C.LENET5_INPUT) if r.type == "Linear"]
    return stages, fcs


def history() -> None:
    st.subheader(tr("convolution.hist_title"))
    st.markdown(tr("convolution.hist_text"))
    events = [(1959, tr("convolution.hist_hw"), tr("convolution.hist_hw_detail")),
              (1998, tr("convolution.hist_lenet"), tr("convolution.hist_lenet_detail"))]
    st.plotly_chart(FF.timeline_figure(events), config=PLOT, key="convolution_hist_timeline")
    stages, fcs = _lenet()
    st.markdown(tr("convolution.hist_lenet_shapes"))
    _big(" → ".join([f"{c}×{h}×{w}" for _, (c, h, w) in stages] + fcs), 1.1)
    labels = [(tr("convolution.input") if n == "input" else n, s) for n, s in stages]
    st.plotly_chart(volume_boxes(labels, depth_scale=0.12), config=PLOT, key="convolution_hist_lenet")


# ----- pooling page: the 3-D reading -----
_ideal_stack = functools.cache(C.ideal_stack)


@st.cache_resource(show_spinner=False, max_entries=64)
def _reading(spec, input_shape) -> C.Reading:
    """The 3-D reading of a model, once per network for the class (never change it)."""
    return C.volume_reading(spec, input_shape)


def volume_reading() -> None:
    st.subheader(tr("pooling.read_title"))
    try:
        loaded = active_model()
        reading = _reading(loaded.spec, tuple(loaded.input_shape))
    except (checkpoints.CheckpointError, arch.SpecError, KeyError, ValueError) as e:
        st.error(tr("pooling.err_model", reason=str(e)))
        return
    if reading.first_filters is None:
        st.info(tr("pooling.no_conv", model=loaded.name))
    else:
        c, h, w = reading.first_shape
        lines = [tr("pooling.read_first", n=reading.first_filters, c=c, h=h, w=w,
                    cin=loaded.input_shape[0])]
        for name, before, after, nxt in reading.steps:
            key = "pooling.read_pool_next" if nxt else "pooling.read_pool_last"
            lines.append(tr(key, name=name, h0=before[1], w0=before[2], h=after[1], w=after[2],
                            c=after[0], nxt=nxt or 0, ratio=f"{(nxt or after[0]) / after[0]:g}"))
        if reading.steps:
            lc, lh, _ = reading.last_shape
            lines.append(tr("pooling.read_total", k=len(reading.steps), h0=loaded.input_shape[1],
                            h=lh, frac=f"1/{loaded.input_shape[1] / lh:g}", c0=reading.first_filters,
                            c=lc, x=f"{lc / reading.first_filters:g}"))
        st.markdown(tr("pooling.read_model", model=loaded.name) + "\n" +
                    "\n".join(f"- {s}" for s in lines))
    spec, stages = _ideal_stack()
    st.markdown(tr("pooling.read_ideal"))
    _big(" → ".join(f"{c}×{h}×{w}" for _, (c, h, w) in stages), 1.05)
    c16, s16 = stages[1][1], stages[-1][1]
    st.plotly_chart(volume_boxes(stages, depth_scale=0.08, gap=30.0), config=PLOT, key="pooling_read_ideal_fig")
    st.markdown(tr("pooling.read_ideal_total", h0=c16[1], h=s16[1], frac=f"1/{c16[1] // s16[1]}",
                   c0=c16[0], c=s16[0], x=s16[0] // c16[0]))


# ----- shapes page: the layer pattern -----
@functools.cache
def _preset_patterns() -> tuple:
    """(preset, formula, a, b, c, FC) of every preset network (fixed, shared)."""
    out = []
    for name, p in arch.PRESETS.items():
        pat = C.layer_pattern(p.spec)
        a, b = pat.per_stage()
        out.append((name, pat.formula(), a, b, str(pat.pools), str(pat.fc)))
    return tuple(out)


def layer_pattern(layers) -> None:
    st.subheader(tr("shapes.pattern_title"))
    st.markdown(tr("shapes.pattern_intro"))
    try:
        mine = C.layer_pattern(layers)
    except (arch.SpecError, KeyError, TypeError, ValueError) as e:
        st.error(str(e))
        return
    _big(tr("shapes.pattern_this", formula=mine.formula()), 1.1)
    def cell(v: str) -> str:  # st.table reads cells as markdown: a lone "-" is a bullet
        return "–" if v == "-" else v

    rows = [{tr("shapes.pattern_col_net"): tr(f"shapes.preset.{name}"),
             tr("shapes.pattern_col_formula"): formula, "a": cell(a), "b": cell(b), "c": c,
             "FC": fc} for name, formula, a, b, c, fc in _preset_patterns()]
    st.table(rows, hide_index=True)
    st.caption(tr("shapes.pattern_note"))
