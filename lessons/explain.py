"""Explain: why the network decided, whether the explanation is faithful, and how to fool it."""
import numpy as np
import streamlit as st

from cnndemo.lessons import explain as E
from cnndemo.lessons import explain_robust as R
from ui import explain as V
from ui.common import show_code, tr

st.title(tr("explain.title"))
st.markdown(tr("explain.intro"))
loaded, image, caption = V.choose_input()
classes, mk = loaded.classes, V.key_of(loaded)
raw = np.ascontiguousarray(image, np.float32).tobytes()
probs = V.predict(loaded, mk, raw)
predicted = int(probs.argmax())

c0, c1, c2, c3 = st.columns([1, 1.3, 1.3, 1.3])
c0.metric(tr("explain.predicted"), classes[predicted], f"{probs[predicted]:.1%}", delta_color="off",
          delta_arrow="off")
with c1:
    target = V.class_picker(loaded, predicted, "explain_target", "explain.target", "explain.target_predicted")
patch = c2.slider(tr("explain.patch"), 2, 10, 4, key="explain_patch")
baseline = c3.selectbox(tr("explain.baseline"), ("black", "blur"), key="explain_baseline",
                        format_func=lambda b: tr(f"explain.baseline_{b}"))
st.caption(tr("explain.model_caption", name=loaded.name))

st.header(tr("explain.s1"))
st.markdown(tr("explain.s1_intro"))
maps = V.maps(loaded, mk, raw, target, patch, baseline)
V.render_maps(image, maps, classes, caption)
V.render_baseline(maps)

st.header(tr("explain.s2"))
st.markdown(tr("explain.s2_intro"))
V.render_deletion(V.deletion(loaded, mk, raw, target, patch, baseline), classes, maps.target)

st.header(tr("explain.s3"))
st.markdown(tr("explain.s3_intro"))
a1, a2, a3 = st.columns([1, 1.4, 1.4])
norm = a1.radio(tr("explain.norm"), ("Linf", "L2"), key="explain_norm", horizontal=True,
                format_func=lambda n: "L∞" if n == "Linf" else "L2")
if norm == "Linf":
    radius = a2.slider(tr("explain.radius"), 0.02, 0.5, 0.2, 0.01, key="explain_radius_linf")
else:
    radius = a2.slider(tr("explain.radius"), 0.5, 6.0, 3.0, 0.25, key="explain_radius_l2")
with a3:
    goal = V.class_picker(loaded, predicted, "explain_goal", "explain.goal", None,
                          default=3 if predicted != 3 else 8)
cols = st.columns(3)
attacks = [(V.fgsm(loaded, mk, raw), tr("explain.fgsm_title")),
           (V.pgd(loaded, mk, raw, None, norm, radius), tr("explain.pgd_title")),
           (V.pgd(loaded, mk, raw, goal, norm, radius), tr("explain.pgd_target_title", label=classes[goal]))]
for col, (attack, title) in zip(cols, attacks):
    with col:
        V.render_attack(attack, classes, title)
st.caption(tr("explain.s3_note"))
code1, code2 = st.columns(2)
with code1:
    show_code(R.fgsm_smallest_epsilon)
with code2:
    show_code(R.pgd)

st.header(tr("explain.s4"))
st.markdown(tr("explain.s4_intro"))
V.dream_section(loaded, mk, predicted)

st.header(tr("explain.s5"))
st.markdown(tr("explain.s5_intro"))
with st.spinner(tr("explain.nb_building")):
    nb, bank_images, bank_labels, described = V.neighbours(loaded, mk, raw)
V.render_neighbours(nb, bank_images, bank_labels, classes, predicted)
st.caption(tr("explain.nb_source", n=len(bank_labels), source=described))
show_code(E.nearest)
