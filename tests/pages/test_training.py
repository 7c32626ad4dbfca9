"""AppTest of the training page: a tiny real run end to end, and refused settings."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnndemo.jobs import manager as jobs
from tests.unit.jobs.ray_cluster import local_ray

PAGE = str(Path(__file__).resolve().parents[2] / "lessons" / "training.py")

TINY = [{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"},
        {"type": "Linear", "in_features": 676, "out_features": 10}]


def page(handoff=True) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if handoff:
        at.session_state["handoff_spec"] = {"spec": TINY, "input_shape": [1, 28, 28],
                                            "name": "tiny-net"}
    at.run()
    assert not at.exception
    return at


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_tiny_run_shows_curves_confusion_matrix_and_accuracy():
    at = page()
    at.selectbox(key="training_arch").set_value("handoff")
    at.number_input(key="training_subset_mnist").set_value(300)
    at.number_input(key="training_batch").set_value(50)
    at.number_input(key="training_epochs").set_value(2)
    at.run()
    assert not at.error
    at.button(key="training_start").click().run()
    job_id = at.session_state["training_job"]
    job = jobs.manager().wait(job_id, timeout=90)
    assert job.state == jobs.DONE, job.error
    at.run()
    assert not at.exception
    res = job.runs[0].results
    acc = next(m for m in at.metric if m.label == "Test accuracy")
    assert acc.value == f"{res['acc']:.2%}"
    figs = charts(at)
    # learning curves: train and test per epoch, two epochs each
    curves = next(f for f in figs if any(t.get("name") == "test" for t in f["data"]))
    assert [len(t["x"]) for t in curves["data"] if t.get("name") == "test"] == [2, 2]
    # confusion matrix: the counts printed in the cells add up to the 1,000 held-out digits
    cm = next(f for f in figs if any(t.get("texttemplate") == "%{text}" for t in f["data"]))
    text = [v for t in cm["data"] if t.get("texttemplate") == "%{text}" for row in t["text"] for v in row]
    assert sum(int(v) for v in text if v) == res["n"] == 1000
    assert any("most confident" in s.value.lower() for s in at.subheader)
    # the finished run joins the comparison tab, with its own final test accuracy
    at.button(key="training_add_compare").click().run()
    table = next(d.value for d in at.dataframe if "Test accuracy" in d.value.columns)
    assert list(table["Test accuracy"]) == [f"{job.runs[0].history['test_acc'][-1]:.2%}"]


def test_impossible_settings_are_refused_before_the_run():
    at = page(handoff=False)
    at.number_input(key="training_lr").set_value(0.0)
    at.number_input(key="training_subset_mnist").set_value(100)
    at.number_input(key="training_batch").set_value(128)
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert "learning rate must be larger than zero" in errors
    assert "batch size (128) is larger than the training set (100 images)" in errors
    assert at.button(key="training_start").disabled


def test_a_handoff_spec_that_does_not_fit_is_refused_in_korean():
    at = AppTest.from_file(PAGE, default_timeout=60)
    bad = [*TINY[:4], {"type": "Linear", "in_features": 100, "out_features": 10}]
    at.session_state["handoff_spec"] = {"spec": bad, "input_shape": [1, 28, 28], "name": "bad"}
    at.run()
    at.selectbox(key="training_arch").set_value("handoff")
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    assert any("28×28 이미지에 맞지 않습니다" in e.value for e in at.error)
    # the layer's own reason is in Korean too, with the fix
    assert any("in_features를" in e.value and "(으)로 바꾸세요" in e.value for e in at.error)
    assert at.button(key="training_start").disabled


def test_experiment_tab_describes_each_course_experiment():
    at = page(handoff=False)
    assert any("same initial weights" in m.value for m in at.markdown)
    for name, words in [("5-10", "mean squared error"), ("5-11", "four optimizers"),
                        ("seed-002", "CNN B 0.9883, the 3-conv network 0.9895 and the 5-layer network 0.9835")]:
        at.selectbox(key="training_experiment").set_value(name).run()
        assert not at.exception
        assert any(words in i.value for i in at.info)


def test_on_ray_the_page_starts_stops_and_shows_the_device_the_job_got(monkeypatch, tmp_path):
    """The page's own Start, Stop and results, with the server's jobs on a real local Ray."""
    with local_ray() as (address, backend):
        mgr = jobs.JobManager(max_running=1, threads=1, workdir=str(tmp_path),
                              backend=backend(address))
        monkeypatch.setattr(jobs, "_MANAGER", mgr)
        try:
            at = page()
            at.selectbox(key="training_arch").set_value("handoff")
            at.number_input(key="training_subset_mnist").set_value(300)
            at.number_input(key="training_batch").set_value(50)
            at.number_input(key="training_epochs").set_value(2)
            at.button(key="training_start").click().run()
            job = mgr.wait(at.session_state["training_job"], timeout=120)
            assert job.state == jobs.DONE and job.backend == "ray", job.error
            at.run()
            assert not at.exception
            metrics = {m.label: m.value for m in at.metric}
            assert metrics["Device"] == "CPU"  # this cluster has no GPU: the job said so
            assert metrics["Test accuracy"] == f"{job.runs[0].results['acc']:.2%}"
            # a long run, stopped with the page's Stop button while it trains
            at.number_input(key="training_batch").set_value(10)
            at.number_input(key="training_epochs").set_value(100)
            at.button(key="training_start").click().run()
            long_id = at.session_state["training_job"]
            assert mgr.wait(long_id, 120, until=lambda j: j.runs[0].n_points > 0).state == jobs.RUNNING
            at.run()
            at.button(key="training_job_stop").click().run()
            assert mgr.wait(long_id, 10).state == jobs.STOPPED
            at.run()
            assert not at.exception
            assert any("Stopped before the end" in w.value for w in at.warning)
        finally:
            mgr.shutdown()
