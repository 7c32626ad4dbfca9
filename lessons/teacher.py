"""The class panel: the teacher starts a lesson, moves the class, locks parts of the app and
sees the class live; a student joins here (or in the sidebar)."""
import streamlit as st

from ui import classroom as C
from ui import classroom_finetune as FT
from ui import classroom_panel as V
from ui.common import tr

st.title(tr("classroom.page_title"))
les = C.current()
if not C.is_teacher():
    st.markdown(tr("classroom.student_intro"))
    if les is None:
        C.join_form("page")
        st.divider()
        C.teacher_form("page")
    else:
        st.success(tr("classroom.joined", code=les.code))
    st.stop()

if les is None:
    V.start_form()
    st.divider()
    st.caption(tr("classroom.resume"))
    C.join_form("resume")
    st.stop()

V.header(les)
st.divider()
V.live(les.code)
st.divider()
FT.section(les)
st.divider()
V.footer(les)
