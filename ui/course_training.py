"""Views for the course's training recipes (issue 15) on the gradients and training pages."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from cnndemo import i18n
from cnndemo.core import data, train
from cnndemo.figures import course as F
from cnndemo.figures import training as FT
from cnndemo.lessons import course_training as T
from cnndemo.lessons import gradients as G
from ui.common import lang, shared_figure, source_of, tr

PLOT = {"displayModeBar": False}


# ----- gradients page -----
@st.cache_data(show_spinner=False, max_entries=4)
def _l1(noise: float, seed: int) -> T.L1Run:
    x, y = G.regression_data(noise=noise, seed=seed)
    return T.fit_line_l1(x, y)


def l1_regression() -> None:
    """Seed 003's regression demo exactly: nn.L1Loss, SGD lr 0.01, 200 steps."""
    with st.expander(tr("gradients.l1_title"), expanded=False):
        st.code("model = nn.Linear(1, 1)\nloss_f = nn.L1Loss()\n"
                "optimizer = optim.SGD(model.parameters(), lr=0.01)", language="python")
        run = _l1(1.0, 777)
        m = st.columns(3)
        m[0].metric("w (L1Loss)", f"{run.w:.3f}")
        m[1].metric("b (L1Loss)", f"{run.b:.3f}")
        m[2].metric(tr("gradients.l1_loss"), f"{run.loss[-1]:.3f}")
        st.info(tr("gradients.l1_note", w=f"{run.w:.2f}", b=f"{run.b:.2f}"))


def momentum_by_hand() -> None:
    """v = alpha*v - rho*g, w = w + v written out for alpha 0.5 and 0.9, against torch.optim.SGD."""
    with st.expander(tr("gradients.mom_title"), expanded=False):
        st.latex(r"\mathbf{v} = \alpha \mathbf{v} - \rho \frac{\partial J}{\partial \mathbf{w}}, \qquad"
                 r" \mathbf{w} = \mathbf{w} + \mathbf{v}")
        st.markdown(tr("gradients.mom_intro"))
        cols = st.columns(2)
        for col, alpha in zip(cols, (0.5, 0.9)):
            steps = T.momentum_by_hand(alpha)
            torch_w = T.momentum_torch(alpha)
            col.markdown(f"**α = {alpha}**")
            col.dataframe([{"t": s.step, "g = 2w": f"{s.g:.4f}", "v = αv − ρg": f"{s.v:.4f}",
                            "w = w + v": f"{s.w:.4f}", "torch.optim.SGD": f"{tw:.4f}"}
                           for s, tw in zip(steps, torch_w)], hide_index=True,
                          key=f"gradients_mom_{alpha}")
        st.caption(tr("gradients.mom_note"))


# ----- training page -----
def _apply_recipe() -> None:
    name = st.session_state.get("training_dataset", "mnist")
    try:
        n = len(data.load(name).train_y)
    except data.DataUnavailable:
        return
    st.session_state.update({**_recipe_state(n, name), "training_recipe_on": True})


def _recipe_state(n: int, name: str) -> dict:
    """The training page's widget values that make up the course recipe."""
    r = T.RECIPE
    return {"training_arch": r["preset"], "training_optimizer": r["optimizer"], "training_lr": r["lr"],
            "training_batch": r["batch_size"], "training_epochs": r["epochs"], "training_seed": r["seed"],
            "training_loss": r["loss"], "training_cosine": r["schedule"] == "cosine",
            "training_augment": r["augment"], f"training_subset_{name}": n}


def recipe_button() -> None:
    st.button(tr("training.recipe"), key="training_recipe", on_click=_apply_recipe,
              icon=":material/school:", help=tr("training.recipe_help"))
    if not st.session_state.get("training_recipe_on"):
        return
    name = st.session_state.get("training_dataset", "mnist")
    try:
        ds = data.load(name)
    except data.DataUnavailable:
        return
    if any(st.session_state.get(k) != v for k, v in _recipe_state(len(ds.train_y), name).items()):
        st.caption(tr("training.recipe_changed"))
        return
    key, fmt = T.expectation(ds)
    st.info(tr("training.recipe_set") + " " + tr(key, **fmt))


def exp_override(name: str) -> dict:
    """Experiment 5-11 as the notes ran it (MSE loss), if the teacher asks for it."""
    if name != "5-11":
        return {}
    notes = st.toggle(tr("training.exp_511_mse"), key="training_exp_511_mse")
    st.caption(tr("training.exp_511_note"))
    return {"loss": "mse"} if notes else {}


