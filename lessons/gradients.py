"""Gradients lab: how a network learns, on real PyTorch autograd and torch.optim.

Six tabs; only the open tab runs (``on_change="rerun"``), so each rerun computes one section.
"""
import streamlit as st

from ui import gradients as V
from ui.common import tab_sections, tr
from ui.links import bind

bind("gradients")
SECTIONS = [
    ("autograd", V.autograd_tab),
    ("regression", V.regression_tab),
    ("perceptron", V.perceptron_tab),
    ("activations", V.activations_tab),
    ("vanishing", V.vanishing_tab),
    ("optimizers", V.optimizers_tab),
]

st.title(tr("gradients.title"))
st.markdown(tr("gradients.intro"))

tab_sections("gradients", SECTIONS, keep=V.TAB_KEYS)
