"""cnndemo: the classroom app. Run with `streamlit run app.py`."""
from pathlib import Path

import streamlit as st

from ui.common import sidebar, tr

st.set_page_config(page_title="cnndemo", page_icon=":material/psychology:", layout="wide")

PAGES = [
    ("pages/home.py", "home", ":material/home:"),
    ("pages/draw.py", "draw", ":material/draw:"),
    ("pages/convolution.py", "convolution", ":material/grid_on:"),
    ("pages/pooling.py", "pooling", ":material/view_in_ar:"),
    ("pages/shapes.py", "shapes", ":material/straighten:"),
    ("pages/losses.py", "losses", ":material/trending_down:"),
    ("pages/gradients.py", "gradients", ":material/landscape:"),
    ("pages/training.py", "training", ":material/model_training:"),
]

nav = st.navigation([
    st.Page(path, title=tr(f"nav.{name}"), icon=icon, url_path=None if name == "home" else name,
            default=name == "home")
    for path, name, icon in PAGES if Path(path).exists()
])
sidebar()
nav.run()
