"""Home: what the app is and where each lesson lives."""
import streamlit as st

from ui.common import tr

LESSONS = [("draw", ":material/draw:"), ("convolution", ":material/grid_on:"),
           ("pooling", ":material/view_in_ar:"), ("shapes", ":material/straighten:"),
           ("losses", ":material/trending_down:"), ("gradients", ":material/landscape:"),
           ("training", ":material/model_training:"), ("explain", ":material/lightbulb:")]

st.title(tr("home.title"))
st.markdown(tr("home.intro"))
cols = st.columns(2)
for i, (name, icon) in enumerate(LESSONS):
    with cols[i % 2].container(border=True):
        st.page_link(f"lessons/{name}.py", label=tr(f"nav.{name}"), icon=icon)
        st.caption(tr(f"home.{name}"))
st.info(tr("home.teacher"))
