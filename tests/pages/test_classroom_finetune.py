"""The teacher fine-tunes the class's model on the class's drawings, through the real app."""
import os
import signal
import tempfile

import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnndemo.classroom import store
from cnndemo.core import checkpoints, data
from cnndemo.jobs import manager as jobs
from tests.pages.test_classroom import APP, KEY


def _table(at, first_column="Measured on"):
    return [d.value for d in at.dataframe if first_column in d.value.columns][0]



@pytest.fixture(autouse=True)
def _class_env(monkeypatch):
    monkeypatch.setenv("CNNDEMO_RUNS_DIR", tempfile.mkdtemp(prefix="cnndemo-class-"))
    monkeypatch.setenv("CNNDEMO_TEACHER_KEY", KEY)
    monkeypatch.setenv("CNNDEMO_USER_CHECKPOINTS", tempfile.mkdtemp(prefix="cnndemo-ft-ckpt-"))


def _teacher() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("lessons/teacher.py").run()
    at.text_input(key="classroom_key_in_page").input(KEY)
    [b for b in at.button if b.label == "Unlock teacher mode"][0].click()
    at.run()
    at.button(key="classroom_start").click().run()
    assert not at.exception
    return at


def _send_fat_digits(code: str, n: int) -> None:
    """n real digits drawn with a fat marker (strokes thickened), labelled by their 'author'."""
    ds = data.load("mnist")
    pick = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(3))[:n]
    x = F.max_pool2d(F.max_pool2d(ds.train_x[pick].float()[:, None], 3, 1, 1), 3, 1, 1)
    s = store.Store()
    for img, label in zip(x[:, 0].to(torch.uint8), ds.train_y[pick]):
        s.add_drawing(code, "m1", "Ji-woo", img.numpy().tobytes(), 0, int(label))
    s.add_drawing(code, "m2", "Student 2", x[0, 0].to(torch.uint8).numpy().tobytes(), 1, None)


def test_teacher_fine_tunes_on_the_class_drawings_and_gets_a_model():
    t = _teacher()
    code = t.session_state["classroom_code"]
    assert any("0 labelled drawings so far: fine-tuning needs at least 10" in i.value
               for i in t.info)
    assert t.button(key="classroom_ft_start").disabled
    _send_fat_digits(code, 14)
    t.run()
    assert not any("fine-tuning needs at least" in i.value for i in t.info)
    assert any("on the 14 drawings the class labelled" in c.value for c in t.caption)
    assert any("1 drawings without a label" in c.value for c in t.caption)
    t.button(key="classroom_ft_start").click().run()
    assert not t.exception
    job_id = t.session_state["classroom_ft_job"]
    job = jobs.manager().wait(job_id, timeout=240)
    assert job.state == jobs.DONE, job.error
    t.run()
    assert not t.exception
    res = job.runs[0].results
    table = _table(t)
    assert list(table["Measured on"]) == ["Class drawings it trained on (14): training accuracy",
                                          "Held-out real digits (1000)"]
    for i, row in enumerate(("trained", "digits")):
        assert table["Before"][i] == f"{res['rows'][row]['before']:.1%}"
        assert table["After"][i] == f"{res['rows'][row]['after']:.1%}"
    assert res["rows"]["trained"]["after"] > res["rows"]["trained"]["before"]
    assert any("none are held out" in c.value for c in t.caption)
    name = f"class-{code}-finetuned"
    assert any(f"Saved as **{name}**" in s.value for s in t.success)
    path = str(checkpoints.user_dir() / f"{name}.pt")
    acc = res["rows"]["digits"]["after"]
    assert f"{name} (mnist, {acc:.1%})" in t.sidebar.selectbox(key="model_path").options
    assert checkpoints.load(path).meta["finetune_job"] == job_id
    t.button(key="classroom_ft_use").click().run()  # the model lock binds students, not her
    assert t.session_state["model_path"] == path
    assert t.button(key="classroom_ft_use").disabled

    # the whole class on it: a student under the model lock now reads with the new model
    t.button(key="classroom_ft_give").click().run()
    assert not t.exception
    assert store.Store().lesson(code).model == path
    assert "model" in store.Store().lesson(code).locks
    assert t.button(key="classroom_ft_give").disabled
    assert any(f"The whole class now uses {name}" in c.value for c in t.caption)
    s = AppTest.from_file(APP, default_timeout=180)
    s.session_state["lang"] = "en"
    s.run()
    s.sidebar.text_input(key="classroom_code_in_side").input(code)
    [b for b in s.button if b.label == "Join the class"][0].click()
    s.run()
    assert not s.exception
    assert s.session_state["model_path"] == path
    assert any(f"one model for the whole class: {name}." in c.value for c in s.sidebar.caption)
    t.session_state["lang"] = "ko"
    t.run()
    assert list(_table(t, "측정 대상").columns) == ["측정 대상", "전", "후", "변화 (%p)"]
    assert not t.exception


def _fine_tune_running():
    """A teacher whose 15-epoch fine-tune on 12 drawings has started training."""
    t = _teacher()
    code = t.session_state["classroom_code"]
    _send_fat_digits(code, 12)
    t.run()
    t.slider(key="classroom_ft_epochs").set_value(15).run()
    t.button(key="classroom_ft_start").click().run()
    mgr = jobs.manager()
    job_id = t.session_state["classroom_ft_job"]
    job = mgr.wait(job_id, 240, until=lambda j: j.runs[0].n_points > 0)
    assert job.state == jobs.RUNNING, job.error
    t.run()
    return t, code, mgr, job_id


def test_a_fine_tune_whose_process_dies_says_so_and_saves_nothing():
    t, code, mgr, job_id = _fine_tune_running()
    assert any("Fine-tuning: epoch" in p.proto.text for p in t.get("progress"))
    os.kill(mgr.get(job_id).pid, signal.SIGKILL)
    assert mgr.wait(job_id, 60).state == jobs.CRASHED
    t.run()
    assert any(e.value.startswith("The fine-tune did not finish: the training process ended")
               for e in t.error)
    assert not list(checkpoints.user_dir().glob(f"class-{code}-*.pt"))
    assert not t.button(key="classroom_ft_start").disabled  # she can start again


def test_the_teacher_stops_a_fine_tune_and_nothing_is_saved():
    t, code, mgr, job_id = _fine_tune_running()
    t.button(key="classroom_ft_stop").click().run()  # what the teacher clicks
    job = mgr.wait(job_id, 120)
    assert job.state == jobs.STOPPED, job.state
    t.run()
    assert not t.exception and not t.error
    assert any("stopped" in i.value.lower() for i in t.info)
    assert not list(checkpoints.user_dir().glob(f"class-{code}-*.pt"))
    assert not t.button(key="classroom_ft_start").disabled
