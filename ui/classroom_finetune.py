"""The class panel's "fine-tune on the class's drawings": start a job, follow it, show the
before/after figures and save the model. The work is `cnndemo.classroom.finetune`, in a job
process (`cnndemo.jobs`), never in this script's thread."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from cnndemo.classroom import finetune as FT
from cnndemo.classroom import store as S
from cnndemo.core import checkpoints
from cnndemo.figures.finetune import before_after_figure
from cnndemo.jobs import manager as jobs
from ui import classroom as C
from ui.common import show_error, tr

JOB, SAVED, LIVE = "classroom_ft_job", "classroom_ft_saved", "classroom_ft_live"
POLL_S = 2.0
LRS = (1e-4, 3e-4, 1e-3, 3e-3)


def owner(code: str) -> str:
    return f"classroom-{code}"


def base_model(les: S.Lesson) -> Path:
    """The class's digits model: the shipped one under the model lock, else the teacher's own
    choice in the sidebar when it is a digits model."""
    if "model" in les.locks:
        return C.class_model(les)
    chosen = st.session_state.get("model_path")
    info = checkpoints.read_info(chosen) if chosen else None
    if info is not None and info.error is None and info.dataset == "mnist":
        return Path(chosen)
    return checkpoints.shipped_path("mnist")


def current_job(code: str) -> jobs.Job | None:
    """This class's latest fine-tune (found again after the teacher reloads the page)."""
    mgr = jobs.manager()
    mgr.touch(owner(code))
    job = mgr.get(st.session_state.get(JOB) or "")
    if job is None or job.owner != owner(code):
        mine = mgr.jobs(owner(code))
        job = mine[-1] if mine else None
        st.session_state[JOB] = job.id if job else None
    return job


def section(les: S.Lesson) -> None:
    st.subheader(tr("classroom.ft.title"))
    st.fragment(_controls, run_every=POLL_S)(les)
    job = current_job(les.code)
    if job is not None and job.done:
        outcome(job, les)


def _controls(les: S.Lesson) -> None:
    """Polls: the count of drawings as students send them, then the job's progress."""
    ss = st.session_state
    lab = FT.labelled(C.store().drawings(les.code))
    base = base_model(les)
    info = checkpoints.read_info(base)
    st.caption(tr("classroom.ft.intro", model=info.name if info else base.stem, n=len(lab),
                  replay=FT.REPLAY_MIN, per=FT.REPLAY_PER_DRAWING))
    if lab.unlabelled or lab.damaged:
        st.caption(tr("classroom.ft.skipped", unlabelled=lab.unlabelled, damaged=lab.damaged))
    job = current_job(les.code)
    if job is not None and job.done and ss.get(LIVE) == job.id:
        ss[LIVE] = None
        st.rerun()  # the whole page: the figures replace the progress bar
    running = job is not None and not job.done
    with st.expander(tr("classroom.ft.settings")):
        c1, c2, c3 = st.columns(3)
        epochs = c1.slider(tr("classroom.ft.epochs"), 1, 15, 5, key="classroom_ft_epochs")
        lr = c2.select_slider(tr("classroom.ft.lr"), LRS, value=1e-3, key="classroom_ft_lr",
                              format_func=lambda v: f"{v:g}")
        mix = c3.toggle(tr("classroom.ft.mix"), value=True, key="classroom_ft_mix",
                        help=tr("classroom.ft.mix_help"))
    if len(lab) < FT.MIN_DRAWINGS:
        st.info(tr("classroom.ft.too_few", n=len(lab), need=FT.MIN_DRAWINGS),
                icon=":material/draw:")
    if st.button(tr("classroom.ft.start"), key="classroom_ft_start", type="primary",
                 icon=":material/model_training:",
                 disabled=running or len(lab) < FT.MIN_DRAWINGS):
        cfg = FT.FinetuneConfig(str(base), lab.images, lab.labels, epochs=int(epochs),
                                lr=float(lr), replay=None if mix else 0)
        try:
            FT.check(cfg)
        except FT.FinetuneError as e:
            show_error(e)
            return
        ss[JOB] = ss[LIVE] = jobs.manager().submit([jobs.Run("fine-tune", cfg)],
                                                  owner=owner(les.code), name="fine-tune")
        st.rerun()  # the whole page: the last fine-tune's figures go
    if running:
        progress(job)


