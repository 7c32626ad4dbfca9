"""cnndemo: the classroom app. Run with `streamlit run app.py`."""
from pathlib import Path

import streamlit as st

from ui.common import sidebar, tr

st.set_page_config(page_title="cnndemo", page_icon="🧠", layout="wide")

PAGES = [
    ("pages/home.py", "home", "🏠"),
    ("pages/draw.py", "draw", "✏️"),
    ("pages/convolution.py", "convolution", "🔲"),
    ("pages/pooling.py", "pooling", "🧊"),
    ("pages/shapes.py", "shapes", "📐"),
    ("pages/losses.py", "losses", "📉"),
    ("pages/gradients.py", "gradients", "⛰️"),
    ("pages/training.py", "training", "🏋️"),
]

nav = st.navigation([
    st.Page(path, title=tr(f"nav.{name}"), icon=icon, url_path=None if name == "home" else name,
            default=name == "home")
    for path, name, icon in PAGES if Path(path).exists()
])
sidebar()
nav.run()
