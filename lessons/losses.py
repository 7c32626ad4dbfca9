"""Loss lab: softmax, entropy, cross-entropy vs MSE vs L1, and the losses of the real model.

Five tabs; only the open tab runs (``on_change="rerun"``), and the open tab is part of the
page's link (``losses_tab``), so a link opens the tab it names.
"""
import streamlit as st

from cnndemo.classroom.pages import LOSS_TABS
from cnndemo.lessons import losses as L
from ui import losses as V
from ui.common import tr
from ui.links import bind

bind("losses")
st.title(tr("losses.title"))
st.markdown(tr("losses.intro"))
V.init_state()

c1, c2, c3, c4 = st.columns([2, 1, 2, 1.4])
c1.selectbox(tr("losses.preset"), list(L.LOGIT_PRESETS), key="losses_preset",
             format_func=lambda k: tr(f"losses.preset.{k}"), on_change=V.apply_preset)
k = c2.selectbox(tr("losses.true_class"), range(V.N_CLASSES), key="losses_true")
temp = c3.slider(tr("losses.temperature"), 0.1, 5.0, step=0.1, key="losses_temp")
unit = c4.radio(tr("losses.unit"), L.UNITS, key="losses_unit", horizontal=True,
                format_func=V.unit_label)

SECTIONS = {
    "softmax": lambda: V.render_softmax(temp, k),
    "compare": lambda: V.render_comparison(V.logits(), temp, k, unit),
    "grad": lambda: V.render_gradients(V.logits(), temp, k),
    "entropy": lambda: V.render_entropy(unit),
    "model": lambda: V.render_model(unit),
}
tabs = st.tabs([V.tab_label(t) for t in LOSS_TABS], key=V.TAB, on_change="rerun")
for tab, name in zip(tabs, LOSS_TABS):
    if tab.open is not False:
        with tab:
            SECTIONS[name]()
