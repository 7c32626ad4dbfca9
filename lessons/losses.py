"""Loss lab: softmax, entropy, cross-entropy vs MSE vs L1, and the losses of the real model."""
import streamlit as st

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

tabs = st.tabs([tr(f"losses.tab.{t}") for t in ("softmax", "compare", "grad", "entropy", "model")],
               key="losses.tab")
with tabs[0]:
    logits = V.render_softmax(temp, k)
with tabs[1]:
    V.render_comparison(logits, temp, k, unit)
with tabs[2]:
    V.render_gradients(logits, temp, k)
with tabs[3]:
    V.render_entropy(unit)
with tabs[4]:
    V.render_model(unit)
