"""The teacher's class panel: start and end a lesson, steps, locks, and the live class view."""
from __future__ import annotations

import streamlit as st

from cnndemo.classroom import links as L
from cnndemo.classroom import results
from cnndemo.classroom import store as S
from cnndemo.figures.training import confusion_figure
from ui import classroom as C
from ui.common import lang, tr

GALLERY = 24


def start_form() -> None:
    st.markdown(tr("classroom.start_intro"))
    locks = [k for k in C.LOCKS if st.checkbox(tr(f"classroom.lock.{k}"), value=True,
                                                key=f"classroom_start_lock_{k}")]
    if st.button(tr("classroom.start"), key="classroom_start", type="primary",
                 icon=":material/play_arrow:"):
        first = C.steps()[0]
        try:
            les = C.store().start_lesson(first.page, first.state, 0, locks)
        except S.StoreError as e:
            st.error(str(e))
            return
        st.session_state.update({C.CODE: les.code, C.ROLE: "teacher"})
        st.rerun()


@st.cache_resource(show_spinner=False, max_entries=16)
def _qr(link: str) -> bytes:
    return L.qr_png(link)


def header(les: S.Lesson) -> None:
    left, right = st.columns([1, 2])
    left.markdown(tr("classroom.big_code", code=les.code))
    left.caption(tr("classroom.code_help"))
    link = C.join_link(les.code)
    left.image(_qr(link), width=180)
    left.caption(tr("classroom.join_link_help"))
    left.code(link, language=None, wrap_lines=True)
    path = C.steps()
    with right:
        labels = [f"{i + 1}. {s.text('title', lang())}" for i, s in enumerate(path)]
        pick = st.selectbox(tr("classroom.jump"), range(len(path)), index=min(les.step, len(path) - 1),
                            format_func=labels.__getitem__, key=f"classroom_jump_{les.seq}")
        b1, b2 = st.columns(2)
        if b1.button(tr("classroom.move_here"), key="classroom_move_stay",
                     help=tr("classroom.move_here_help"), disabled=pick == les.step):
            C.move_class(pick, follow_myself=False)
            st.rerun()
        if b2.button(tr("classroom.go_there"), key="classroom_move_go", type="primary"):
            C.move_class(pick)
        locks = {k for k in C.LOCKS if st.toggle(tr(f"classroom.lock.{k}"), value=k in les.locks,
                                                  key=f"classroom_lock_{k}")}
        if locks != set(les.locks):
            C.store().set_locks(les.code, locks)
            st.rerun()


@st.fragment(run_every=2.0)
def live(code: str) -> None:
    store = C.store()
    les = store.lesson(code)
    if les is None:
        st.rerun(scope="app")
    members = store.members(code)
    drawings = store.drawings(code)
    cm, right, n = results.confusion(drawings)
    c = st.columns(3)
    c[0].metric(tr("classroom.connected"), len(members))
    c[1].metric(tr("classroom.drawings"), len(drawings))
    c[2].metric(tr("classroom.class_acc"), f"{right / n:.0%}" if n else "–",
                help=tr("classroom.class_acc_help", n=n))
    if members:
        with st.expander(tr("classroom.who", n=len(members))):
            st.dataframe({tr("classroom.col_name"): [m.name for m in members]},
                         hide_index=True, key="classroom_members")
    st.subheader(tr("classroom.gallery"))
    if not drawings:
        st.info(tr("classroom.gallery_empty"))
    cols = st.columns(8)
    for i, d in enumerate(drawings[:GALLERY]):
        with cols[i % 8]:
            st.image(results.png(d.image, scale=3), width=84)
            st.text(d.name)  # plain text, never markdown or HTML
            st.text(tr("classroom.read_as", pred=d.pred, label="?" if d.label is None else d.label))
    if n:
        st.subheader(tr("classroom.cm_title"))
        st.caption(tr("classroom.cm_caption", n=n, right=right))
        labels = {"pred": tr("classroom.cm_pred"), "true": tr("classroom.cm_true"),
                  "hover": tr("classroom.cm_hover")}
        st.plotly_chart(confusion_figure(cm, list(range(10)), labels), key="classroom_cm")


def footer(les: S.Lesson) -> None:
    drawings = C.store().drawings(les.code)
    c1, c2 = st.columns(2)
    c1.download_button(tr("classroom.export"), results.export_zip(drawings) if drawings else b"",
                       file_name=f"class-{les.code}.zip", mime="application/zip",
                       key="classroom_export", disabled=not drawings, icon=":material/download:")
    if c2.button(tr("classroom.end"), key="classroom_end", icon=":material/stop_circle:",
                 help=tr("classroom.end_help")):
        C.store().end_lesson(les.code)
        for key in (C.CODE, C.ROLE):
            st.session_state.pop(key, None)
        st.rerun()
