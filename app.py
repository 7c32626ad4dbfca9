"""cnndemo: the classroom app. Run with `streamlit run app.py`."""
import streamlit as st

from ui import classroom
from ui.common import sidebar, tr
from ui.pages import PAGES

st.set_page_config(page_title="cnndemo", page_icon=":material/psychology:", layout="wide")

nav = st.navigation([
    st.Page(path, title=tr(f"nav.{name}"), icon=icon, url_path=None if name == "home" else name,
            default=name == "home")
    for path, name, icon in PAGES
])
classroom.prepare()
sidebar()
if classroom.page_open(nav):
    nav.run()
