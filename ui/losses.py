"""Streamlit rendering for the loss lab (lessons/losses.py). Every number comes from cnndemo.lessons.losses."""
from __future__ import annotations

import math

import numpy as np
import streamlit as st
import torch

from cnndemo import i18n
from cnndemo.classroom.pages import LOSS_TABS
from cnndemo.figures import losses as figures_losses
from cnndemo.lessons import losses as L
from ui.common import digits_model, shared_figures, show_code, show_error, tr

FL = shared_figures(figures_losses, "prob_bars", "dist_pair_bars", "curves_with_point")

N_CLASSES = 10
Z_RANGE = (-10.0, 10.0)
DEFAULT_TYPED = "0.1, 0, 0, 0.9, 0, 0, 0, 0, 0, 0"
TAB = "losses_tab"  # the open tab's label: part of the page's link (cnndemo.classroom.pages)
# Widgets that live inside one tab: only the open tab runs, and Streamlit forgets the value
# of a widget that a run did not draw, so these are handed back to the session on every run.
TAB_WIDGETS = (*(f"losses_z{i}" for i in range(N_CLASSES)), "losses_src", "losses_typed",
               "losses_course_q", "losses_ent_preset", "losses_p", "losses_q",
               "losses_model_src", "losses_digit_idx", "losses_model_true")


def z_key(i: int) -> str:
    return f"losses_z{i}"


def init_state() -> None:
    """Default widget values, set once, so no widget is created with both a value and a key."""
    ss = st.session_state
    ss.setdefault("losses_preset", "right")
    for i, v in enumerate(L.LOGIT_PRESETS[ss["losses_preset"]]):
        ss.setdefault(z_key(i), float(v))
    ss.setdefault("losses_true", L.PRESET_TRUE_CLASS)
    ss.setdefault("losses_temp", 1.0)
    ss.setdefault("losses_unit", "nats")
    ss.setdefault("losses_typed", DEFAULT_TYPED)
    ss.setdefault("losses_ent_preset", "loaded_die")
    p, q, unit = L.ENTROPY_PRESETS[ss["losses_ent_preset"]]
    ss.setdefault("losses_p", p)
    ss.setdefault("losses_q", q)
    for key in TAB_WIDGETS:
        if key in ss:
            ss[key] = ss[key]
    _localize_tab()


def tab_label(name: str) -> str:
    return tr(f"losses.tab.{name}")


def _localize_tab() -> None:
    """The open tab, named in the language shown now (a link or another language may have
    named it in the other one); an unknown name falls back to the first tab."""
    ss = st.session_state
    label = ss.get(TAB)
    if label is None:
        return
    for name in LOSS_TABS:
        if label in {i18n.t(f"losses.tab.{name}", code) for code in i18n.LANGS}:
            if label != tab_label(name):
                ss[TAB] = tab_label(name)
            return
    del ss[TAB]


def logits() -> np.ndarray:
    """The ten logits as the sliders of the first tab set them (also when it is closed)."""
    return np.array([float(st.session_state[z_key(i)]) for i in range(N_CLASSES)])


def apply_preset() -> None:
    for i, v in enumerate(L.LOGIT_PRESETS[st.session_state["losses_preset"]]):
        st.session_state[z_key(i)] = float(v)
    st.session_state["losses_true"] = L.PRESET_TRUE_CLASS
    st.session_state["losses_temp"] = 1.0


def apply_entropy_preset() -> None:
    p, q, unit = L.ENTROPY_PRESETS[st.session_state["losses_ent_preset"]]
    st.session_state.update(losses_p=p, losses_q=q, losses_unit=unit)


def fmt(v: float, sign: bool = False) -> str:
    """4 decimals, as the course prints them; tiny values in scientific notation, inf as ∞."""
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v != 0 and abs(v) < 5e-4:
        return f"{v:+.2e}" if sign else f"{v:.2e}"
    return f"{v:+.4f}" if sign else f"{v:.4f}"


def unit_label(unit: str) -> str:
    return tr(f"losses.unit.{unit}")


# Tab 1: softmax -------------------------------------------------------------------------

