"""Streamlit side of the training lab: settings, live job panel, results, saves.

The training itself runs in worker processes (`cnndemo.jobs.manager`); this module only reads
widgets, submits jobs, and draws snapshots of their progress.
"""
from __future__ import annotations

import re
import uuid

import numpy as np
import streamlit as st
import torch

from cnndemo.core import arch, checkpoints, data, speed, train
from cnndemo.figures import training as F
from cnndemo.jobs import manager as jobs
from cnndemo.lessons import experiments
from cnndemo.lessons.course import describe_dataset
from ui.common import lang, shared_figure, shared_figures, show_error, tr

IMAGE_PRESETS = ["course-b", "course-a", "course-c", "mlp", "deep-mlp", "count-exercise"]
DATASETS = data.TITLES
DEFAULT_SUBSET = {"mnist": 4000, "fashion-mnist": 10000}
POLL_S = 1.0
# A finished run's figures do not change: built once, not on every rerun of the page. (The
# live panel's curves change at every poll, so they are built fresh.)
SHARED = shared_figures(F, "comparison_figure", "confusion_figure", "per_class_figure", "image_grid")


def _run_curves(run_key: str, labels: dict, overfit_epoch, _batches: list, _epochs: list):
    """A finished run's curves, keyed by the run: hashing its thousands of batch records
    would cost as much as drawing them."""
    return F.curves_figure(_batches, _epochs, labels, overfit_epoch)


RUN_CURVES = shared_figure(_run_curves)


def owner() -> str:
    """This browser's id: its jobs survive page changes and, kept in the address, a reload."""
    if "training_owner" not in st.session_state:
        given = st.query_params.get("owner", "")
        st.session_state["training_owner"] = (
            given if re.fullmatch(r"[0-9a-f]{32}", given) else uuid.uuid4().hex)
        for job in jobs.manager().jobs(st.session_state["training_owner"]):  # oldest first
            key = "training_exp_job" if len(job.runs) > 1 else "training_job"
            st.session_state[key] = job.id
            st.session_state[f"{key}_live"] = not job.done
    st.query_params["owner"] = st.session_state["training_owner"]
    jobs.manager().touch(st.session_state["training_owner"])
    return st.session_state["training_owner"]


def load_data(name: str):
    try:
        return data.load(name)
    except data.DataUnavailable as e:
        st.error(tr("common.data_missing", reason=str(e)))
        return None


def curve_labels() -> dict:
    return {k: tr(f"training.curve.{k}") for k in
            ("loss", "acc", "epoch", "train_batches", "test_live", "train", "test", "overfit")}


# ----- settings -----
def settings() -> tuple[train.TrainConfig | None, object]:
    """The run settings widgets; returns (config, dataset) or (None, None)."""
    handoff = st.session_state.get("handoff_spec")
    with st.container(border=True):
        c1, c2, c3 = st.columns([1.2, 2.2, 1])
        name = c1.radio(tr("training.dataset"), list(DATASETS), key="training_dataset",
                        format_func=DATASETS.get)
        ds = load_data(name)
        if ds is None:
            return None, None
        options = (["handoff"] if handoff else []) + IMAGE_PRESETS
        choice = c2.selectbox(tr("training.arch"), options, key="training_arch",
                              format_func=lambda o: tr("training.arch_handoff", name=handoff.get(
                                  "name", "?")) if o == "handoff" else arch.PRESETS[o].title)
        c2.caption(describe_dataset(ds, lang()))
        n_train = len(ds.train_y)
        subset = c3.number_input(tr("training.subset", n=f"{n_train:,}"), 100, n_train,
                                 min(DEFAULT_SUBSET[name], n_train), step=500,
                                 key=f"training_subset_{name}")
        c1, c2, c3, c4 = st.columns(4)
        loss = c1.selectbox(tr("training.loss"), train.LOSSES, key="training_loss",
                            format_func=lambda k: tr(f"training.loss.{k}"))
        opt = c2.selectbox(tr("training.optimizer"), train.OPTIMIZERS, index=4,
                           key="training_optimizer", format_func=lambda k: tr(f"training.opt.{k}"))
        lr = c3.number_input(tr("training.lr"), 0.0, 10.0, 0.002, step=0.0005, format="%.4f",
                             key="training_lr")
        momentum = 0.9
        if opt == "momentum":
            momentum = c4.select_slider(tr("training.momentum"), [0.5, 0.9], value=0.9,
                                        key="training_momentum")
        c1, c2, c3, c4 = st.columns(4)
        batch = c1.number_input(tr("training.batch"), 1, 60000, 64, step=16, key="training_batch")
        epochs = c2.number_input(tr("training.epochs"), 1, 100, 3, key="training_epochs")
        seed = c3.number_input(tr("training.seed"), 0, 2**31 - 1, 777, key="training_seed")
        augment = c4.toggle(tr("training.augment"), key="training_augment",
                            help=tr("training.augment_help"))
        cosine = c4.toggle(tr("training.cosine"), value=True, key="training_cosine",
                           help=tr("training.cosine_help"))
    spec = handoff["spec"] if choice == "handoff" else None
    shape = tuple(handoff.get("input_shape", (1, 28, 28))) if choice == "handoff" else (1, 28, 28)
    cfg = train.TrainConfig(dataset=name, preset="course-b" if spec else choice, spec=spec,
                            input_shape=shape, epochs=int(epochs), loss=loss, optimizer=opt,
                            lr=float(lr), momentum=float(momentum), batch_size=int(batch),
                            seed=int(seed), train_subset=int(subset), augment=bool(augment),
                            schedule="cosine" if cosine else "constant")
    return cfg, ds


