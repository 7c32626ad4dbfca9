"""Classroom mode through the real app (AppTest): teacher, students, following, locks, steps."""
import os
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnndemo import i18n
from cnndemo.classroom import lesson, links, pages, store

APP = str(Path(__file__).resolve().parents[2] / "app.py")
KEY = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _class_env(monkeypatch):
    monkeypatch.setenv("CNNDEMO_RUNS_DIR", tempfile.mkdtemp(prefix="cnndemo-class-"))
    monkeypatch.setenv("CNNDEMO_TEACHER_KEY", KEY)


def _app(lang="en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = lang
    return at.run()


def _click(at, label):
    [b for b in at.button if b.label == label][0].click()
    return at.run()


def _teacher(locks=("training", "model")) -> AppTest:
    at = _app()
    at.switch_page("lessons/teacher.py").run()
    at.text_input(key="classroom_key_in_page").input(KEY)
    _click(at, "Unlock teacher mode")
    for k in ("training", "model"):
        at.checkbox(key=f"classroom_start_lock_{k}").set_value(k in locks)
    at.button(key="classroom_start").click().run()
    assert not at.exception
    return at


def _student(code, name="") -> AppTest:
    at = _app()
    at.sidebar.text_input(key="classroom_code_in_side").input(code.lower())
    at.sidebar.text_input(key="classroom_name_in_side").input(name)
    _click(at, "Join the class")
    assert not at.exception
    return at


def test_teacher_mode_needs_the_right_key(monkeypatch):
    at = _app()
    at.switch_page("lessons/teacher.py").run()
    at.text_input(key="classroom_key_in_page").input("wrong")
    _click(at, "Unlock teacher mode")
    assert "That is not the teacher key." in [e.value for e in at.error]
    assert not at.session_state["classroom_teacher_ok"] if "classroom_teacher_ok" in \
        at.session_state else True
    assert "classroom_start" not in [b.key for b in at.button]
    monkeypatch.delenv("CNNDEMO_TEACHER_KEY")
    at = _app()
    at.switch_page("lessons/teacher.py").run()
    assert any("Teacher mode is off" in c.value for c in at.caption)
    assert "classroom_key_in_page" not in [t.key for t in at.text_input]


def test_students_follow_the_teacher_and_can_explore():
    t = _teacher()
    code = t.session_state["classroom_code"]
    a, b = _student(code, "Ji-woo"), _student(code)
    for s in (a, b):
        assert s.title[0].value == "Convolution, step by step"
        assert s.selectbox(key="convolution_preset").value == "example_b"
        assert "Step 1 of 12" in s.get("progress")[0].proto.text
    assert [m.name for m in store.Store().members(code)] == ["Ji-woo", "Student 2"]
    t.button(key="classroom_move_go").click().run()  # the jump selector is on step 1: go there
    _click(t, "Next")  # step 2: worked example A
    assert t.selectbox(key="convolution_preset").value == "example_a"
    b.toggle(key="classroom_follow").set_value(False).run()
    b.slider(key="convolution_stride").set_value(3).run()
    a.run()
    b.run()
    assert a.selectbox(key="convolution_preset").value == "example_a"
    assert a.slider(key="convolution_stride").value == 1
    assert "Step 2 of 12" in a.get("progress")[0].proto.text
    assert b.selectbox(key="convolution_preset").value == "example_b"  # stayed put
    assert b.slider(key="convolution_stride").value == 3
    b.toggle(key="classroom_follow").set_value(True).run()  # one click to rejoin
    b.run()
    assert b.selectbox(key="convolution_preset").value == "example_a"
    assert b.slider(key="convolution_stride").value == 1
    b.radio(key="lang").set_value("ko").run()
    _click(t, "Next")  # step 3: example B; the rejoined student follows, in Korean still
    b.run()
    assert b.selectbox(key="convolution_preset").value == "example_b"
    assert b.session_state["lang"] == "ko" and b.toggle(key="classroom_follow").value


def test_locks_hide_training_and_the_model_picker_until_the_training_step():
    t = _teacher()
    code = t.session_state["classroom_code"]
    s = _student(code)
    s.toggle(key="classroom_follow").set_value(False).run()
    s.switch_page("lessons/training.py").run()
    assert not s.exception
    assert any("locked training" in i.value for i in s.info)
    assert "training_start" not in [b.key for b in s.button]
    assert "model_path" not in [x.key for x in s.sidebar.selectbox]
    assert any("one model for the whole class" in c.value for c in s.sidebar.caption)
    steps = lesson.load()
    training_step = [i for i, st in enumerate(steps) if st.page == "training"][0]
    store.Store().set_step(code, training_step, "training", "")
    s.run()
    assert "training_start" in [b.key for b in s.button]
    t.toggle(key="classroom_lock_model").set_value(False).run()
    s.run()
    assert "model_path" in [x.key for x in s.sidebar.selectbox]


def test_a_sent_drawing_reaches_the_teachers_panel_with_its_label():
    t = _teacher(locks=())
    code = t.session_state["classroom_code"]
    s = _student(code, "<b>Min</b> **bold**")
    s.toggle(key="classroom_follow").set_value(False).run()
    s.switch_page("lessons/draw.py").run()
    s.button(key="draw_random").click().run()
    assert not s.exception
    drew = [x for x in s.selectbox if x.key.startswith("classroom_label_")][0]
    predicted = drew.value
    drew.set_value((predicted + 1) % 10).run()  # the student corrects the label
    [b for b in s.button if b.key.startswith("classroom_send_")][0].click().run()
    assert any("Sent to the class" in c.value for c in s.caption)
    got = store.Store().drawings(code)
    assert len(got) == 1 and got[0].label == (predicted + 1) % 10 and got[0].pred == predicted
    t.run()
    texts = [x.value for x in t.text]
    assert "<b>Min</b> **bold**" in texts  # plain text, exactly as typed
    assert f"read {predicted} · drew {(predicted + 1) % 10}" in texts
    assert any("0 of 1 labelled" in c.value or "of 1 labelled" in c.value for c in t.caption)
    assert t.get("plotly_chart")
    _click(t, "End the lesson")
    assert store.Store().lesson(code) is None and store.Store().drawings(code) == []
    s.run()
    assert any("The lesson has ended" in i.value for i in s.info)


def test_a_student_follows_through_every_step():
    t = _teacher(locks=())
    steps = lesson.load()
    code = t.session_state["classroom_code"]
    s = _student(code)
    for i, step in enumerate(steps):
        store.Store().set_step(code, i, step.page, step.state)
        s.run()
        assert not s.exception, (i, step.page, s.exception)
        assert not [w for w in s.warning if "link" in w.value.lower()]
        strip = s.get("progress")[0].proto.text
        assert strip == f"Step {i + 1} of 12: {step.text('title', 'en')}"
    assert os.environ["CNNDEMO_RUNS_DIR"] in str(store.default_path())


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("n", range(12))
def test_every_lesson_steps_link_opens_in_both_languages(lang, n):
    step = lesson.load()[n]
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = lang
    at.run()
    for k, v in links.parse_query(step.state).items():
        at.query_params[k] = v
    at.switch_page(f"lessons/{step.page}.py").run()
    assert not at.exception, at.exception
    assert not [w for w in at.warning if "link" in w.value.lower() or "링크" in w.value]
    assert at.title[0].value == i18n.t(f"{step.page}.title", lang)
    query = links.parse_query(step.state)
    values, _ = links.decode(pages.SPECS[step.page], query, pages.base_from_query(step.page, query))
    expected = links.encode(pages.SPECS[step.page], values, pages.base(step.page, values))
    # the training page also keeps this browser's own id in the address (so a reload finds its
    # job); it is not part of the lab's state, and the copied link leaves it out
    assert {k: at.query_params[k] for k in at.query_params if k != "owner"} == expected


def test_the_class_link_fills_in_the_code():
    t = _teacher()
    code = t.session_state["classroom_code"]
    assert any(c.value.endswith(f"/class?join={code}") for c in t.code)  # shown under the QR
    s = _app()
    s.query_params["join"] = code.lower()
    s.switch_page("lessons/teacher.py").run()
    assert s.text_input(key="classroom_code_in_page").value == code
    s.text_input(key="classroom_name_in_page").input("Ha-eun")
    _click(s, "Join the class")
    assert not s.exception
    assert s.session_state["classroom_code"] == code
    assert s.session_state["classroom_role"] == "student"
    assert s.session_state["classroom_name"] == "Ha-eun"


def test_a_tampered_class_link_fills_in_nothing_harmful():
    s = _app()
    s.query_params["join"] = "<script>0</script>"
    s.switch_page("lessons/teacher.py").run()
    assert not s.exception
    assert s.text_input(key="classroom_code_in_page").value == "SCRPT"
    _click(s, "Join the class")
    assert [e.value for e in s.error] == [
        "There is no running lesson with that code. Check it with your teacher."]
    assert "classroom_code" not in s.session_state