def logit_sliders() -> np.ndarray:
    vals = []
    for row in range(2):
        cols = st.columns(5)
        for j, col in enumerate(cols):
            i = row * 5 + j
            vals.append(col.slider(tr("losses.logit", i=i), *Z_RANGE, step=0.1, key=z_key(i)))
    return np.array(vals)


def render_softmax(temp: float, k: int) -> np.ndarray:
    """Chart and explanation on top, the formula, then the ten logit sliders; returns logits."""
    chart_col, text_col = st.columns([3, 2])
    formula = st.container()
    logits = logit_sliders()
    probs = L.softmax(logits, temp)
    chart_col.plotly_chart(FL.prob_bars(probs, range(N_CLASSES), highlight=k, height=320,
                                        title=tr("losses.softmax.chart", k=k)),
                           key="losses_fig_softmax")
    with text_col:
        st.markdown(tr("losses.softmax.intro"))
        st.caption(tr("losses.softmax.temp_note"))
    t = L.softmax_terms(logits, k, temp)
    with formula:
        st.markdown(tr("losses.softmax.formula", k=k))
        st.latex(rf"p_{{{k}}} = \frac{{e^{{z_{{{k}}}/T}}}}{{\sum_j e^{{z_j/T}}}}"
                 rf" = \frac{{e^{{{t['z']:.2f}/{temp:g}}}}}{{\sum_j e^{{z_j/{temp:g}}}}}"
                 rf" = \frac{{{t['numerator']:.4g}}}{{{t['denominator']:.4g}}} = {t['p']:.4f}")
    return logits


# Tab 2: loss comparison -----------------------------------------------------------------

def comparison_input(logits: np.ndarray, temp: float, k: int):
    """(probs, labels, true class) for the chosen source, or None after showing an error."""
    src = st.radio(tr("losses.cmp.source"), ["softmax", "typed", "course"], key="losses_src",
                   horizontal=True, format_func=lambda s: tr(f"losses.cmp.src.{s}"))
    if src == "softmax":
        return L.softmax(logits, temp), list(range(N_CLASSES)), k
    if src == "course":
        st.markdown(tr("losses.cmp.course_intro"))
        q = st.radio(tr("losses.cmp.course_q"), L.COURSE_TABLE_QS, key="losses_course_q",
                     horizontal=True)
        render_course_table()
        return np.array([1 - q, q]), [tr("losses.dog"), tr("losses.cat")], 1
    text = st.text_input(tr("losses.cmp.typed"), key="losses_typed")
    try:
        dist = L.as_distribution(L.parse_numbers(text), "q")
        L.one_hot(k, dist.probs.size)
    except L.LossInputError as e:
        show_error(e)
        return None
    if dist.normalised:
        st.info(tr("losses.cmp.normalised", total=f"{dist.raw_sum:g}"))
    return dist.probs, list(range(dist.probs.size)), k


def render_course_table() -> None:
    unit = st.session_state["losses_unit"]
    rows = L.course_table(unit)
    st.table({tr("losses.col.q"): [f"{r['q']:.1f}" for r in rows],
              tr("losses.col.ce", unit=unit_label(unit)): [fmt(r["ce"]) for r in rows],
              tr("losses.col.mse"): [fmt(r["mse"]) for r in rows],
              tr("losses.col.l1"): [fmt(r["l1"]) for r in rows]})


def loss_metrics(res: L.ClassLosses) -> None:
    c = st.columns(4)
    c[0].metric(tr("losses.metric.q"), f"{res.q:.4f}")
    c[1].metric(tr("losses.metric.ce", unit=unit_label(res.unit)), fmt(res.ce))
    c[2].metric(tr("losses.metric.mse"), fmt(res.mse))
    c[3].metric(tr("losses.metric.l1"), fmt(res.l1))
    if math.isinf(res.ce):
        st.warning(tr("losses.cmp.infinite"))


def loss_names(unit: str) -> dict:
    return {"ce": tr("losses.metric.ce", unit=unit_label(unit)),
            "mse": tr("losses.metric.mse"), "l1": tr("losses.metric.l1")}


