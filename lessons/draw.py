"""Draw a digit: the canvas, what the network sees, its prediction and every layer's maps."""
import streamlit as st

from cnndemo.core import inference, preprocess
from ui import draw as V
from ui.canvas import current, draw_canvas
from ui.classroom import share_drawing
from ui.common import show_code, tr
from ui.links import bind


@st.fragment
def lab() -> None:
    """The canvas and everything computed from it. A fragment: a stroke reruns this, not the
    sidebar and page header around it. The prediction is computed before anything is written
    (the drawing is in session state as the run starts): every element written sends a message,
    and the server thread that sends it competes with the forward pass for the GIL. The
    prediction is then written first, so it reaches the browser before the canvas and the maps.
    The model is looked up again in every run: a fragment's rerun must not keep using a file
    that has gone bad, or the model the teacher has since locked for the class."""
    loaded = V.model_or_stop()
    inp = V.read_input(current(V.canvas_key()))
    result = None
    if inp.image is not None:
        result = inference.run(loaded.model, inp.image, loaded.spec, loaded.classes)
        st.session_state["last_drawing"] = inp.image
    left, right = st.columns([1, 1.25], gap="medium")
    with right:
        seen, verdict = st.columns([1, 1])
    with verdict:
        st.markdown(f"#### {tr('draw.prediction')}")
        if result is None:
            getattr(st, inp.kind)(inp.message)
        else:
            V.render_verdict(result)
    with seen:
        V.render_seen(inp)
    with left:
        st.markdown(f"#### {tr('draw.canvas')}")
        draw_canvas(key=V.canvas_key(), size=V.CANVAS_PX, stroke=st.session_state.get("draw_stroke", 20),
                    label=tr("draw.canvas_label"), undo=tr("draw.undo"))
        b1, b2 = st.columns([1, 1.5])
        b1.button(tr("draw.clear"), key="draw_clear", on_click=V.clear, icon=":material/ink_eraser:",
                  width="stretch")
        b2.button(tr("draw.random"), key="draw_random", on_click=V.pick_random, icon=":material/casino:",
                  width="stretch")
        st.slider(tr("draw.stroke"), 6, 40, 20, key="draw_stroke")
        st.caption(tr("draw.undo_hint"))
        show_code(preprocess.to_mnist)
    if result is None:
        V.keep_detail()
        return
    with verdict:
        share_drawing(inp.image, result.prediction)
    with right:
        V.render_probs(result)
        st.caption(tr("draw.model_caption", name=loaded.name))

    V.render_maps_intro(result)
    show_code(inference.run)
    V.render_overview(result)
    V.render_detail(loaded.model, result)


bind("draw")
st.title(tr("draw.title"))
st.markdown(tr("draw.intro"))
V.init_state()
lab()