@st.cache_data(show_spinner=False, max_entries=8)
def _references(files: tuple[tuple[str, float], ...]) -> list[speed.Reference]:
    """The measured training runs recorded in the checkpoints (keyed by path and mtime)."""
    refs = []
    for path, _mtime in files:
        try:
            ref = speed.reference_from_meta(checkpoints.load(path).meta)
        except checkpoints.CheckpointError:
            continue  # a damaged checkpoint simply measures nothing here
        if ref is not None:
            refs.append(ref)
    return refs


def problems(cfg: train.TrainConfig, ds) -> bool:
    """Show why the settings cannot run; True if they cannot."""
    found = experiments.check_settings(cfg, len(ds.train_y))
    for problem in found:
        show_error(problem)
    return bool(found)


def estimate(cfg: train.TrainConfig, ds) -> None:
    """Expected time, from a measured run scaled to this network: nothing is trained here."""
    files = tuple((str(i.path), i.path.stat().st_mtime) for i in checkpoints.list_checkpoints()
                  if i.path.exists())
    est = speed.estimate(cfg.layers(), cfg.input_shape, _references(files),
                         train.pick_device().type)
    if est is None:
        return
    secs = experiments.expected_seconds(cfg, len(ds.train_y), len(ds.test_y), est.samples_per_s)
    st.caption(tr("training.estimate_scaled", t=jobs.format_duration(secs),
                  sps=f"{est.samples_per_s:,.0f}", device=est.reference.device.upper(),
                  ref=est.reference.name, params=f"{arch.total_params(cfg.layers()):,}"))


def submit(runs: list, key: str, name: str = "") -> None:
    mgr = jobs.manager()
    old = st.session_state.get(key)
    if old and (job := mgr.get(old)) is not None and not job.done:
        mgr.stop(old)
    st.session_state[key] = mgr.submit(runs, owner=owner(), name=name)
    st.session_state[f"{key}_live"] = True


# ----- the live panel -----
def live(key: str) -> jobs.Job | None:
    """Progress of the job stored under session key `key`; polls itself while it runs."""
    job = jobs.manager().get(st.session_state.get(key) or "")
    if job is None:
        return None
    st.fragment(_live_body, run_every=POLL_S if not job.done else None)(key)
    return job


def _live_body(key: str) -> None:
    owner()
    job = jobs.manager().get(st.session_state.get(key) or "")
    if job is None:
        return
    if job.done and st.session_state.get(f"{key}_live"):
        st.session_state[f"{key}_live"] = False
        st.rerun()  # the whole page: results replace the live view
    if job.state == jobs.QUEUED:
        st.info(tr("training.queued", pos=job.queue_position, cap=jobs.manager().max_running))
    run = job.runs[min(job.current, len(job.runs) - 1)]
    last = (run.batches or [{}])[-1]
    text = tr("training.progress" if len(job.runs) == 1 else "training.progress_multi",
              run=job.current + 1, runs=len(job.runs), label=run.label,
              epoch=last.get("epoch", 0), epochs=run.cfg.epochs,
              elapsed=jobs.format_duration(job.elapsed_s), eta=jobs.format_duration(job.eta_s))
    if job.done:
        st.caption(tr("training.finished", label=job.name, t=jobs.format_duration(job.elapsed_s)))
    else:
        c1, c2 = st.columns([6, 1], vertical_alignment="bottom")
        c1.progress(job.fraction, text=text)
        if c2.button(tr("training.stop"), key=f"{key}_stop", type="primary"):
            jobs.manager().stop(job.id)
    if job.state == jobs.CRASHED:
        st.error(tr("training.crashed", why=job.error or ""))
    elif job.state == jobs.FAILED:
        st.error(tr("training.failed", why=job.error or ""))
    if len(job.runs) == 1 and not job.done:
        st.plotly_chart(F.curves_figure(run.batches, run.epochs, curve_labels()),
                        key=f"{key}_live_curves")
    elif len(job.runs) > 1 and not job.done:
        runs = [{"label": r.label, "epochs": r.epochs} for r in job.runs if r.epochs]
        if runs:
            st.plotly_chart(F.comparison_figure(runs, curve_labels()), key=f"{key}_cmp")