def render_comparison(logits: np.ndarray, temp: float, k: int, unit: str) -> None:
    got = comparison_input(logits, temp, k)
    if got is None:
        return
    probs, labels, k = got
    res = L.class_losses(probs, k, unit)
    st.markdown(tr("losses.cmp.true_is", label=labels[k]))
    loss_metrics(res)
    left, right = st.columns([2, 3])
    left.plotly_chart(FL.prob_bars(probs, labels, highlight=k, title=tr("losses.cmp.probs"),
                                   height=380), key="losses_fig_cmp_probs")
    qs = np.linspace(0.005, 1.0, 200)
    curves = L.loss_curves(probs, k, qs, unit)
    point = {"ce": res.ce, "mse": res.mse, "l1": res.l1}
    top = max(3.0, min(8.0, res.ce * 1.1)) if math.isfinite(res.ce) else 8.0
    right.markdown(f"**{tr('losses.cmp.curves_title')}**")
    right.plotly_chart(FL.curves_with_point(qs, curves, loss_names(unit), res.q, point,
                                            tr("losses.cmp.x_q"), tr("losses.cmp.y_loss"),
                                            y_range=[0, top], height=340),
                       key="losses_fig_cmp_curves")
    st.markdown(tr("losses.cmp.takeaway"))
    st.caption(tr("losses.cmp.mean_note", n=len(labels)))
    show_code(L.class_losses)


# Tab 3: gradients -----------------------------------------------------------------------

def render_gradients(logits: np.ndarray, temp: float, k: int) -> None:
    st.markdown(tr("losses.grad.intro", k=k))
    zs = np.linspace(-12.0, 12.0, 241)
    curves = L.gradient_curves(logits, k, zs, temp)
    grads = L.logit_gradients(logits, k, temp)
    point = {name: float(grads[name][k]) for name in L.LOSS_NAMES}
    q = float(L.softmax(logits, temp)[k])
    c = st.columns(4)
    c[0].metric(tr("losses.metric.q"), f"{q:.4f}")
    for col, name in zip(c[1:], L.LOSS_NAMES):
        col.metric(tr(f"losses.grad.metric.{name}", k=k), fmt(point[name], sign=True))
    names = {n: tr(f"losses.grad.metric.{n}", k=k) for n in L.LOSS_NAMES}
    z_now = float(logits[k])
    lo = min(-1.05, float(np.min(curves["ce"])) * 1.05)
    left, right = st.columns(2)
    left.markdown(f"**{tr('losses.grad.title')}**")
    left.plotly_chart(FL.curves_with_point(zs, {n: curves[n] for n in L.LOSS_NAMES}, names, z_now,
                                           point, tr("losses.grad.x", k=k), tr("losses.grad.y"),
                                           y_range=[lo, 0.1], height=360), key="losses_fig_grad")
    right.markdown(f"**{tr('losses.grad.zoom_title')}**")
    zoom = {n: curves[n] for n in ("mse", "l1")}
    right.plotly_chart(FL.curves_with_point(zs, zoom, names, z_now, point,
                                            tr("losses.grad.x", k=k), tr("losses.grad.y"),
                                            height=360), key="losses_fig_grad_zoom")
    ratio_z = zs[0]
    st.markdown(tr("losses.grad.explain", z=f"{ratio_z:g}", ce=fmt(curves["ce"][0], sign=True),
                   mse=fmt(curves["mse"][0], sign=True), q=f"{curves['q'][0]:.2e}"))
    show_code(L.logit_gradients)


# Tab 4: entropy, cross-entropy, KL ------------------------------------------------------