def progress(job: jobs.Job) -> None:
    if st.session_state.get(LIVE) != job.id:
        st.session_state[LIVE] = job.id  # found again after a reload: still show its end
    run = job.runs[0]
    last = (run.batches or [{}])[-1]
    c1, c2 = st.columns([6, 1], vertical_alignment="bottom")
    if job.state == jobs.QUEUED:
        c1.info(tr("classroom.ft.queued", pos=job.queue_position or 1))
    c1.progress(job.fraction, text=tr(
        "classroom.ft.progress", epoch=last.get("epoch", 0), epochs=run.cfg.epochs,
        elapsed=jobs.format_duration(job.elapsed_s), eta=jobs.format_duration(job.eta_s)))
    if c2.button(tr("classroom.ft.stop"), key="classroom_ft_stop"):
        jobs.manager().stop(job.id)


def outcome(job: jobs.Job, les: S.Lesson) -> None:
    run = job.runs[0]
    if job.state == jobs.DIVERGED:
        st.error(tr("classroom.ft.diverged"))
        return
    if job.state in (jobs.FAILED, jobs.CRASHED):
        st.error(tr("classroom.ft.failed", why=job.error or run.error or "?"))
        return
    if job.state == jobs.STOPPED or not run.results or not run.state_path:
        st.info(tr("classroom.ft.stopped"))
        return
    res = run.results
    path = save(job, les.code)
    st.caption(tr("classroom.ft.done", t=jobs.format_duration(job.elapsed_s),
                  device=run.device or "?", n=res["n_trained"], replay=res["n_replay"],
                  epochs=res["epochs"]))
    table(res)
    if path is None:
        return
    st.success(tr("classroom.ft.saved", name=path.stem), icon=":material/save:")
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="center")
    c1.button(tr("classroom.ft.use"), key="classroom_ft_use", on_click=_use, args=(str(path),),
              disabled=st.session_state.get("model_path") == str(path))
    given = "model" in les.locks and les.model == str(path)
    c2.button(tr("classroom.ft.give_class"), key="classroom_ft_give", type="primary",
              on_click=_give, args=(les.code, str(path)), disabled=given,
              icon=":material/groups:")
    c3.caption(tr("classroom.ft.given" if given else "classroom.ft.give", name=path.stem))


def _use(path: str) -> None:
    st.session_state["model_path"] = path  # a callback: runs before the sidebar's picker


def _give(code: str, path: str) -> None:
    """The whole class on this model: it becomes the class's model and the model lock goes on;
    the students' pages rerun with it within a second."""
    store = C.store()
    les = store.set_model(code, path)
    if les is not None and "model" not in les.locks:
        store.set_locks(code, set(les.locks) | {"model"})
    st.session_state["classroom_lock_model"] = True  # the panel's lock toggle shows it on
    _use(path)


def save(job: jobs.Job, code: str) -> Path | None:
    """Save the job's model once; the rerun makes the sidebar list it."""
    saved = st.session_state.get(SAVED) or {}
    if job.id in saved:
        return Path(saved[job.id])
    run = job.runs[0]
    try:
        path = FT.save(run.state_path, run.results, f"class-{code}-finetuned", job.id)
    except FT.FinetuneError as e:
        show_error(e)
        return None
    except (checkpoints.CheckpointError, OSError) as e:
        st.error(tr("classroom.ft.save_failed", why=str(e)))
        return None
    st.session_state[SAVED] = {**saved, job.id: str(path)}
    st.rerun()


def table(res: dict) -> None:
    names = [tr(f"classroom.ft.row.{r}", n=res["rows"][r]["n"]) for r in FT.ROWS
             if res["rows"][r]["n"]]
    rows = [res["rows"][r] for r in FT.ROWS if res["rows"][r]["n"]]
    pct = lambda v: "–" if v is None else f"{v:.1%}"  # noqa: E731
    st.dataframe({tr("classroom.ft.col_set"): names,
                  tr("classroom.ft.col_before"): [pct(r["before"]) for r in rows],
                  tr("classroom.ft.col_after"): [pct(r["after"]) for r in rows],
                  tr("classroom.ft.col_change"): [f"{(r['after'] - r['before']) * 100:+.1f}"
                                                  for r in rows]},
                 hide_index=True, key="classroom_ft_table")
    st.plotly_chart(before_after_figure(names, [r["before"] for r in rows],
                                        [r["after"] for r in rows],
                                        {"before": tr("classroom.ft.col_before"),
                                         "after": tr("classroom.ft.col_after"),
                                         "acc": tr("classroom.ft.acc")}),
                    key="classroom_ft_chart")
    st.caption(tr("classroom.ft.honest_held" if res["n_held"] else "classroom.ft.honest_none",
                  held=res["n_held"], need=FT.HOLDOUT_FROM))
