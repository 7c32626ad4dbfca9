"""Classroom mode in the app: teacher and students, following, locks and the lesson strip.

app.py calls `prepare()` before the sidebar and `page_open(nav)` before the page. The class's
state lives in the shared SQLite store (cnndemo.classroom.store), so students on another
server process follow too. A student's follow loop is a fragment that polls the store every
second and moves the whole page (st.switch_page with the step's link) when the teacher moves.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from pathlib import Path

import streamlit as st

from cnndemo.classroom import lesson as lesson_file
from cnndemo.classroom import links as L
from cnndemo.classroom import pages as P
from cnndemo.classroom import results
from cnndemo.classroom import store as S
from cnndemo.core import checkpoints
from ui import links
from ui.common import lang, tr

CODE, ROLE, MEMBER, NAME = "classroom_code", "classroom_role", "classroom_member", "classroom_name"
FOLLOW, SEQ, TEACHER_OK = "classroom_follow", "classroom_seq", "classroom_teacher_ok"
LOCKS = ("training", "model")
KEEP = ("lang", "model_path", FOLLOW)
POLL_S = 1.0
HEARTBEAT_S = 4.0


@st.cache_resource(show_spinner=False)
def _store(path: str) -> S.Store:
    return S.Store(path)


def store() -> S.Store:
    return _store(str(S.default_path()))


@st.cache_resource(show_spinner=False, max_entries=4)
def _steps(path: str, mtime: float) -> list[lesson_file.Step]:
    return lesson_file.load(path)


def steps() -> list[lesson_file.Step]:
    p = Path(os.environ.get("CNNDEMO_LESSON_FILE", lesson_file.DEFAULT_PATH))
    return _steps(str(p), p.stat().st_mtime if p.exists() else 0.0)


def page_file(page: str) -> str:
    return "lessons/teacher.py" if page == "class" else f"lessons/{page}.py"


# ------------------------------------------------------------------------------- who is who
def teacher_key() -> str:
    """The key set when the server started; '' means nobody can be a teacher."""
    key = os.environ.get("CNNDEMO_TEACHER_KEY", "")
    if key:
        return key
    # Streamlit looks for the secrets file again, under a lock, on every read while there is
    # none, and every student's rerun asks: look only when one of its files exists.
    if not any(os.path.exists(p) for p in st.get_option("secrets.files")):
        return ""
    try:
        return str(st.secrets.get("teacher_key", "") or "")
    except Exception:  # an unreadable secrets file: nobody is a teacher
        return ""


def check_key(given: str) -> bool:
    expected = teacher_key()
    return bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_OK))


def current() -> S.Lesson | None:
    return store().lesson(st.session_state.get(CODE))


def _forget() -> None:
    for key in (CODE, ROLE, SEQ, FOLLOW, "_classroom_locks"):
        st.session_state.pop(key, None)


# ------------------------------------------------------------------------------- app hooks
def prepare() -> None:
    """Before the sidebar: notice an ended lesson, pin the model when the teacher locked it."""
    ss = st.session_state
    ss.setdefault(MEMBER, uuid.uuid4().hex)
    ss.update(ss.pop("_classroom_keep", {}))
    les = current()
    if ss.get(CODE) and les is None:
        _forget()
        ss["_classroom_ended"] = True
    locked = les is not None and ss.get(ROLE) == "student" and "model" in les.locks
    ss["classroom_model_locked"] = locked
    if locked:
        ss["model_path"] = str(class_model(les))


def class_model(les: S.Lesson) -> Path:
    """The model the teacher chose for the class (a fine-tuned one), while it is there;
    otherwise the shipped digits model."""
    if les.model and Path(les.model).is_file():
        return Path(les.model)
    return checkpoints.shipped_path("mnist")


def page_open(nav) -> bool:
    """The sidebar's class panel, the follow loop and the lesson strip; False for a locked page."""
    page = nav.url_path or "home"
    with st.sidebar:
        sidebar_panel(page)
    if st.session_state.pop("_classroom_ended", False):
        st.info(tr("classroom.ended"))
    les = current()
    if les is None:
        return True
    try:
        path = steps()
    except lesson_file.LessonFileError as e:
        st.error(tr("classroom.bad_lesson_file", reason=str(e)))
        return True
    strip(les, path)
    if (st.session_state.get(ROLE) == "student" and "training" in les.locks
            and page == "training" and path[les.step].page != "training"):
        st.info(tr("classroom.locked_training"), icon=":material/lock:")
        return False
    return True