# ----- results of a finished run -----
def results(job: jobs.Job, ds) -> None:
    run = job.runs[0]
    if run.state == jobs.DIVERGED:
        st.error(tr("training.diverged", epoch=run.diverged_at[0], batch=run.diverged_at[1]))
    elif run.state == jobs.STOPPED:
        st.warning(tr("training.stopped"))
    hist = run.history or {}
    res = run.results
    m = st.columns(4)
    if res:
        m[0].metric(tr("training.final_acc"), f"{res['acc']:.2%}",
                    help=tr("training.final_acc_help", n=f"{res['n']:,}", kind=ds.test_kind))
    if hist.get("train_acc"):
        m[1].metric(tr("training.train_acc"), f"{hist['train_acc'][-1]:.2%}")
    m[2].metric(tr("training.device"), str(hist.get("device") or run.device or "?").upper())
    if hist.get("samples_per_s"):
        m[3].metric(tr("training.speed"), f"{hist['samples_per_s']:,.0f}",
                    help=tr("training.speed_help", t=jobs.format_duration(hist.get("seconds"))))
    over = experiments.overfitting_epoch(hist.get("train_loss", []), hist.get("test_loss", []))
    if over is not None:
        st.warning(tr("training.overfit", epoch=over))
    st.plotly_chart(RUN_CURVES(f"{job.id}/0", curve_labels(), over, run.batches, run.epochs),
                    key="training_curves")
    if res:
        confusion(res, ds)


def confusion(res: dict, ds) -> None:
    classes = res["classes"]
    cm = np.asarray(res["confusion"])
    labels_y = ds.test_y[:res["n"]].numpy()
    st.subheader(tr("training.confusion"))
    st.caption(tr("training.confusion_help"))
    off = cm.copy()
    np.fill_diagonal(off, -1)
    worst = np.unravel_index(int(off.argmax()), off.shape)
    st.session_state.setdefault("training_cell_true", int(worst[0]))
    st.session_state.setdefault("training_cell_pred", int(worst[1]))
    left, right = st.columns([3, 2])
    with left:
        sel = (st.session_state["training_cell_true"], st.session_state["training_cell_pred"])
        labels = {"pred": tr("training.cm_pred"), "true": tr("training.cm_true"),
                  "hover": tr("training.cm_hover")}
        event = st.plotly_chart(SHARED.confusion_figure(cm, classes, labels, sel), key="training_cm",
                                on_select="rerun", selection_mode="points")
        _apply_click(event, [str(c) for c in classes])
    with right:
        st.plotly_chart(SHARED.per_class_figure(res["per_class_acc"], classes,
                                           {"acc": tr("training.per_class"),
                                            "class": tr("training.cm_true")}),
                        key="training_per_class")
        c1, c2 = st.columns(2)
        t = c1.selectbox(tr("training.cm_true"), range(len(classes)), key="training_cell_true",
                         format_func=lambda i: classes[i])
        p = c2.selectbox(tr("training.cm_pred"), range(len(classes)), key="training_cell_pred",
                         format_func=lambda i: classes[i])
        idx = experiments.cell_indices(res, t, p, labels_y)[:16]
        st.markdown(tr("training.cell", n=int(cm[t, p]), true=classes[t], pred=classes[p]))
        if idx:
            titles = [f"{res['conf'][i]:.0%}" for i in idx]
            st.plotly_chart(SHARED.image_grid(ds.test_x[idx].numpy(), titles, cols=8,
                                         height_per_row=80), key="training_cell_imgs")
    st.subheader(tr("training.mistakes"))
    st.caption(tr("training.mistakes_help"))
    mist = res["mistakes"][:16]
    if mist:
        titles = [tr("training.mistake_title", true=classes[m["true"]], pred=classes[m["pred"]],
                     conf=f"{m['conf']:.0%}") for m in mist]
        imgs = ds.test_x[[m["index"] for m in mist]].numpy()
        st.plotly_chart(SHARED.image_grid(imgs, titles, cols=8, height_per_row=150),
                        key="training_mistakes")


