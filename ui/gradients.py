"""Streamlit rendering for the gradients lab: one function per tab, cached computations."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from cnndemo.core import data
from cnndemo.figures import gradients as F
from cnndemo.lessons import gradients as G
from cnndemo.lessons import optimizers as O
from ui import course_training
from ui.common import shared_figure, show_code, show_error, tr

# --- cached pure computations (results depend only on the arguments) ---------------------


@st.cache_data(show_spinner=False, max_entries=32)
def _regression(noise: float, lr: float, steps: int, seed: int):
    x, y = G.regression_data(noise=noise, seed=seed)
    run = G.fit_line(x, y, lr=lr, steps=steps, seed=seed)
    grid = G.loss_surface(x, y, (-2, 12), (-6, 10), n=60)
    return x.numpy(), y.numpy(), run, grid


@st.cache_data(show_spinner=False, max_entries=32)
def _perceptron(gate: str, hidden: int, lr: float, steps: int):
    return G.train_perceptron(gate, hidden, lr, steps)


@st.cache_data(show_spinner=False, max_entries=8)
def _digits(n: int = 256):
    x, y, source = O.digit_batch(n)
    return x, y, source


@st.cache_data(show_spinner=False, max_entries=64)
def _vanishing(depth: int, activation: str, init: str):
    x, y, _ = _digits()
    return O.vanishing(x, y, depth, activation, init)


@st.cache_data(show_spinner=False, max_entries=32)
def _race(surface: str, names: tuple, lr: float, steps: int):
    return O.race(surface, names, lr, steps), O.surface_grid(surface)


def _num(v: float) -> str:
    return f"{v:.4g}"


# Each tab's widgets, kept while another tab is open (see ui.common.tab_sections).
TAB_KEYS = {
    "autograd": tuple(f"gradients_ag_{k}" for k in ("x1", "x2", "t1", "t2")),
    "regression": ("gradients_reg_noise", "gradients_reg_lr", "gradients_reg_steps", "gradients_reg_seed"),
    "perceptron": ("gradients_pc_preset", "gradients_pc_lr", "gradients_pc_steps"),
    "activations": ("gradients_act_names", "gradients_act_slope", "gradients_act_prelu",
                    "gradients_dead_w", "gradients_dead_b"),
    "vanishing": ("gradients_van_depth", "gradients_van_act", "gradients_van_init"),
    "optimizers": ("gradients_opt_surface", "gradients_opt_names",
                   *(f"gradients_opt_{what}_{s}" for s in O.SURFACES for what in ("lr", "steps"))),
}


# --- 1. autograd --------------------------------------------------------------------------


def autograd_tab() -> None:
    st.markdown(tr("gradients.ag.intro"))
    st.code("x = torch.tensor([1., 2.], requires_grad=True)\ny = x**2 + 5\nz = 3*y\n"
            "loss = torch.sum(torch.abs(z - torch.tensor([2., 3.])))\nloss.backward()\n"
            "print(x.grad)   # tensor([ 6., 12.])", language="python")
    cols = st.columns(4)
    vals = [cols[i].number_input(label, value=v, step=0.5, key=f"gradients_ag_{k}")
            for i, (k, label, v) in enumerate([
                ("x1", "x[0]", 1.0), ("x2", "x[1]", 2.0),
                ("t1", tr("gradients.ag.target") + "[0]", 2.0),
                ("t2", tr("gradients.ag.target") + "[1]", 3.0)])]
    try:
        r = G.autograd_example(vals[:2], vals[2:])
    except G.BadInput as e:
        show_error(e)
        return
    left, right = st.columns([1, 1.3])
    with left:
        st.markdown("**" + tr("gradients.ag.graph") + "**")
        st.graphviz_chart(F.autograd_dot(r.graph, {"SumBackward0": f"= {_num(r.loss)}"}))
    with right:
        st.markdown("**" + tr("gradients.ag.values") + "**")
        rows = [("x", r.x), ("y = x**2 + 5", r.y), ("z = 3*y", r.z),
                (tr("gradients.ag.target"), r.target), ("dloss/dz = sign(z - t)", r.dloss_dz),
                ("dloss/dy = 3 * dloss/dz", r.dloss_dy), ("x.grad = 2x * dloss/dy", r.x_grad)]
        st.dataframe(pd.DataFrame([[n] + [_num(v) for v in vals_] for n, vals_ in rows],
                                  columns=["", "[0]", "[1]"]), hide_index=True)
        st.metric(tr("gradients.ag.grad"), "[" + ", ".join(_num(v) for v in r.x_grad) + "]")
        st.code(f"loss   = {_num(r.loss)}\nx.grad = tensor([{', '.join(_num(v) for v in r.x_grad)}])\n"
                f"y.grad = {'None' if r.y_grad_is_none else '...'}   (y.is_leaf = {r.y_is_leaf})"
                f"\nz.grad = {'None' if r.z_grad_is_none else '...'}", language="text")
    st.info(tr("gradients.ag.nonleaf"))
    show_code(G.autograd_example)


# --- 2. linear regression -----------------------------------------------------------------


def _regression_animation(noise: float, lr: float, steps: int, seed: int, labels: dict):
    x, y, run, grid = _regression(noise, lr, steps, seed)
    return F.regression_animation(x, y, run.w, run.b, grid, labels)


# The two animations, built once for the class and keyed by their settings: hashing the
# arrays they draw (Streamlit hashes a list of floats item by item) costs more than a rerun.
_regression_figure = shared_figure(_regression_animation)


def regression_tab() -> None:
    st.markdown(tr("gradients.reg.intro"))
    c = st.columns(4)
    noise = c[0].slider(tr("gradients.reg.noise"), 0.0, 10.0, 1.0, 0.5, key="gradients_reg_noise")
    lr = c[1].number_input(tr("gradients.lr"), value=0.01, step=0.005, format="%.4f",
                           key="gradients_reg_lr", help=tr("gradients.reg.lr_help"))
    steps = c[2].slider(tr("gradients.steps"), 10, 1000, 200, 10, key="gradients_reg_steps")
    seed = int(c[3].number_input(tr("gradients.seed"), value=777, step=1,
                                 key="gradients_reg_seed"))
    try:
        x, y, run, grid = _regression(noise, lr, steps, seed)
    except G.BadInput as e:
        show_error(e)
        return
    if run.diverged_at is not None:
        st.error(tr("gradients.diverged", step=run.diverged_at) + " " +
                 tr("gradients.reg.diverged_why"))
    elif run.loss[-1] > run.loss[0]:
        st.warning(tr("gradients.reg.growing"))
    if not run.w:
        return
    m = st.columns(4)
    m[0].metric("w", f"{run.w[-1]:.3f}", f"{run.w[-1] - 5:+.3f} " + tr("gradients.reg.vs_true"),
                delta_color="off")
    m[1].metric("b", f"{run.b[-1]:.3f}", f"{run.b[-1] - 2:+.3f} " + tr("gradients.reg.vs_true"),
                delta_color="off")
    m[2].metric(tr("gradients.reg.loss"), f"{run.loss[-1]:.4g}")
    m[3].metric(tr("gradients.steps"), len(run.w) - 1)
    labels = {k: tr(f"gradients.reg.fig.{k}") for k in
              ("data", "surface", "points", "truth", "line", "path", "step")}
    labels["title"] = tr("gradients.reg.fig.title")
    st.plotly_chart(_regression_figure(noise, lr, steps, seed, labels), key="gradients_reg_anim")
    st.caption(tr("gradients.reg.play"))
    st.plotly_chart(F.loss_curve({"MSE": run.loss}, {
        "title": tr("gradients.reg.curve"), "x": tr("gradients.steps"),
        "y": tr("gradients.reg.loss")}), key="gradients_reg_curve")
    show_code(G.fit_line)
    course_training.l1_regression()


# --- 3. perceptron ------------------------------------------------------------------------

PRESETS = {"or": ("or", 0), "and": ("and", 0), "xor1": ("xor", 0), "xor2": ("xor", 4)}


def _perceptron_animation(gate: str, hidden: int, lr: float, steps: int, labels: dict):
    run = _perceptron(gate, hidden, lr, steps)
    return F.perceptron_animation(run.grid_axis, run.grids, run.snapshot_steps, G.GATE_X,
                                  G.GATES[gate], labels)


_perceptron_figure = shared_figure(_perceptron_animation)


def perceptron_tab() -> None:
    st.markdown(tr("gradients.pc.intro"))
    st.code(f"x = [[0,0],[0,1],[1,0],[1,1]];  w = [1, 1];  b = -0.5\n"
            f"sign(x @ w + b) = {G.fixed_or()}", language="python")
    c = st.columns([2, 1, 1])
    preset = c[0].radio(tr("gradients.pc.preset"), list(PRESETS), horizontal=True,
                        format_func=lambda k: tr(f"gradients.pc.preset.{k}"),
                        key="gradients_pc_preset")
    lr = c[1].number_input(tr("gradients.lr"), value=0.1, step=0.05, format="%.3f",
                           key="gradients_pc_lr")
    steps = c[2].slider(tr("gradients.steps"), 50, 3000, 500, 50, key="gradients_pc_steps")
    gate, hidden = PRESETS[preset]
    try:
        run = _perceptron(gate, hidden, lr, steps)
    except G.BadInput as e:
        show_error(e)
        return
    if run.diverged_at is not None:
        st.error(tr("gradients.diverged", step=run.diverged_at))
        return
    left, right = st.columns([1.1, 1])
    labels = {k: tr(f"gradients.pc.fig.{k}") for k in
              ("output", "boundary", "plus", "minus", "title", "step")}
    left.plotly_chart(_perceptron_figure(gate, hidden, lr, steps, labels), key="gradients_pc_anim")
    with right:
        table = pd.DataFrame({"x1": [p[0] for p in G.GATE_X], "x2": [p[1] for p in G.GATE_X],
                              tr("gradients.pc.target"): G.GATES[gate],
                              "tanh": [round(v, 3) for v in run.outputs],
                              "sign": run.predicted})
        st.dataframe(table, hide_index=True)
        if run.solved:
            st.success(tr("gradients.pc.solved", pred=run.predicted))
        else:
            st.error(tr("gradients.pc.unsolved", pred=run.predicted))
        if gate == "xor":
            st.info(tr("gradients.pc.xor1" if hidden == 0 else "gradients.pc.xor2"))
        st.plotly_chart(F.loss_curve({"MSE": run.loss}, {
            "title": tr("gradients.pc.curve"), "x": tr("gradients.steps"),
            "y": "MSE"}), key="gradients_pc_curve")
    show_code(G.train_perceptron)


# --- 4. activations -----------------------------------------------------------------------


def activations_tab() -> None:
    st.markdown(tr("gradients.act.intro"))
    c = st.columns([3, 1, 1])
    names = c[0].multiselect(tr("gradients.act.pick"), list(G.ACTIVATIONS),
                             default=list(G.ACTIVATIONS), key="gradients_act_names",
                             format_func=lambda k: tr(f"gradients.act.{k}"))
    slope = c[1].slider(tr("gradients.act.slope"), 0.0, 0.5, 0.1, 0.01, key="gradients_act_slope")
    prelu = c[2].slider(tr("gradients.act.prelu_a"), 0.0, 0.5, 0.25, 0.01, key="gradients_act_prelu")
    if not names:
        st.info(tr("gradients.act.none"))
    else:
        curves = G.activation_curves(names, slope=slope, prelu_init=prelu)
        labels = {"f": tr("gradients.act.f"), "df": tr("gradients.act.df")}
        labels.update({k: tr(f"gradients.act.{k}") for k in G.ACTIVATIONS})
        st.plotly_chart(F.activations_figure(curves, names, labels), key="gradients_act_fig")
    st.caption(tr("gradients.act.note"))
    st.subheader(tr("gradients.dead.title"))
    st.markdown(tr("gradients.dead.intro"))
    c = st.columns(2)
    w = c[0].number_input("w", value=-3.0, step=0.5, key="gradients_dead_w")
    b = c[1].number_input("b", value=-5.0, step=0.5, key="gradients_dead_b")
    dead = G.dying_neuron("relu", w, b)
    leaky = G.dying_neuron("leaky_relu", w, b)
    lo, hi = sorted((b - w, b + w))
    m = st.columns(3)
    m[0].metric(tr("gradients.dead.range"), f"[{lo:g}, {hi:g}]")
    m[1].metric(tr("gradients.dead.fired"), f"{dead.fired} / 21")
    m[2].metric(tr("gradients.dead.grad"), f"{dead.grad_w0:.3g}, {dead.grad_b0:.3g}")
    st.markdown(tr("gradients.dead.after", w=f"{dead.w[-1]:.3f}", b=f"{dead.b[-1]:.3f}",
                   lw=f"{leaky.w[-1]:.3f}", lb=f"{leaky.b[-1]:.3f}"))
    if dead.fired == 0:
        st.error(tr("gradients.dead.is_dead"))
    else:
        st.success(tr("gradients.dead.alive", n=dead.fired))
    st.plotly_chart(F.weight_trace({"ReLU w": dead.w, "Leaky ReLU w": leaky.w}, {
        "title": tr("gradients.dead.curve"), "x": tr("gradients.steps"), "y": "w"}),
        key="gradients_dead_fig")


# --- 5. vanishing gradients ---------------------------------------------------------------


def vanishing_tab() -> None:
    st.markdown(tr("gradients.van.intro"))
    c = st.columns([2, 1, 1])
    depth = c[0].slider(tr("gradients.van.depth"), O.MIN_DEPTH, O.MAX_DEPTH, 10,
                        key="gradients_van_depth")
    act = c[1].radio(tr("gradients.van.act"), list(O.DEEP_ACTIVATIONS), key="gradients_van_act",
                     format_func=lambda k: tr(f"gradients.act.{k}"))
    init = c[2].radio(tr("gradients.van.init"), list(O.INITS), key="gradients_van_init",
                      format_func=lambda k: tr(f"gradients.van.init.{k}"))
    try:
        _, _, source = _digits()
        r = _vanishing(depth, act, init)
    except data.DataUnavailable as e:
        st.error(tr("gradients.err.data", reason=str(e)))
        return
    st.caption(tr("gradients.van.batch", n=256, source=source))
    m = st.columns(4)
    m[0].metric(tr("gradients.van.first"), f"{r.norms[0]:.2e}")
    m[1].metric(tr("gradients.van.last"), f"{r.norms[-1]:.2e}")
    m[2].metric(tr("gradients.van.ratio"), f"{r.ratio:.1e}")
    m[3].metric(tr("gradients.van.course", d=depth), f"{O.course_product(depth):.0e}")
    labels = {"layer": tr("gradients.van.layer"), "measured": tr("gradients.van.measured"),
              "title": tr("gradients.van.title", depth=depth, act=tr(f"gradients.act.{act}")),
              "y": "||dLoss/dW||"}
    st.plotly_chart(F.grad_norm_bars(r.norms, labels), key="gradients_van_fig")
    relu = _vanishing(10, "relu", "default")
    sig = _vanishing(10, "sigmoid", "default")
    st.info(tr("gradients.van.explain", sig=f"{sig.norms[0]:.1e}", relu=f"{relu.norms[0]:.1e}",
               x=f"{relu.norms[0] / sig.norms[0]:,.0f}", bound=f"{0.25 ** (depth - 1):.0e}",
               d=depth - 1))
    show_code(O.layer_grad_norms)


# --- 6. optimizers ------------------------------------------------------------------------


def optimizers_tab() -> None:
    st.markdown(tr("gradients.opt.intro"))
    c = st.columns([1.2, 3])
    surf = c[0].radio(tr("gradients.opt.surface"), list(O.SURFACES), key="gradients_opt_surface",
                      format_func=lambda k: tr(f"gradients.opt.surface.{k}"))
    names = c[1].multiselect(tr("gradients.opt.pick"), list(O.OPTIMIZERS),
                             default=list(O.OPTIMIZERS), key="gradients_opt_names",
                             format_func=lambda k: tr(f"gradients.opt.{k}"))
    s = O.SURFACES[surf]
    c = st.columns(2)
    lr = c[0].number_input(tr("gradients.lr"), value=s.lr, step=s.lr / 2, format="%.4f",
                           key=f"gradients_opt_lr_{surf}")
    steps = c[1].slider(tr("gradients.steps"), 10, 2000, s.steps, 10,
                        key=f"gradients_opt_steps_{surf}")
    st.caption(tr(f"gradients.opt.about.{surf}"))
    if not names:
        st.info(tr("gradients.opt.none"))
        return
    try:
        paths, grid = _race(surf, tuple(names), lr, steps)
    except G.BadInput as e:
        show_error(e)
        return
    shown = {k: tr(f"gradients.opt.{k}") for k in O.OPTIMIZERS}
    for k, p in paths.items():
        if p.diverged_at is not None:
            st.error(f"{shown[k]}: " + tr("gradients.diverged", step=p.diverged_at))
    labels = {"start": tr("gradients.opt.start"), "min": tr("gradients.opt.min"),
              "title": tr("gradients.opt.title", lr=f"{lr:g}", steps=steps)}
    st.plotly_chart(F.optimizer_race(grid, paths, s.minimum, labels, shown), key="gradients_opt_fig")
    rows = [{tr("gradients.opt.col.name"): shown[k],
             tr("gradients.opt.col.loss"): f"{p.loss[-1]:.3g}" if p.loss else "-",
             tr("gradients.opt.col.dist"): f"{O.distance_to_min(p, surf):.3g}",
             tr("gradients.opt.col.div"): "-" if p.diverged_at is None else p.diverged_at}
            for k, p in paths.items()]
    c = st.columns([1, 1.4])
    c[0].dataframe(pd.DataFrame(rows), hide_index=True)
    c[1].plotly_chart(F.loss_curve({shown[k]: p.loss for k, p in paths.items()}, {
        "title": tr("gradients.opt.curve"), "x": tr("gradients.steps"), "y": "f(x, y)"}),
        key="gradients_opt_curve")
    show_code(O.run_optimizer)
    course_training.momentum_by_hand()
