"""Pooling lab: max vs average pooling on a grid and on a real feature map, and the 3-D view.

The grid is always shown; the sections below it are tabs, and only the open tab runs
(``on_change="rerun"``). The open tab is part of the page's link.
"""
import streamlit as st

from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters
from ui import convolution as conv_view
from ui import course as course_view
from ui import pooling as view
from ui.common import show_code, tab_sections, tr
from ui.links import bind

bind("pooling")
PAGE = "pooling"
PRESETS = filters.POOL_PRESETS
DEFAULTS = {"pooling_input": PRESETS["four"], "pooling_kernel": 2, "pooling_stride": 2,
            "pooling_padding": 0, "pooling_ceil": False}
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)


def _on_preset():
    st.session_state["pooling_input"] = PRESETS[st.session_state["pooling_preset"]]


st.title(tr("pooling.title"))
st.markdown(tr("pooling.intro"))

labels = {p: tr(f"pooling.preset_{p}") for p in PRESETS}
st.selectbox(tr("pooling.preset"), list(PRESETS), key="pooling_preset",
             format_func=labels.get, on_change=_on_preset)
c_in, c_set = st.columns([3, 2])
c_in.text_area(tr("pooling.input_label"), key="pooling_input", height=200,
               help=tr("pooling.grid_help"))
c_set.slider(tr("pooling.kernel"), 1, 4, key="pooling_kernel")
c_set.slider(tr("pooling.stride"), 1, 4, key="pooling_stride")
c_set.slider(tr("pooling.padding"), 0, 2, key="pooling_padding")
c_set.checkbox(tr("pooling.ceil"), key="pooling_ceil", help=tr("pooling.ceil_help"))

cfg = view.settings()
x = conv_view.read_grid("pooling_input", PAGE, tr("pooling.input"))
both = view.pool_both(x, cfg) if x is not None else None
if both is not None:
    mx, av = both
    conv_view.size_lines(mx, PAGE)
    n = len(mx.steps)
    st.session_state["pooling_step"] = min(st.session_state.get("pooling_step", 0), n - 1)
    step = st.slider(tr("pooling.step"), 0, n - 1, key="pooling_step") if n > 1 else 0
    view.side_by_side(mx, av, step)


def _real():
    st.header(tr("pooling.real_title"))
    st.markdown(tr("pooling.real_intro"))
    view.real_map(cfg)


def _volume():
    st.header(tr("pooling.volume_title"))
    st.markdown(tr("pooling.volume_intro"))
    view.volumes()
    course_view.volume_reading()


SECTIONS = [("real", _real), ("volume", _volume)]
tab_sections(PAGE, SECTIONS, keep={"real": ("pooling_channel", "pooling_img_src", "pooling_img_index")})

show_code(ops.pool2d)