def _apply_click(event, names: list) -> None:
    """A click on a cell picks that cell (once: the selection outlives the click)."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return
    x, y = str(points[0].get("x")), str(points[0].get("y"))
    if x in names and y in names and st.session_state.get("training_cm_last") != (x, y):
        st.session_state["training_cm_last"] = (x, y)
        st.session_state["training_cell_true"] = names.index(y)
        st.session_state["training_cell_pred"] = names.index(x)


def comparison(job: jobs.Job | None) -> None:
    """The experiment's runs and the runs added by hand, on shared axes."""
    runs = [{"label": r.label, "epochs": r.epochs} for r in (job.runs if job else []) if r.epochs]
    runs += st.session_state.get("training_compare", [])
    if not runs:
        st.caption(tr("training.compare_empty"))
        return
    st.plotly_chart(SHARED.comparison_figure(runs, curve_labels()), key="training_compare_fig")
    rows = [{tr("training.run"): r["label"], tr("training.final_acc"): f"{r['epochs'][-1]['test_acc']:.2%}",
             tr("training.curve.loss"): f"{r['epochs'][-1]['test_loss']:.4f}",
             tr("training.curve.epoch"): r["epochs"][-1]["epoch"]} for r in runs]
    st.dataframe(rows, hide_index=True, key="training_compare_table")
    if st.session_state.get("training_compare") and st.button(tr("training.clear_compare"),
                                                               key="training_clear_compare"):
        st.session_state["training_compare"] = []
        st.rerun()


# ----- checkpoints -----
def save_form(job: jobs.Job, ds) -> None:
    run = job.runs[0]
    if not run.state_path or not run.results:
        return
    c1, c2, c3 = st.columns([3, 1, 1.4])
    default = f"{ds.name}-{run.cfg.preset if run.cfg.spec is None else 'custom'}"
    name = c1.text_input(tr("training.save_name"), default, key="training_save_name",
                         max_chars=40)
    if c2.button(tr("training.save"), key="training_save", type="primary"):
        save(run, ds, name)
    if st.session_state.get("training_saved"):
        st.success(tr("training.saved", name=st.session_state.pop("training_saved")))
    if c3.button(tr("training.add_compare"), key="training_add_compare"):
        added = st.session_state.setdefault("training_compare", [])
        added.append({"label": f"{name} ({run.cfg.optimizer}, {run.cfg.loss})",
                      "epochs": run.epochs})
        st.toast(tr("training.added"))


def save(run: jobs.RunProgress, ds, name: str) -> None:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name.strip()).strip("-")[:40]
    if not slug:
        st.error(tr("training.save_bad_name"))
        return
    path = checkpoints.user_dir() / f"{slug}.pt"
    if path.exists():
        st.error(tr("training.save_exists", name=slug))
        return
    cfg = run.cfg
    model = arch.build(cfg.layers())
    model.load_state_dict(torch.load(run.state_path, weights_only=True))
    hist = run.history or {}
    meta = checkpoints.run_meta(cfg, ds, run.results["acc"], run.results["n"], name=slug,
                                epochs=len(hist.get("train_loss", [])), device=hist.get("device", ""),
                                samples_per_s=float(hist.get("samples_per_s") or 0))
    try:
        checkpoints.save(path, model, meta)
    except (checkpoints.CheckpointError, OSError) as e:
        st.error(tr("training.save_failed", why=str(e)))
        return
    st.session_state["training_saved"] = slug
    st.rerun()  # redraw the sidebar so its model picker lists the new save at once


def saved_list() -> None:
    infos = checkpoints.list_checkpoints()
    for info in infos:
        c1, c2 = st.columns([5, 1])
        c1.markdown(f"**{info.name}** · {DATASETS.get(info.dataset, info.dataset)} · "
                    + (f"{info.accuracy:.2%}" if info.accuracy is not None else "?")
                    + (f" · {info.created}" if info.created else "")
                    + (f" · ⚠ {info.error}" if info.error else ""))
        if info.shipped:
            c2.caption(tr("training.shipped"))
        elif c2.button(tr("training.delete"), key=f"training_del_{info.path.stem}"):
            checkpoints.delete(info.path)
            st.rerun()  # the sidebar drops it from the model picker
    if not any(not i.shipped for i in infos):
        st.caption(tr("training.no_saves"))