# ------------------------------------------------------------------------------- moving
def go(page: str, state: str) -> None:
    """Open `page` in exactly the state `state` (a link query)."""
    ss = st.session_state
    query = L.parse_query(state)
    ss.setdefault(links.PENDING, {})[page] = query
    # a server-side page switch drops the values the browser sent for the sidebar's widgets
    # (language, model, follow); keep them and give them back in prepare()
    ss["_classroom_keep"] = {k: ss[k] for k in KEEP if k in ss}
    st.switch_page(page_file(page), query_params=query)


def move_class(step: int, follow_myself: bool = True) -> None:
    les = current()
    path = steps()
    step = max(0, min(step, len(path) - 1))
    les = store().set_step(les.code, step, path[step].page, path[step].state)
    if follow_myself:
        go(path[step].page, path[step].state)


def strip(les: S.Lesson, path: list) -> None:
    """Where the lesson is: progress, the step's title and what to say; teacher: prev/next."""
    n, i = len(path), min(les.step, len(path) - 1)
    s = path[i]
    with st.container(border=True, key="classroom_strip"):
        if is_teacher():
            c_prev, c_mid, c_next = st.columns([1, 6, 1], vertical_alignment="center")
            if c_prev.button(tr("classroom.prev"), key="classroom_prev", disabled=i == 0,
                             icon=":material/arrow_back:", width="stretch"):
                move_class(i - 1)
            if c_next.button(tr("classroom.next"), key="classroom_next", disabled=i >= n - 1,
                             icon=":material/arrow_forward:", type="primary", width="stretch"):
                move_class(i + 1)
        else:
            c_mid = st.container()
        c_mid.progress((i + 1) / n, text=tr("classroom.step_of", n=i + 1, total=n,
                                           title=s.text("title", lang())))
        c_mid.caption(s.text("say", lang()))


# ------------------------------------------------------------------------------- sidebar
def sidebar_panel(page: str) -> None:
    ss = st.session_state
    les = current()
    with st.expander(tr("classroom.title"), expanded=les is not None, icon=":material/groups:"):
        if les is None:
            join_form("side")
            teacher_form("side")
            return
        st.markdown(tr("classroom.code_is", code=les.code))
        if ss.get(ROLE) == "student":
            st.text(tr("classroom.you_are", name=ss.get(NAME, "")))
            st.toggle(tr("classroom.follow"), key=FOLLOW, on_change=_on_follow)
            follow_loop()
            if st.button(tr("classroom.leave"), key="classroom_leave", icon=":material/logout:"):
                store().leave(les.code, ss[MEMBER])
                _forget()
                st.rerun()
        else:
            st.page_link(page_file("class"), label=tr("classroom.panel_link"),
                         icon=":material/co_present:")
            if page not in ("class",) and st.button(tr("classroom.bring_here"),
                                                    key="classroom_bring",
                                                    help=tr("classroom.bring_help")):
                state = L.to_query(links.query_for(page)) if page in P.SPECS else ""
                store().set_step(les.code, les.step, page, state)
                st.toast(tr("classroom.brought"))


def _on_follow() -> None:
    if st.session_state.get(FOLLOW):
        st.session_state[SEQ] = None  # rejoin: jump to where the class is now


