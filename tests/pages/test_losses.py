"""AppTest of the loss lab: presets, true class, course table, units, bad input, the model."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnndemo import i18n
from cnndemo.core import checkpoints, data, train
from cnndemo.lessons import losses as L

PAGE = str(Path(__file__).resolve().parents[2] / "lessons" / "losses.py")
TAB = {"softmax": 0, "compare": 1, "grad": 2, "entropy": 3, "model": 4}


def label(name: str, lang: str = "en") -> str:
    return i18n.t(f"losses.tab.{name}", lang)


def run_page(tab: str = "softmax", **state):
    at = AppTest.from_file(PAGE, default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.session_state["losses_tab"] = label(tab)
    at.run()
    assert not at.exception, at.exception
    return at


def tab(at, name):
    """The tab `name`, opened first if it is not (only the open tab is drawn)."""
    if not at.tabs[TAB[name]].children:
        at.session_state["losses_tab"] = label(name)
        at.run()
        assert not at.exception, at.exception
    assert all(not t.children for i, t in enumerate(at.tabs) if i != TAB[name])
    return at.tabs[TAB[name]]


def metrics(at, name):
    return {m.label: m.value for m in tab(at, name).metric}


def torch_losses(logits, k):
    """Oracle: nn.functional on the logits, the way a training loop computes them."""
    z = torch.tensor(logits, dtype=torch.float64)[None]
    p = F.softmax(z, 1)
    y = F.one_hot(torch.tensor([k]), z.shape[1]).double()
    return (F.cross_entropy(z, torch.tensor([k])).item(), F.mse_loss(p, y).item(),
            F.l1_loss(p, y).item())


def assert_losses(m, ce, mse, l1, unit="nats (ln)"):
    assert float(m[f"Cross-entropy [{unit}]"]) == pytest.approx(ce, abs=6e-5)
    assert float(m["MSE vs one-hot"]) == pytest.approx(mse, abs=6e-5, rel=6e-3)
    assert float(m["L1 vs one-hot"]) == pytest.approx(l1, abs=6e-5)


@pytest.fixture(scope="module")
def at():
    return run_page()


def test_presets_show_expected_losses(at):
    for preset in ("right", "wrong", "unsure"):
        at.selectbox(key="losses_preset").set_value(preset).run()
        assert not at.exception
        ce, mse, l1 = torch_losses(L.LOGIT_PRESETS[preset], 3)
        assert_losses(metrics(at, "compare"), ce, mse, l1)
    # confidently wrong is punished hard: CE above 5 nats, while L1 stays below 0.2
    at.selectbox(key="losses_preset").set_value("wrong").run()
    m = metrics(at, "compare")
    assert float(m["Cross-entropy [nats (ln)]"]) > 5 and float(m["L1 vs one-hot"]) < 0.2
    formula = [e.value for e in tab(at, "softmax").latex][0]
    want = F.softmax(torch.tensor(L.LOGIT_PRESETS["wrong"]), 0)[3]
    assert formula.strip("$\n ").endswith(f"= {want:.4f}")


def test_changing_true_class_changes_losses(at):
    at.selectbox(key="losses_preset").set_value("wrong").run()
    before = metrics(at, "compare")["Cross-entropy [nats (ln)]"]
    at.selectbox(key="losses_true").set_value(1).run()
    after = metrics(at, "compare")
    ce, mse, l1 = torch_losses(L.LOGIT_PRESETS["wrong"], 1)
    assert_losses(after, ce, mse, l1)
    assert float(after["Cross-entropy [nats (ln)]"]) < 0.1 < float(before)
    grads = metrics(at, "grad")
    z = torch.tensor(L.LOGIT_PRESETS["wrong"], requires_grad=True)
    F.cross_entropy(z[None], torch.tensor([1])).backward()
    assert float(grads["∂CE/∂z1"]) == pytest.approx(z.grad[1].item(), abs=6e-5)


def test_temperature_and_sliders_feed_the_losses():
    at = run_page()
    at.slider(key="losses_z3").set_value(-2.0).run()
    at.slider(key="losses_temp").set_value(2.0).run()
    z = np.array(L.LOGIT_PRESETS["right"]) / 2.0
    z[3] = -1.0
    ce, mse, l1 = torch_losses(z, 3)
    assert_losses(metrics(at, "compare"), ce, mse, l1)


def test_course_table_and_bits():
    at = run_page("compare", losses_src="course")
    table = tab(at, "compare").table[0].value
    assert list(table.iloc[:, 1]) == ["0.1054", "1.2040", "2.3026"]
    assert list(table.iloc[:, 3]) == ["0.1000", "0.7000", "0.9000"]
    at.radio(key="losses_course_q").set_value(0.3).run()
    assert_losses(metrics(at, "compare"), 1.2040, 0.49, 0.7)
    at.radio(key="losses_unit").set_value("bits").run()
    m = metrics(at, "compare")
    assert float(m["Cross-entropy [bits (log₂)]"]) == pytest.approx(-math.log2(0.3), abs=6e-5)
    table = tab(at, "compare").table[0].value
    assert list(table.iloc[:, 1]) == ["0.1520", "1.7370", "3.3219"]


def test_typed_probabilities_edge_cases():
    at = run_page("compare", losses_src="typed", losses_true=0)
    at.text_input(key="losses_typed").input("2, 1, 1").run()
    assert "add up to 4" in tab(at, "compare").info[0].value
    assert metrics(at, "compare")["Cross-entropy [nats (ln)]"] == "0.6931"
    at.text_input(key="losses_typed").input("0, 0.5, 0.5").run()
    assert not at.exception
    m = metrics(at, "compare")
    assert m["Cross-entropy [nats (ln)]"] == "∞" and m["L1 vs one-hot"] == "0.6667"
    assert "−log 0 = ∞" in tab(at, "compare").warning[0].value
    for text, words in [("0.5, -0.1, 0.6", "negative"), ("0.5, abc", "not a number"),
                        ("0, 0", "adds up to 0")]:
        at.text_input(key="losses_typed").input(text).run()
        assert not at.exception
        assert words in tab(at, "compare").error[0].value
        assert not metrics(at, "compare")
    tab(at, "compare")
    at.radio(key="losses_src").set_value("typed").run()
    at.text_input(key="losses_typed").input("0.2, 0.8").run()
    at.selectbox(key="losses_true").set_value(5).run()
    assert "only 2 probabilities" in tab(at, "compare").error[0].value
    at.radio(key="losses_src").set_value("softmax").run()


@pytest.mark.parametrize("preset, h_p, h_pq, unit", [
    ("coin", "1.0000", "1.0000", "bits (log₂)"),
    ("coin_guess", "1.0000", "1.2075", "bits (log₂)"),
    ("cars", "1.7500", "1.7500", "bits (log₂)"),
    ("cars_uniform", "1.7500", "2.0000", "bits (log₂)"),
    ("die", "1.7918", "1.7918", "nats (ln)"),
    ("loaded_die", "1.7918", "2.0343", "nats (ln)"),
])
def test_entropy_presets(at, preset, h_p, h_pq, unit):
    tab(at, "entropy")
    at.selectbox(key="losses_ent_preset").set_value(preset).run()
    m = metrics(at, "entropy")
    assert m[f"Entropy H(p) [{unit}]"] == h_p
    assert m[f"Cross-entropy H(p, q) [{unit}]"] == h_pq
    identity = [e.value for e in tab(at, "entropy").markdown if "Check:" in e.value][0]
    assert identity.endswith(f"**{h_pq}**")


def test_entropy_bad_input_and_infinite():
    at = run_page("entropy", losses_p="1/2, 1/2", losses_q="1, 0")
    assert metrics(at, "entropy")["KL(p ‖ q) [nats (ln)]"] == "∞"
    assert tab(at, "entropy").warning
    at.text_input(key="losses_q").input("1/3, 1/3, 1/3").run()
    assert "p has 2 entries but q has 3" in tab(at, "entropy").error[0].value


def test_korean():
    at = run_page("compare", lang="ko", losses_src="course")
    assert at.title[0].value.startswith("손실 함수")
    assert "교차 엔트로피 [nats (ln)]" in metrics(at, "compare")


needs_model = pytest.mark.skipif(not checkpoints.shipped_path("mnist").exists(),
                                 reason="the shipped digits model is not there yet")


@needs_model
def test_model_on_drawing_and_on_test_digit():
    ds = data.load("mnist")
    img = data.to_float(ds.test_x[7:8])
    model = checkpoints.load(checkpoints.shipped_path("mnist")).model
    probs = train.predict_probs(model, img)[0].double()
    drawing = img[0, 0].numpy()
    at = run_page("model", last_drawing=drawing)
    assert at.radio(key="losses_model_src").value == "drawing"
    pred = int(probs.argmax())
    assert at.selectbox(key="losses_model_true").value == pred
    wrong = (pred + 1) % 10
    at.selectbox(key="losses_model_true").set_value(wrong).run()
    m = metrics(at, "model")
    assert float(m["Cross-entropy [nats (ln)]"]) == pytest.approx(
        F.nll_loss(probs.log()[None], torch.tensor([wrong])).item(), abs=6e-5)
    y = F.one_hot(torch.tensor(wrong), 10).double()
    assert float(m["L1 vs one-hot"]) == pytest.approx(F.l1_loss(probs, y).item(), abs=6e-5)
    # without a drawing: a held-out digit, its real label preselected
    at = run_page("model", losses_digit_idx=7)
    assert at.radio(key="losses_model_src").value == "test"
    assert at.selectbox(key="losses_model_true").value == int(ds.test_y[7])
    assert float(metrics(at, "model")["q = P(true class)"]) == pytest.approx(
        probs[int(ds.test_y[7])].item(), abs=6e-5)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_link_opens_its_tab(lang):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = lang
    at.query_params["tab"] = "grad"
    at.query_params["true"] = "1"
    at.query_params["z2"] = "4.5"
    at.run()
    assert not at.exception, at.exception
    assert [i for i, t in enumerate(at.tabs) if t.children] == [TAB["grad"]]
    assert at.session_state["losses_tab"] == label("grad", lang)
    grads = {m.label: m.value for m in at.tabs[TAB["grad"]].metric}
    logits = list(L.LOGIT_PRESETS["right"])
    logits[2] = 4.5  # the link's logit, though its slider (first tab) is not drawn
    z = torch.tensor(logits, requires_grad=True)
    F.cross_entropy(z[None], torch.tensor([1])).backward()
    assert float(grads["∂CE/∂z1"]) == pytest.approx(z.grad[1].item(), abs=6e-5)
    assert at.query_params["tab"] in ("grad", ["grad"])


def test_the_open_tab_survives_a_language_switch():
    at = run_page("entropy")
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    assert [i for i, t in enumerate(at.tabs) if t.children] == [TAB["entropy"]]
    assert at.session_state["losses_tab"] == label("entropy", "ko")


def test_sliders_keep_their_values_while_another_tab_is_open():
    at = run_page()
    at.slider(key="losses_z0").set_value(7.5).run()
    tab(at, "entropy")
    tab(at, "softmax")
    assert at.slider(key="losses_z0").value == 7.5
    assert at.query_params["z0"] in ("7.5", ["7.5"])
