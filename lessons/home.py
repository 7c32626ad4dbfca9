"""Home: what the app is and where each lesson lives."""
import streamlit as st

from ui.common import tr
from ui.pages import LESSONS

st.title(tr("home.title"))
st.markdown(tr("home.intro"))
cols = st.columns(2)
for i, (path, name, icon) in enumerate(LESSONS):
    with cols[i % 2].container(border=True):
        st.page_link(path, label=tr(f"nav.{name}"), icon=icon)
        st.caption(tr(f"home.{name}"))
st.info(tr("home.teacher"))