@st.fragment(run_every=POLL_S)
def follow_loop() -> None:
    """Every second: still here (heartbeat), and where is the class? Move there if following."""
    ss = st.session_state
    les = current()
    if les is None:
        st.rerun(scope="app")
    now = time.time()
    if now - ss.get("_classroom_hb", 0.0) > HEARTBEAT_S:
        store().heartbeat(les.code, ss[MEMBER])
        ss["_classroom_hb"] = now
    locks_changed = ss.get("_classroom_locks") not in (None, (les.locks, les.model))
    ss["_classroom_locks"] = (les.locks, les.model)
    if ss.get(FOLLOW) and ss.get(SEQ) != les.seq:
        ss[SEQ] = les.seq
        go(les.page, les.state)
    if locks_changed:
        st.rerun(scope="app")
    st.caption(tr("classroom.following" if ss.get(FOLLOW) else "classroom.exploring",
                  n=les.step + 1))


JOIN = "join"  # /class?join=CODE: the class's link, code filled in


def join_link(code: str) -> str:
    return f"{links.app_base()}/class?{JOIN}={code}"


def join_form(where: str) -> None:
    ss = st.session_state
    code_key = f"classroom_code_in_{where}"
    given = S.clean_code(st.query_params.get(JOIN, ""))
    if given and code_key not in ss:
        ss[code_key] = given
    with st.form(f"classroom_join_{where}", border=False):
        code = st.text_input(tr("classroom.code"), key=code_key,
                             max_chars=8, placeholder="ABC23")
        name = st.text_input(tr("classroom.name"), key=f"classroom_name_in_{where}",
                             max_chars=S.NAME_MAX, help=tr("classroom.name_help"))
        joined = st.form_submit_button(tr("classroom.join"), icon=":material/login:")
    if joined and is_teacher():  # a teacher back after a reload takes the lesson again
        if store().lesson(code) is None:
            st.error(tr("classroom.no_such_code"))
            return
        ss.update({CODE: code.strip().upper(), ROLE: "teacher"})
        st.rerun()
    if joined:
        try:
            m = store().join(code, ss[MEMBER], name)
        except S.StoreError:
            st.error(tr("classroom.no_such_code"))
            return
        ss.update({CODE: code.strip().upper(), ROLE: "student", NAME: m.name, FOLLOW: True,
                   SEQ: None})
        st.rerun()


def teacher_form(where: str) -> None:
    if is_teacher():
        st.page_link(page_file("class"), label=tr("classroom.start_link"),
                     icon=":material/co_present:")
        return
    if not teacher_key():
        st.caption(tr("classroom.no_teacher_key"))
        return
    with st.form(f"classroom_teacher_{where}", border=False):
        key = st.text_input(tr("classroom.teacher_key"), type="password",
                            key=f"classroom_key_in_{where}")
        ok = st.form_submit_button(tr("classroom.unlock"), icon=":material/key:")
    if ok:
        if check_key(key):
            st.session_state[TEACHER_OK] = True
            st.session_state.pop(f"classroom_key_in_{where}", None)
            st.rerun()
        else:
            st.error(tr("classroom.wrong_key"))


# ------------------------------------------------------------------------------- drawings
def share_drawing(image, prediction) -> None:
    """On the Draw page during a lesson: say what you drew (confirm or correct) and send it."""
    ss = st.session_state
    les = current()
    if les is None or image is None:
        return
    data = results.to_bytes(image)
    digest = hashlib.sha1(data).hexdigest()[:12]
    sent = ss.setdefault("_classroom_sent", {})
    label = st.selectbox(tr("classroom.i_drew"), range(10), index=int(prediction.top),
                         key=f"classroom_label_{digest}", help=tr("classroom.i_drew_help"))
    if digest in sent:
        if sent[digest][1] != label:
            store().set_label(les.code, sent[digest][0], ss[MEMBER], int(label))
            sent[digest] = (sent[digest][0], label)
        st.caption(tr("classroom.sent", label=label))
    elif st.button(tr("classroom.send"), key=f"classroom_send_{digest}", type="primary",
                   icon=":material/send:"):
        try:
            did = store().add_drawing(les.code, ss[MEMBER], ss.get(NAME) or tr("classroom.teacher"),
                                      data, int(prediction.top), int(label))
        except S.StoreError:
            st.error(tr("classroom.ended"))
            return
        sent[digest] = (did, label)
        st.caption(tr("classroom.sent", label=label))
