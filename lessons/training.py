"""Training lab: short runs in background processes, live curves, fair comparisons, saves."""
import streamlit as st

from cnndemo.core import train
from cnndemo.jobs import manager as jobs
from cnndemo.lessons import experiments
from ui import course_training as CT
from ui import training as V
from ui.common import tr
from ui.links import bind

bind("training")
st.title(tr("training.title"))
st.markdown(tr("training.intro"))
V.owner()

tab_run, tab_cmp, tab_saved = st.tabs([tr("training.tab.run"), tr("training.tab.compare"),
                                        tr("training.tab.saved")], key="training.tab")

with tab_run:
    CT.recipe_button()
    cfg, ds = V.settings()
    if cfg is not None:
        blocked = V.problems(cfg, ds)
        if not blocked:
            V.estimate(cfg, ds)
        if st.button(tr("training.start"), key="training_start", type="primary",
                     disabled=blocked):
            V.submit([jobs.Run(tr("training.this_run"), cfg)], "training_job")
        job = V.live("training_job")
        if job is not None and job.done and job.runs[0].history is not None:
            run_ds = V.load_data(job.runs[0].cfg.dataset)
            if run_ds is not None:
                V.results(job, run_ds)
                st.subheader(tr("training.save_title"))
                V.save_form(job, run_ds)
    # Fragments: their own controls (points, batch size, shuffle seed) rerun only their section.
    st.fragment(CT.fitting)()
    st.fragment(CT.workflow)()

with tab_cmp:
    st.markdown(tr("training.compare_intro"))
    gpu = train.pick_device().type == "cuda"
    name = st.selectbox(tr("training.experiment"), list(experiments.EXPERIMENTS),
                        key="training_experiment", format_func=lambda n: tr(f"training.exp.{n}"))
    st.info(tr(f"training.exp.{name}.about"))
    runs = experiments.experiment_configs(name, gpu=gpu, **CT.exp_override(name))
    first = runs[0][1]
    st.caption(tr("training.exp_settings", epochs=first.epochs,
                  n=tr("training.all") if first.train_subset is None else f"{first.train_subset:,}",
                  batch=first.batch_size, lr=first.lr, seed=first.seed))
    if st.button(tr("training.run_experiment"), key="training_run_experiment", type="primary"):
        V.submit([jobs.Run(label, cfg) for label, cfg in runs], "training_exp_job",
                 name=tr(f"training.exp.{name}"))
    exp_job = V.live("training_exp_job")
    if exp_job is None or exp_job.done:
        V.comparison(exp_job)

with tab_saved:
    st.markdown(tr("training.saved_intro"))
    V.saved_list()