@st.cache_resource(show_spinner=False, max_entries=80)
def _poly(n: int):
    """The seeded points and their least-squares fits for n training points (the class shares
    them: the same n gives the same data)."""
    d = T.poly_data(n_train=n)
    return d, T.poly_fits(d)


def _build_fit_figure(n: int, lang_code: str):
    d, fits = _poly(n)
    xs = np.linspace(-1, 1, 300)
    curves = {i18n.t("training.fit_degree", lang_code, k=f.degree): (xs, np.polyval(f.coef, xs))
              for f in fits}
    return F.poly_figure(d.x_train, d.y_train, d.x_test, d.y_test, curves,
                         {"train": i18n.t("training.fit_train_pts", lang_code, n=n),
                          "test": i18n.t("training.fit_test_pts", lang_code, n=len(d.x_test)),
                          "x": "x", "y": "y"})


_fit_figure = shared_figure(_build_fit_figure)


def fitting() -> None:
    """Under- and over-fitting: degree 1, 2, 3, 12 least-squares fits, train vs test error."""
    with st.expander(tr("training.fit_title"), expanded=False):
        st.markdown(tr("training.fit_intro"))
        n = st.slider(tr("training.fit_n"), 8, 80, 15, key="training_fit_n")
        fits = _poly(int(n))[1]
        st.plotly_chart(_fit_figure(int(n), lang()), config=PLOT, key="training_fit_fig")
        st.dataframe([{tr("training.fit_col_deg"): f.degree,
                       tr("training.fit_col_train"): f"{f.train_mse:.4f}",
                       tr("training.fit_col_test"): f"{f.test_mse:.4f}",
                       tr("training.fit_col_verdict"): tr(f"training.fit_{v}")}
                      for f, v in zip(fits, T.poly_verdicts(fits))], hide_index=True, key="training_fit_table")
        st.caption(tr("training.fit_note"))


def workflow() -> None:
    """Dataset/DataLoader, a 3x3 grid of samples, and the course's loop beside the app's real one."""
    with st.expander(tr("training.wf_title"), expanded=False):
        name = st.session_state.get("training_dataset", "mnist")
        try:
            ds = data.load(name)
        except data.DataUnavailable as e:
            st.error(tr("common.data_missing", reason=str(e)))
            return
        st.markdown(tr("training.wf_intro"))
        st.code(f"train_loader = torch.utils.data.DataLoader(train_data, batch_size=BATCH,\n"
                f"    shuffle=True, num_workers=2, drop_last=True)   # {ds.title}", language="python")
        c1, c2 = st.columns([1, 2])
        batch = c1.number_input(tr("training.batch"), 1, 60000, 128, key="training_wf_batch")
        counts = T.batch_counts(len(ds.train_y), int(batch))
        c2.markdown(tr("training.wf_counts", n=f"{len(ds.train_y):,}", b=int(batch), keep=counts["keep"],
                       last=counts["last"], drop=counts["drop"], dropped=counts["dropped"]))
        st.caption(tr("training.wf_workers"))
        seed = st.columns([1, 2])[0].number_input(tr("training.wf_seed"), 0, 10**6, 0, key="training_wf_seed")
        xb, yb = T.sample_grid(ds.train_x, ds.train_y, int(seed))
        imgs = (xb[:, 0] * 255).round().to(torch.uint8).numpy()
        st.plotly_chart(FT.image_grid(imgs, [str(ds.classes[int(y)]) for y in yb], cols=3,
                                      height_per_row=150), key="training_wf_grid", width=420)
        st.markdown(tr("training.wf_loop"))
        left, right = st.columns(2)
        left.markdown(f"**{tr('training.wf_course')}**")
        left.code(source_of(T.course_epoch) + "\n\n" + source_of(T.course_test),
                  language="python")
        right.markdown(f"**{tr('training.wf_app')}**")
        sources = {"fit": source_of(train.fit), "evaluate": source_of(train.evaluate)}
        right.dataframe([{tr("training.wf_step"): s, tr("training.wf_where"): f"{fn}, {tr('training.wf_line')} {n}"
                          if n else "-"} for s, fn, n in T.find_steps(sources)], hide_index=True,
                        key="training_wf_steps")
        right.code(sources["fit"], language="python", line_numbers=True)
        right.code(sources["evaluate"], language="python", line_numbers=True)
        st.caption(tr("training.wf_same"))

