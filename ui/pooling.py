"""Streamlit rendering helpers for the pooling page."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cnndemo.core import arch, checkpoints
from cnndemo.figures import convolution as fc
from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters
from ui.common import active_model, digits_model, shared_figure, show_error, tr
from ui.convolution import PLOT, big, grid, image_row, model_key, pick_image, png

PAGE = "pooling"
_volume_boxes = shared_figure(fc.volume_boxes)


def settings() -> dict:
    return dict(kernel_size=st.session_state["pooling_kernel"],
                stride=st.session_state["pooling_stride"],
                padding=st.session_state["pooling_padding"],
                ceil_mode=st.session_state["pooling_ceil"])


def pool_both(x: np.ndarray, cfg: dict) -> tuple[ops.Result, ops.Result] | None:
    try:
        return ops.pool2d(x, "max", **cfg), ops.pool2d(x, "avg", **cfg)
    except ops.OpsError as e:
        show_error(e, PAGE)
        return None


def side_by_side(mx: ops.Result, av: ops.Result, step: int) -> None:
    """Input with every max winner (green) and the current window (orange); both outputs."""
    winners = [s.cells[s.winner] for s in mx.steps if s.winner is not None]
    st_max, st_avg = mx.steps[step], av.steps[step]
    show = av.padded[0]  # zeros in the padding, as drawn (max pooling ignores them: -inf)
    c_in, c_max, c_avg = st.columns([4, 3, 3])
    c_in.plotly_chart(grid(show, tr("pooling.input"), fmt=".2g", pad=mx.padding,
                                     highlight=st_max.cells, winners=winners, width=330),
                      config=PLOT, key="pooling_in_fig")
    for col, res, name, kind in ((c_max, mx, "pooling.max_out", "max"),
                                 (c_avg, av, "pooling.avg_out", "avg")):
        col.plotly_chart(grid(res.output, tr(name), highlight=[(res.steps[step].row,
                                        res.steps[step].col)], width=250),
                         config=PLOT, key=f"pooling_{kind}_fig")
    st.caption(tr("pooling.legend"))
    big(f"{tr('pooling.max')}: {st_max.expression('.2f')}", 1.3)
    big(f"{tr('pooling.avg')}: {st_avg.expression('.2f')}", 1.3)


@st.cache_resource(show_spinner=False, max_entries=64)
def _pre_pool(model_key: tuple, _model, img: np.ndarray) -> np.ndarray:
    """The maps that reach the model's first pooling, once per (model, image) for the class
    (read only)."""
    maps = filters.pre_pool_maps(_model, img)
    maps.setflags(write=False)
    return maps


@st.cache_resource(show_spinner=False, max_entries=512)
def _pooled(fmap: np.ndarray, cfg: tuple) -> tuple[tuple, tuple, tuple, list[bytes]]:
    """(map, max, avg shapes) and the three as PNGs, for one channel and one setting."""
    kw = dict(cfg)
    mx = ops.pool2d(fmap, "max", trace=False, **kw).output
    av = ops.pool2d(fmap, "avg", trace=False, **kw).output
    return (fmap.shape, mx.shape, av.shape,
            [png(m, "Viridis", None, 280) for m in (fmap, mx, av)])


@st.fragment
def real_map(cfg: dict) -> None:
    img, caption = pick_image(PAGE)
    if img is None:
        return
    try:
        loaded = digits_model()
        maps = _pre_pool(model_key(loaded), loaded.model, img)
    except (checkpoints.CheckpointError, filters.NoConvLayer) as e:
        st.error(tr("pooling.err_model", reason=str(e)))
        return
    st.caption(caption)
    ch = st.slider(tr("pooling.channel", n=maps.shape[0] - 1), 0, maps.shape[0] - 1, 0,
                   key="pooling_channel")
    try:
        (h, w), (ho, wo), _, pngs = _pooled(maps[ch], tuple(sorted(cfg.items())))
    except ops.OpsError as e:
        show_error(e, PAGE)
        return
    st.caption(tr("pooling.real_caption", model=loaded.name, ch=ch, h=h, w=w, ho=ho, wo=wo))
    labels = (tr("pooling.fmap", h=h, w=w), tr("pooling.max_small", h=ho, w=wo),
              tr("pooling.avg_small", h=ho, w=wo))
    image_row(dict(zip(labels, pngs)), cols=3)


def volume_stages(spec, input_shape) -> list[tuple[str, tuple[int, int, int]]]:
    """Input plus the output of every conv and pooling layer, as (label, (C, H, W))."""
    rows = arch.infer(spec, tuple(input_shape))
    stages = [(tr("pooling.input"), tuple(input_shape))]
    for r in rows:
        if r.type in ("Conv2d", "MaxPool2d", "AvgPool2d") and len(r.output_shape) == 4:
            stages.append((r.name, tuple(r.output_shape[1:])))
    return stages


def volumes() -> None:
    try:
        loaded = active_model()
        stages = volume_stages(loaded.spec, loaded.input_shape)
    except (checkpoints.CheckpointError, arch.SpecError) as e:
        st.error(tr("pooling.err_model", reason=str(e)))
        return
    if len(stages) < 2:
        st.info(tr("pooling.no_conv", model=loaded.name))
        return
    st.caption(tr("pooling.volume_caption", model=loaded.name))
    big(" → ".join(f"{c}×{h}×{w}" for _, (c, h, w) in stages), 1.15)
    st.plotly_chart(_volume_boxes(stages), config=PLOT, key="pooling_volume_fig")
