"""cnndemo: the classroom app. Run with `streamlit run app.py`."""
import streamlit as st

from ui import classroom
from ui.common import sidebar, tr

st.set_page_config(page_title="cnndemo", page_icon=":material/psychology:", layout="wide")

PAGES = [
    ("lessons/home.py", "home", ":material/home:"),
    ("lessons/draw.py", "draw", ":material/draw:"),
    ("lessons/convolution.py", "convolution", ":material/grid_on:"),
    ("lessons/pooling.py", "pooling", ":material/view_in_ar:"),
    ("lessons/shapes.py", "shapes", ":material/straighten:"),
    ("lessons/losses.py", "losses", ":material/trending_down:"),
    ("lessons/gradients.py", "gradients", ":material/landscape:"),
    ("lessons/training.py", "training", ":material/model_training:"),
    ("lessons/teacher.py", "class", ":material/co_present:"),
]

nav = st.navigation([
    st.Page(path, title=tr(f"nav.{name}"), icon=icon, url_path=None if name == "home" else name,
            default=name == "home")
    for path, name, icon in PAGES
])
classroom.prepare()
sidebar()
if classroom.page_open(nav):
    nav.run()
