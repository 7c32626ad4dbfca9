"""Streamlit helpers for the Draw page: state, input reading and rendering."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnndemo.core import checkpoints, data, inference, preprocess
from cnndemo.figures import draw as figures_draw
from cnndemo.figures import images
from ui.canvas import Drawing
from ui.charts import bars, gallery, heatmap
from ui.common import active_model, digits_model, lazy_expander, shared_figures, tr

CANVAS_PX = 280
# Built once for the class: the same flat layer output gives the same figure.
FIG = shared_figures(figures_draw, "vector_figure")


def init_state() -> None:
    st.session_state.setdefault("draw_canvas_n", 0)
    st.session_state.setdefault("draw_source", None)  # None, or {"index": i, "label": y} of a real digit


def canvas_key() -> str:
    """Changing the key remounts the canvas empty: that is how Clear works."""
    return f"draw_canvas_{st.session_state['draw_canvas_n']}"


def clear() -> None:
    st.session_state["draw_canvas_n"] += 1
    st.session_state["draw_source"] = None
    st.session_state.pop("last_drawing", None)


def pick_random() -> None:
    """Put a random held-out MNIST digit on the page (and empty the canvas)."""
    try:
        ds = data.load("mnist")
    except data.DataUnavailable as e:
        st.session_state["draw_data_error"] = str(e)
        return
    i = int(np.random.default_rng().integers(len(ds.test_y)))
    st.session_state["draw_canvas_n"] += 1
    st.session_state["draw_source"] = {"index": i, "label": int(ds.test_y[i])}


def model_or_stop() -> checkpoints.Loaded:
    """The digits model to use; a clear message (and nothing else) if none can be loaded."""
    try:
        loaded = digits_model()
        active = active_model()
    except checkpoints.CheckpointError as e:
        st.error(tr("draw.no_model", reason=str(e)))
        st.stop()
    if active.path != loaded.path:
        st.info(tr("draw.not_digits", name=active.name, dataset=active.dataset))
    return loaded


@dataclass
class Input:
    image: np.ndarray | None = None  # the 28x28 the model receives
    caption: str = ""
    message: str = ""  # why there is no image
    kind: str = "info"  # how to show the message: info / warning / error


def read_input(canvas: Drawing) -> Input:
    """The drawing if there is one, else the chosen real digit, else a message."""
    if canvas.strokes and canvas.png:
        st.session_state["draw_source"] = None  # drawing takes over from the real digit
        try:
            prepared = preprocess.preprocess(preprocess.from_data_url(canvas.png))
        except preprocess.ImageReadError as e:
            return Input(message=tr("draw.bad_drawing", reason=str(e)), kind="error")
        except preprocess.TooSmall:
            return Input(message=tr("draw.too_small"), kind="warning")
        except preprocess.BlankDrawing:
            return Input(message=tr("draw.empty"))
        except preprocess.DrawingError as e:
            return Input(message=tr("draw.bad_drawing", reason=str(e)), kind="error")
        return Input(prepared.image, tr("draw.sees_caption"))
    err = st.session_state.pop("draw_data_error", None)
    if err:
        return Input(message=tr("draw.data_missing", reason=err), kind="error")
    src = st.session_state.get("draw_source")
    if src:
        ds = data.load("mnist")
        prepared = preprocess.preprocess(ds.test_x[src["index"]].numpy())
        return Input(prepared.image, tr("draw.real_caption", index=src["index"], label=src["label"]))
    return Input(message=tr("draw.empty"))


def render_seen(inp: Input) -> None:
    """The 28x28 the model receives, blown up with crisp pixels."""
    st.markdown(f"#### {tr('draw.sees')}")
    image = inp.image if inp.image is not None else np.zeros((28, 28), np.float32)
    st.image(_seen_png(image), width=224, output_format="PNG")
    if inp.image is not None:
        st.caption(inp.caption)


def render_verdict(result: inference.Result) -> None:
    pred = result.prediction
    st.metric(tr("draw.predicted"), pred.label, help=tr("draw.predicted_help"))
    if pred.unsure:
        st.warning(tr("draw.unsure", p=f"{pred.confidence:.0%}"))
    else:
        st.caption(tr("draw.confidence", p=f"{pred.confidence:.1%}"))


def render_probs(result: inference.Result) -> None:
    pred = result.prediction
    bars(figures_draw.probs_data(pred.probs, pred.classes, pred.top, tr("draw.probs_axis")), key="draw_probs",
         label=tr("draw.probs_axis"))


def render_maps_intro(result: inference.Result) -> None:
    """The section's title, what it shows and the tensor's shape after each layer, in one
    page element: each element the page writes after a drawing costs the browser time before
    it can show the next prediction."""
    trail = " → ".join(inference.format_shape(s) for s in result.shape_trail())
    st.markdown(f"## {tr('draw.maps_title')}\n\n{tr('draw.maps_intro')}\n\n**{tr('draw.trail')}**  \n`{trail}`")


def _layer_label(layer: inference.LayerOutput) -> str:
    return tr("draw.layer_option", index=layer.index, name=layer.name, shape=inference.format_shape(layer.shape))


@st.cache_data(show_spinner=False, max_entries=64)
def _seen_png(image: np.ndarray) -> bytes:
    return images.png(figures_draw.upscale(image, 8))


@st.cache_data(show_spinner=False, max_entries=256)
def _overview_png(values: np.ndarray) -> bytes:
    """One layer's maps at a glance, as PNG (crisp; a numpy array would go out as JPEG), one
    pixel per value: the browser blows it up with square pixels, so a digit's six layers are
    about 45 KB instead of 64 and the server makes them in 3.5 ms instead of 7 (20 test digits).
    Kept for the class: the same drawing's reruns (a new pen width...) and the same real
    digit for another student cost nothing."""
    return images.png(figures_draw.montage_image(values, cols=8, target_px=None))


@st.cache_data(show_spinner=False, max_entries=512)
def _montage_png(values: np.ndarray, tile_px: int, symmetric: bool, selected: int) -> bytes:
    return images.png(figures_draw.labelled_montage(values, tile_px=tile_px, symmetric=symmetric,
                                                    selected=selected))


def render_overview(result: inference.Result) -> None:
    """Every image-shaped layer output at a glance, labelled with its shape."""
    items = [{"png": _overview_png(layer.values), "caption": f"{layer.index}: {layer.name} · ",
              "code": inference.format_shape(layer.shape)}
             for layer in result.layers if layer.is_map]
    gallery(figures_draw.gallery_data(items, [1, 1, 1], pixelated=True), key="draw_overview",
            label=tr("draw.maps_title"))


def render_detail(model, result: inference.Result) -> None:
    """One layer up close, in an expander that computes and sends its pictures only while it is
    open (it stays open for the next drawing). Closed, the server skips ~15 ms of pictures per
    drawing and Chromium shows the prediction ~60 ms sooner (docs/DEPLOY.md)."""
    box = lazy_expander(tr("draw.detail"), key="draw_detail_open", icon=":material/zoom_in:")
    if box.open:
        with box:
            render_layer(model, result)
    else:
        keep_detail()


DETAIL_KEYS = ("draw_layer", "draw_channel_", "draw_kernel_in_")


def keep_detail() -> None:
    """For a run that does not draw the layer detail (closed, or nothing drawn): Streamlit
    forgets a widget a run does not draw, so its picks are written back, to be found as left."""
    ss = st.session_state
    for key in [k for k in ss if isinstance(k, str) and k.startswith(DETAIL_KEYS)]:
        ss[key] = ss[key]


def render_layer(model, result: inference.Result) -> None:
    """One layer in detail: every channel as a labelled picture (a conv layer's kernels beside
    the maps they produce), and one channel, picked with a slider, as heatmaps to hover.
    Not a fragment of its own inside the page's fragment: when a stroke interrupts a run,
    Streamlit 1.67 drops the run's unsent elements but keeps those of a fragment nested in it,
    and the browser, given one under a container that never came, blanks the page."""
    layers = result.layers
    index = st.selectbox(
        tr("draw.layer"), [layer.index for layer in layers], key="draw_layer",
        format_func=lambda i: _layer_label(layers[i]),
    )
    layer = layers[index]
    shape = inference.format_shape(layer.shape)
    if not layer.is_map:
        st.markdown(tr("draw.vector", shape=shape, n=layer.values.size))
        st.plotly_chart(FIG.vector_figure(layer.values), key="draw_vector")
        return
    kernels = inference.conv_kernels(model, index) if layer.kind == "Conv2d" else None
    c_in = 0
    if kernels is not None and kernels.shape[1] > 1:
        c_in = st.slider(tr("draw.kernels_input"), 0, kernels.shape[1] - 1, 0, key=f"draw_kernel_in_{index}")
    n = layer.values.shape[0]
    ch = st.slider(tr("draw.channel"), 0, n - 1, 0, key=f"draw_channel_{index}") if n > 1 else 0
    hover_map = tr("draw.hover_map")
    if kernels is None:
        maps = [{"png": _montage_png(layer.values, 84, False, ch), "title": tr("draw.maps", shape=shape)}]
        gallery(figures_draw.gallery_data(maps, [1]), key="draw_kernels_maps", label=tr("draw.detail"))
        st.markdown(tr("draw.channel_title", ch=ch))
        heatmap(figures_draw.heatmap_data(layer.values[ch], hover_map, height=420), key="draw_channel_map",
                label=tr("draw.map_label", ch=ch))
        return
    pair = [{"png": _montage_png(kernels[:, c_in], 36, True, ch),
             "title": tr("draw.kernels", k=kernels.shape[-1], c=c_in)},
            {"png": _montage_png(layer.values, 56, False, ch), "title": tr("draw.maps", shape=shape)}]
    gallery(figures_draw.gallery_data(pair, [2, 3]), key="draw_kernels_maps", label=tr("draw.detail"))
    st.markdown(tr("draw.channel_title", ch=ch))
    left, right = st.columns([2, 3])
    with left:
        heatmap(figures_draw.heatmap_data(kernels[ch, c_in], tr("draw.hover_kernel"), symmetric=True,
                                          write_values=kernels.shape[-1] <= 5, height=260),
                key="draw_channel_kernel", label=tr("draw.kernel_label", ch=ch, c=c_in))
    with right:
        heatmap(figures_draw.heatmap_data(layer.values[ch], hover_map, height=400), key="draw_channel_map",
                label=tr("draw.map_label", ch=ch))
    st.caption(tr("draw.kernels_note"))
