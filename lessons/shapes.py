"""Layer shape explorer: build a network, see every shape, parameter count and formula."""
import streamlit as st

from cnndemo.core import arch
from cnndemo.lessons import shapes
from ui import course as course_view
from ui import shapes as V
from ui.common import show_code, tr
from ui.links import bind

bind("shapes")
st.title(tr("shapes.title"))
st.caption(tr("shapes.intro"))
V.init_state()

top = st.columns([2.4, 1, 1, 1, 1, 1], vertical_alignment="bottom")
top[0].selectbox(tr("shapes.preset"), ["empty", *arch.PRESETS], key="shapes.preset",
                 format_func=lambda k: tr(f"shapes.preset.{k}"), on_change=V.load_preset)
vector = top[1].toggle(tr("shapes.vector"), key="shapes.vector")
if vector:
    top[2].number_input(tr("shapes.in_n"), min_value=1, step=1, key="shapes.in_n")
else:
    top[2].number_input(tr("shapes.in_c"), min_value=1, max_value=4096, step=1, key="shapes.in_c")
    top[3].number_input(tr("shapes.in_h"), min_value=1, max_value=4096, step=1, key="shapes.in_h")
    top[4].number_input(tr("shapes.in_w"), min_value=1, max_value=4096, step=1, key="shapes.in_w")
batch = top[5].number_input(tr("shapes.batch"), min_value=1, max_value=100_000, step=1,
                            key="shapes.batch")

V.sync_from_widgets()
V.save_inputs()
report = shapes.explain(V.layer_dicts(), V.input_shape(), batch)
with st.expander(tr("shapes.layers", n=len(st.session_state[V.SPEC])), expanded=True):
    if not st.session_state[V.SPEC]:
        st.info(tr("shapes.empty"))
    V.editor_rows(report.error)
    add = st.columns([1.5, 1, 4.5], vertical_alignment="bottom")
    add[0].selectbox(tr("shapes.add_type"), shapes.EDITABLE_TYPES, key="shapes.add_type")
    add[1].button(tr("shapes.add"), key="shapes.add", on_click=V.add_layer)

V.render_error(report)
V.render_table(report)
V.render_totals(report)
st.caption(tr("shapes.totals_caption", batch=batch))
show_code(shapes.receptive_fields, "shapes.rf_code")



def _tab_3d():
    if len(report.input_shape) == 3:
        st.plotly_chart(V.volumes_figure(report.rows, report.input_shape), key="shapes.3d",
                        width="stretch")
        st.caption(tr("shapes.3d_caption"))
    else:
        st.info(tr("shapes.3d_vector"))
    course_view.layer_pattern(report.layers)


def _tab_code():
    st.caption(tr("shapes.code_caption"))
    st.code(shapes.pytorch_source(report.layers, report.input_shape), language="python")


def _tab_exercises():
    st.caption(tr("shapes.ex.intro"))
    V.render_exercises()


def _tab_train():
    st.caption(tr("shapes.train_caption"))
    V.render_handoff(report)


# only the open tab runs (on_change="rerun")
SECTIONS = {"3d": _tab_3d, "code": _tab_code, "exercises": _tab_exercises, "train": _tab_train}
for tab, name in zip(st.tabs(V.tab_labels(), key=V.TAB, on_change="rerun"), V.TABS):
    if tab.open is not False:
        with tab:
            SECTIONS[name]()
