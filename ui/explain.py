"""Streamlit views for the Explain page: input choice, the five sections, cached computations.

Every computation is cached by (model, image bytes, settings), so a class looking at the
same digit, or a student changing only one slider, recomputes only what changed.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from cnndemo.core import checkpoints, data
from cnndemo.figures import explain as FX
from cnndemo.lessons import explain as E
from cnndemo.lessons import explain_robust as R
from ui.common import _load_path, active_model, digits_model, show_code, tr

SOURCES = ("drawing", "digit", "fashion")
BANK_SIZE = 6000  # training images searched for neighbours (6,000 x 3,136 floats = 75 MB)
DREAM_SLOTS = 2  # dreams computed at once on the whole server
DREAM_SECONDS = 10.0


def key_of(loaded: checkpoints.Loaded) -> str:
    p = Path(loaded.path)
    return f"{p}:{p.stat().st_mtime if p.exists() else 0}"


def _img(image_bytes: bytes) -> np.ndarray:
    return np.frombuffer(image_bytes, np.float32).reshape(28, 28).copy()


# --- cached computations: `_loaded` is not hashed, `model_key` names it ---------------------

@st.cache_data(show_spinner=False, max_entries=256)
def maps(_loaded, model_key: str, image_bytes: bytes, target, patch: int, baseline: str) -> E.Maps:
    return E.explain(_loaded.model, _img(image_bytes), target, patch, baseline)


@st.cache_data(show_spinner=False, max_entries=256)
def deletion(_loaded, model_key: str, image_bytes: bytes, target, patch: int, baseline: str) -> E.Deletion:
    m = maps(_loaded, model_key, image_bytes, target, patch, baseline)
    return E.deletion_curve(_loaded.model, _img(image_bytes), m.target, m.by_method())


@st.cache_data(show_spinner=False, max_entries=256)
def fgsm(_loaded, model_key: str, image_bytes: bytes) -> R.Attack:
    return R.fgsm_smallest_epsilon(_loaded.model, _img(image_bytes))


@st.cache_data(show_spinner=False, max_entries=256)
def pgd(_loaded, model_key: str, image_bytes: bytes, target, norm: str, radius: float) -> R.Attack:
    return R.pgd(_loaded.model, _img(image_bytes), target, norm, radius, step_size=radius / 20 if norm == "Linf"
                 else 0.02)


@st.cache_data(show_spinner=False, max_entries=256)
def predict(_loaded, model_key: str, image_bytes: bytes) -> np.ndarray:
    x = torch.as_tensor(_img(image_bytes))[None, None]
    return torch.softmax(E.logits(_loaded.model, x)[0], 0).numpy()


@st.cache_resource(show_spinner=False, max_entries=2)
def bank(_loaded, model_key: str, dataset: str):
    ds = data.load(dataset)
    images = ds.train_x[:BANK_SIZE]
    return E.features(_loaded.model, images), images.numpy(), ds.train_y[:BANK_SIZE].numpy(), ds.describe()


def neighbours(loaded, model_key: str, image_bytes: bytes):
    """The 8 nearest training images, with the bank they were searched in."""
    feats, images, labels, described = bank(loaded, model_key, loaded.dataset)
    return _nearest(loaded, model_key, image_bytes, feats), images, labels, described


@st.cache_data(show_spinner=False, max_entries=256)
def _nearest(_loaded, model_key: str, image_bytes: bytes, _feats) -> E.Neighbours:
    return E.nearest(_loaded.model, _img(image_bytes), _feats)


@st.cache_resource(show_spinner=False)
def _dreams():
    """Server-wide: a cap on dreams running at once, and their results (LRU)."""
    return threading.BoundedSemaphore(DREAM_SLOTS), OrderedDict(), threading.Lock()


# --- the input ----------------------------------------------------------------------------

def _random_test(dataset: str) -> tuple[np.ndarray, int, int]:
    ds = data.load(dataset)
    key = f"explain_pick_{dataset}"
    if key not in st.session_state:
        st.session_state[key] = int(np.random.default_rng().integers(len(ds.test_y)))
    i = st.session_state[key]
    return ds.test_x[i].float().numpy() / 255.0, i, int(ds.test_y[i])


def _another(dataset: str) -> None:
    st.session_state.pop(f"explain_pick_{dataset}", None)


def fashion_model() -> checkpoints.Loaded:
    active = active_model()
    return active if active.dataset == "fashion-mnist" else _load_path(checkpoints.shipped_path("fashion-mnist"))


def choose_input():
    """(model, 28x28 image, caption) from the source picked; stops with a message if none."""
    drawing = st.session_state.get("last_drawing")
    st.session_state.setdefault("explain_source", "drawing" if drawing is not None else "digit")
    source = st.radio(tr("explain.source"), SOURCES, key="explain_source", horizontal=True,
                      format_func=lambda s: tr(f"explain.source_{s}"))
    try:
        if source == "drawing":
            if drawing is None:
                st.info(tr("explain.no_drawing"))
                st.page_link("lessons/draw.py", label=tr("nav.draw"), icon=":material/draw:")
                st.stop()
            return digits_model(), np.asarray(drawing, np.float32), tr("explain.caption_drawing")
        dataset = "mnist" if source == "digit" else "fashion-mnist"
        st.button(tr("explain.another"), key=f"explain_another_{source}", on_click=_another, args=(dataset,),
                  icon=":material/casino:")
        image, i, label = _random_test(dataset)
        loaded = digits_model() if dataset == "mnist" else fashion_model()
        return loaded, image, tr("explain.caption_test", index=i, label=loaded.classes[label])
    except (data.DataUnavailable, checkpoints.CheckpointError) as e:
        st.error(tr("explain.unavailable", reason=str(e)))
        st.stop()


def class_picker(loaded, predicted: int, key: str, label_key: str, none_key: str | None, default=None):
    options = ([None] if none_key else []) + list(range(len(loaded.classes)))
    if default is not None and key not in st.session_state:
        st.session_state[key] = default
    return st.selectbox(tr(label_key), options, key=key, format_func=lambda c: tr(
        none_key, label=loaded.classes[predicted]) if c is None else f"{c}: {loaded.classes[c]}"
        if loaded.classes[c] != str(c) else str(c))


# --- 1. the four maps ------------------------------------------------------------------------

def render_maps(image: np.ndarray, m: E.Maps, classes: list, caption: str) -> None:
    cols = st.columns(5)
    with cols[0]:
        st.image(FX.grey(image), width="stretch")
        st.markdown(f"**{tr('explain.input')}**")
        st.caption(caption)
    what = classes[m.target]
    cells = [("saliency", m.saliency, tr("explain.saliency_about"), E.saliency),
             ("ig", m.ig.attribution, tr("explain.ig_about", total=f"{m.ig.total:.3f}", gap=f"{m.ig.gap:.3f}",
                                          delta=f"{abs(m.ig.delta):.4f}", steps=E.IG_STEPS),
              E.integrated_gradients),
             ("gradcam", m.cam.upsampled, tr("explain.gradcam_about", h=m.cam.raw.shape[0], w=m.cam.raw.shape[1],
                                              layer=m.cam.layer), E.grad_cam),
             ("occlusion", m.occlusion, tr("explain.occlusion_about", p=m.patch, s=max(1, m.patch // 2)),
              E.occlusion)]
    for col, (name, attr, about, fn) in zip(cols[1:], cells):
        with col:
            st.image(FX.overlay(image, attr), width="stretch")
            st.markdown(f"**{tr(f'explain.{name}')}** · {what}")
            st.caption(about)
            show_code(fn)


def render_baseline(m: E.Maps) -> None:
    left, right = st.columns([1, 5])
    left.image(FX.grey(m.ig.baseline, 3), caption=tr("explain.baseline_caption"))
    right.markdown(tr("explain.completeness", total=f"{m.ig.total:.3f}", gap=f"{m.ig.gap:.3f}",
                      delta=f"{abs(m.ig.delta):.4f}"))


# --- 2. deletion ----------------------------------------------------------------------------

def render_deletion(d: E.Deletion, classes: list, target: int) -> None:
    names = {k: tr(f"explain.{k}") for k in E.METHODS}
    fig = FX.deletion_figure(d.erased, d.curves, d.random, names, d.n_ink, tr("explain.del_x"),
                             tr("explain.del_y", label=classes[target]), tr("explain.del_random"))
    st.plotly_chart(fig, key="explain_deletion", config={"displayModeBar": False})
    best = d.fastest()
    st.success(tr("explain.del_fastest", method=names[best], area=f"{d.area(d.curves[best]):.3f}",
                  random=f"{d.area(d.random):.3f}", n=d.n_ink))
    rows = {names[k]: f"{d.area(v):.3f}" for k, v in d.curves.items()} | {tr("explain.del_random"):
                                                                           f"{d.area(d.random):.3f}"}
    st.caption(tr("explain.del_areas") + " " + " · ".join(f"{k} **{v}**" for k, v in rows.items()))
    show_code(E.deletion_curve)


# --- 3. attacks -----------------------------------------------------------------------------

def render_attack(a: R.Attack, classes: list, title: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{title}**")
        pert, scale = FX.perturbation(a.perturbation, 4)
        c1, c2 = st.columns(2)
        c1.image(FX.grey(a.image, 4), caption=tr("explain.adv_caption"), width="stretch")
        c2.image(pert, caption=tr("explain.pert_caption", scale=f"{scale:.3f}"), width="stretch")
        st.metric(tr("explain.new_prediction"), classes[a.predicted], delta=f"{a.confidence:.1%}",
                  delta_color="off", delta_arrow="off")
        if a.success:
            st.caption(tr("explain.attack_ok", was=classes[a.original], now=classes[a.predicted],
                          p=f"{a.confidence:.1%}"))
        else:
            st.warning(tr("explain.attack_failed", was=classes[a.original]))
        eps = tr("explain.eps_fgsm", eps=f"{a.epsilon:.3f}", grey=round(a.epsilon * 255)) if a.method == "FGSM" \
            else tr("explain.eps_pgd", norm="L∞" if a.norm == "Linf" else "L2", eps=f"{a.epsilon:.3g}")
        st.caption(eps + " · " + tr("explain.changed", linf=f"{a.linf:.3f}", l2=f"{a.l2:.3f}", steps=a.steps))


# --- 4. dreams ------------------------------------------------------------------------------

def run_dream(loaded, model_key: str, what: str, index: int, seed: int):
    """A cached dream, or a new one under the server-wide cap, with a progress bar."""
    slots, results, lock = _dreams()
    key = (model_key, what, index, seed)
    with lock:
        if key in results:
            results.move_to_end(key)
            return results[key]
    if not slots.acquire(timeout=0.5):
        st.warning(tr("explain.dream_busy", n=DREAM_SLOTS))
        return None
    try:
        bar = st.progress(0.0, text=tr("explain.dream_progress", i=0, n=0))
        deadline = time.monotonic() + DREAM_SECONDS

        def progress(i, n):
            if i % 10 == 0 or i == n:
                bar.progress(i / n, text=tr("explain.dream_progress", i=i, n=n))

        result = R.dream(loaded.model, index, what, seed=seed, progress=progress,
                         should_stop=lambda: time.monotonic() > deadline)
        bar.empty()
    finally:
        slots.release()
    with lock:
        results[key] = result
        while len(results) > 64:
            results.popitem(last=False)
    return result


def render_dream(d: R.Dream, what: str, label: str) -> None:
    left, right = st.columns([1, 2])
    left.image(FX.grey(d.image), width="stretch")
    if what == "class":
        right.markdown(tr("explain.dream_class_result", label=label, p=f"{d.probability:.1%}",
                          score=f"{d.objective:.2f}", steps=d.steps))
    else:
        right.markdown(tr("explain.dream_channel_result", channel=label, act=f"{d.objective:.3f}", steps=d.steps))
    right.caption(tr("explain.dream_note"))


# --- 5. neighbours --------------------------------------------------------------------------

def render_neighbours(nb: E.Neighbours, images: np.ndarray, labels: np.ndarray, classes: list,
                      predicted: int) -> None:
    cols = st.columns(8)
    for col, i, dist in zip(cols, nb.indices, nb.distances):
        col.image(FX.grey(images[i] / 255.0, 3), width="stretch")
        col.caption(tr("explain.nb_caption", label=classes[int(labels[i])], d=f"{dist:.1f}", i=int(i)))
    agree = int(sum(int(labels[i]) == predicted for i in nb.indices))
    st.markdown(tr("explain.nb_summary", k=agree, n=len(nb.indices), label=classes[predicted]))


@st.fragment
def dream_section(loaded, model_key: str, predicted: int) -> None:
    """Only this fragment reruns while a student sets up and runs a dream."""
    c1, c2, c3 = st.columns([1.2, 1.5, 1])
    what = c1.radio(tr("explain.dream_what"), ("class", "channel"), key="explain_dream_what",
                    format_func=lambda w: tr(f"explain.dream_{w}"))
    with c2:
        if what == "class":
            index = class_picker(loaded, predicted, "explain_dream_class", "explain.dream_class_pick", None,
                                 default=predicted)
        else:
            n = loaded.model[R.first_conv_index(loaded.model)].out_channels
            index = st.slider(tr("explain.dream_channel_pick"), 0, n - 1, 0, key="explain_dream_channel")
    seed = c3.number_input(tr("explain.dream_seed"), 0, 999, 0, key="explain_dream_seed")
    if st.button(tr("explain.dream_go"), key="explain_dream_go", icon=":material/auto_awesome:", type="primary"):
        st.session_state["explain_dream_req"] = (what, int(index), int(seed))
    # Until a student asks for another, show the dream of the predicted class (cached server-wide).
    req = st.session_state.get("explain_dream_req") or ("class", predicted, 0)
    result = run_dream(loaded, model_key, *req)
    if result is not None:
        render_dream(result, req[0], loaded.classes[req[1]] if req[0] == "class" else str(req[1]))
    show_code(R.dream)
