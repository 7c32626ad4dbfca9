"""Convolution lab: the arithmetic of one conv layer, step by step, then on real images.

The grids and their output are always shown; the sections below them are tabs, and only the
open tab runs (``on_change="rerun"``): a class that follows the teacher to a step opens one
section, not the whole page. The open tab is part of the page's link.
"""
import streamlit as st

from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters
from ui import convolution as view
from ui import course as course_view
from ui.common import show_code, tab_sections, tr
from ui.links import bind

bind("convolution")
PAGE = "convolution"
PRESETS = filters.CONV_PRESETS

if "convolution_input" not in st.session_state:
    view.apply_preset(PAGE, PRESETS["example_a"])


def _on_preset():
    view.apply_preset(PAGE, PRESETS[st.session_state["convolution_preset"]])


st.title(tr("convolution.title"))
st.markdown(tr("convolution.intro"))

labels = {p: tr(f"convolution.preset_{p}") for p in PRESETS}
st.selectbox(tr("convolution.preset"), list(PRESETS), key="convolution_preset",
             format_func=labels.get, on_change=_on_preset)
c_in, c_k, c_set = st.columns([3, 2, 2])
c_in.text_area(tr("convolution.input_label"), key="convolution_input", height=230,
               help=tr("convolution.grid_help"))
c_k.text_area(tr("convolution.kernel_label"), key="convolution_kernel", height=140,
              help=tr("convolution.grid_help"))
c_k.number_input(tr("convolution.bias"), key="convolution_bias", step=1.0, format="%g")
c_set.slider(tr("convolution.stride"), 1, 4, key="convolution_stride")
c_set.slider(tr("convolution.padding"), 0, 3, key="convolution_padding")
c_set.slider(tr("convolution.dilation"), 1, 3, key="convolution_dilation")

x = view.read_grid("convolution_input", PAGE, tr("convolution.input"))
k = view.read_grid("convolution_kernel", PAGE, tr("convolution.kernel"), max_size=5)
res = None
if x is not None and k is not None:
    try:
        res = ops.conv2d(x, k, st.session_state["convolution_bias"],
                         st.session_state["convolution_stride"],
                         st.session_state["convolution_padding"],
                         st.session_state["convolution_dilation"])
    except ops.OpsError as e:
        view.show_error(e, PAGE)

if res is not None:
    view.size_lines(res, PAGE)
    g_in, g_k, g_out = st.columns([3, 2, 3])
    in_title = tr("convolution.padded_input" if res.padding else "convolution.input")
    g_in.plotly_chart(view.grid(res.padded[0], in_title,
                                     pad=res.padding, width=330),
                      config=view.PLOT, key="convolution_in_fig")
    g_k.plotly_chart(view.grid(k, tr("convolution.kernel"), width=160),
                     config=view.PLOT, key="convolution_k_fig")
    g_out.plotly_chart(view.grid(res.output, tr("convolution.output"), width=330),
                       config=view.PLOT, key="convolution_out_fig")


def _needs_grids(section):
    def render():
        if res is None:
            st.info(tr("convolution.tab_needs_grids"))
        else:
            section()
    return render


def _step():
    st.header(tr("convolution.step_title"))
    view.step_through(res, PAGE)


def _stack():
    st.header(tr("convolution.stack_title"))
    st.markdown(tr("convolution.stack_intro"))
    view.stacking(x, k, st.session_state["convolution_bias"])


def _filters():
    st.header(tr("convolution.filters_title"))
    st.markdown(tr("convolution.filters_intro"))
    view.real_filters(k)


def _channels():
    st.header(tr("convolution.ch_title"))
    st.markdown(tr("convolution.ch_intro"))
    view.channels()
    course_view.weight_sharing()


def _why():
    st.header(tr("convolution.why_title"))
    st.markdown(tr("convolution.why_intro"))
    view.why_conv()
    course_view.tilted_x()
    course_view.history()


SECTIONS = [("step", _needs_grids(_step)), ("stack", _needs_grids(_stack)), ("filters", _filters),
            ("channels", _channels), ("why", _why)]
# Each tab's widgets, kept while another tab is open.
KEEP = {"step": ("convolution_step",), "stack": ("convolution_stack_keep",),
        "filters": ("convolution_img_src", "convolution_img_index"),
        "channels": ("convolution_ch_n", *(f"convolution_ws_w{k}" for k in range(4)))}
tab_sections(PAGE, SECTIONS, keep=KEEP)

show_code(ops.conv2d)