@st.fragment
def render_entropy(unit: str) -> None:
    st.markdown(tr("losses.ent.intro"))
    st.selectbox(tr("losses.ent.preset"), list(L.ENTROPY_PRESETS), key="losses_ent_preset",
                 format_func=lambda k: tr(f"losses.ent.preset.{k}"), on_change=apply_entropy_preset)
    c1, c2 = st.columns(2)
    p_text = c1.text_input(tr("losses.ent.p"), key="losses_p")
    q_text = c2.text_input(tr("losses.ent.q"), key="losses_q")
    try:
        info = L.information(L.parse_numbers(p_text), L.parse_numbers(q_text), unit)
    except L.LossInputError as e:
        show_error(e)
        return
    for name in ("p", "q"):
        if info[name].normalised:
            st.info(tr("losses.ent.normalised", name=name, total=f"{info[name].raw_sum:g}"))
    u = unit_label(unit)
    c = st.columns(3)
    c[0].metric(tr("losses.ent.h_p", unit=u), fmt(info["h_p"]))
    c[1].metric(tr("losses.ent.h_pq", unit=u), fmt(info["h_pq"]))
    c[2].metric(tr("losses.ent.kl", unit=u), fmt(info["kl"]))
    st.markdown(tr("losses.ent.identity", h_pq=fmt(info["h_pq"]), h_p=fmt(info["h_p"]),
                   kl=fmt(info["kl"]), sum=fmt(info["h_p"] + info["kl"])))
    if math.isinf(info["h_pq"]):
        st.warning(tr("losses.ent.infinite"))
    n = info["p"].probs.size
    st.plotly_chart(FL.dist_pair_bars(info["p"].probs, info["q"].probs, range(1, n + 1)),
                    key="losses_fig_ent")
    st.caption(tr("losses.ent.note"))


# Tab 5: on the model --------------------------------------------------------------------

def model_input():
    """(image [28, 28] float, known label or None, caption) from the drawing or a test digit."""
    from cnndemo.core import data
    drawing = st.session_state.get("last_drawing")
    options = (["drawing"] if drawing is not None else []) + ["test"]
    if st.session_state.get("losses_model_src") not in options:
        st.session_state["losses_model_src"] = options[0]
    src = st.radio(tr("losses.model.source"), options, key="losses_model_src", horizontal=True,
                   format_func=lambda s: tr(f"losses.model.src.{s}"))
    if drawing is None:
        st.caption(tr("losses.model.no_drawing"))
    if src == "drawing":
        return np.asarray(drawing, dtype=np.float32), None, tr("losses.model.src.drawing")
    try:
        ds = data.load("mnist")
    except data.DataUnavailable as e:
        st.error(tr("losses.model.no_data", why=str(e)))
        return None
    n = len(ds.test_y)
    idx = st.number_input(tr("losses.model.index", n=n - 1), 0, n - 1, key="losses_digit_idx")
    img = ds.test_image(int(idx))
    label = int(ds.test_y[int(idx)])
    return img, label, tr("losses.model.test_caption", i=int(idx), label=label, kind=ds.test_kind)


@st.fragment
def render_model(unit: str) -> None:
    from cnndemo.core import checkpoints, train
    st.markdown(tr("losses.model.intro"))
    try:
        loaded = digits_model()
    except checkpoints.CheckpointError as e:
        st.error(tr("losses.model.no_model", why=str(e)))
        return
    pick, chosen, chart = st.columns([1.2, 1.3, 2.5])
    with pick:
        got = model_input()
    if got is None:
        return
    img, label, caption = got
    probs = train.predict_probs(loaded.model, torch.from_numpy(img)[None, None])[0].double().numpy()
    classes = list(loaded.classes)
    pred = int(np.argmax(probs))
    if st.session_state.get("losses_model_img") != caption:
        st.session_state["losses_model_img"] = caption
        st.session_state["losses_model_true"] = label if label is not None else pred
    with chosen:
        st.image(img, caption=caption, width=150, clamp=True)
        k = st.selectbox(tr("losses.model.true"), range(len(classes)), key="losses_model_true",
                         format_func=lambda i: classes[i])
        st.markdown(tr("losses.model.pred", pred=classes[pred], p=f"{probs[pred]:.4f}"))
        st.caption(tr("losses.model.which", name=loaded.path.name))
    chart.markdown(f"**{tr('losses.model.chart')}**")
    chart.plotly_chart(FL.prob_bars(probs, classes, highlight=k, height=320),
                       key="losses_fig_model")
    loss_metrics(L.class_losses(probs, k, unit))
    st.caption(tr("losses.model.note"))
