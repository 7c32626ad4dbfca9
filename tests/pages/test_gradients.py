"""AppTest of the gradients lab: one test per section, plus bad input and Korean."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnndemo.lessons import gradients as G
from cnndemo.lessons import optimizers as O

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "lessons" / "gradients.py")
EN = json.loads((ROOT / "cnndemo/locales/en/gradients.json").read_text(encoding="utf-8"))


def run_tab(section: str, **state) -> AppTest:
    """Open the page on one tab (only the open tab runs)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["gradients_tab"] = EN[f"gradients.tab.{section}"]
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def rerun(at) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_autograd_shows_6_12_and_follows_edits():
    at = run_tab("autograd")
    assert metrics(at)[EN["gradients.ag.grad"]] == "[6, 12]"
    printed = next(c.value for c in at.code if "x.grad = tensor" in c.value)
    assert "x.grad = tensor([6, 12])" in printed
    assert "y.grad = None" in printed and "z.grad = None" in printed
    at.number_input(key="gradients_ag_x1").set_value(3.0)
    at.number_input(key="gradients_ag_x2").set_value(-1.0)
    rerun(at)
    expect = G.autograd_example((3.0, -1.0), (2.0, 3.0)).x_grad
    assert expect == [18.0, -6.0]
    assert metrics(at)[EN["gradients.ag.grad"]] == "[18, -6]"


def test_regression_defaults_reach_5_and_2_and_too_large_lr_diverges():
    at = run_tab("regression")
    m = metrics(at)
    assert abs(float(m["w"]) - 5) < 0.1 and abs(float(m["b"]) - 2) < 0.1
    assert m[EN["gradients.steps"]] == "200"
    at.number_input(key="gradients_reg_lr").set_value(0.05)
    rerun(at)
    x, y = G.regression_data()
    step = G.fit_line(x, y, lr=0.05, steps=200).diverged_at
    assert step is not None
    assert any(f"Diverged at step {step}" in e.value for e in at.error)


@pytest.mark.parametrize("lr", [0.0, -0.01])
def test_regression_refuses_zero_or_negative_lr(lr):
    at = run_tab("regression")
    at.number_input(key="gradients_reg_lr").set_value(lr)
    rerun(at)
    assert len(at.error) == 1 and "must be greater than 0" in at.error[0].value
    assert not at.metric


def test_perceptron_or_solves_and_single_xor_fails():
    at = run_tab("perceptron")
    assert at.success and "[-1.0, 1.0, 1.0, 1.0]" in at.success[0].value
    table = at.dataframe[0].value
    assert table["sign"].tolist() == [-1.0, 1.0, 1.0, 1.0]
    at.radio(key="gradients_pc_preset").set_value("xor1")
    rerun(at)
    assert at.error and EN["gradients.pc.xor1"] in [i.value for i in at.info]
    at.radio(key="gradients_pc_preset").set_value("xor2")
    rerun(at)
    assert at.success and at.dataframe[0].value["sign"].tolist() == [-1.0, 1.0, 1.0, -1.0]


def test_activations_dead_relu_and_a_live_one():
    at = run_tab("activations")
    m = metrics(at)
    assert m[EN["gradients.dead.range"]] == "[-8, -2]"
    assert m[EN["gradients.dead.fired"]] == "0 / 21"
    assert m[EN["gradients.dead.grad"]] == "0, 0"
    assert at.error[0].value == EN["gradients.dead.is_dead"]
    at.number_input(key="gradients_dead_w").set_value(3.0)
    at.number_input(key="gradients_dead_b").set_value(0.0)
    rerun(at)
    assert metrics(at)[EN["gradients.dead.fired"]] == "10 / 21"  # x in (0, 1]
    assert at.success


def test_vanishing_shows_the_measured_norms():
    at = run_tab("vanishing")
    x, y, _ = O.digit_batch(256)
    sig = O.vanishing(x, y, 10, "sigmoid")
    m = metrics(at)
    assert m[EN["gradients.van.first"]] == f"{sig.norms[0]:.2e}"
    assert m[EN["gradients.van.course"].format(d=10)] == "1e-20"
    at.radio(key="gradients_van_act").set_value("relu")
    at.radio(key="gradients_van_init").set_value("scaled")
    rerun(at)
    he = O.vanishing(x, y, 10, "relu", "scaled")
    assert metrics(at)[EN["gradients.van.first"]] == f"{he.norms[0]:.2e}"
    assert he.ratio > 0.1


def test_optimizers_table_on_the_valley():
    at = run_tab("optimizers")
    table = at.dataframe[0].value
    assert len(table) == 6 and not at.error
    expect = O.distance_to_min(O.run_optimizer("momentum_0.9", "valley"), "valley")
    assert table.iloc[2, 2] == f"{expect:.3g}"


def test_optimizers_diverge_on_rosenbrock_and_refuse_zero_lr():
    at = run_tab("optimizers", gradients_opt_surface="rosenbrock")
    assert len(at.dataframe[0].value) == 6 and not at.error
    at.number_input(key="gradients_opt_lr_rosenbrock").set_value(0.005)
    rerun(at)
    diverged = [e.value for e in at.error]
    assert len(diverged) == 3 and all("Diverged at step" in d for d in diverged)
    at.number_input(key="gradients_opt_lr_rosenbrock").set_value(0.0)
    rerun(at)
    assert "must be greater than 0" in at.error[0].value


def test_korean_page_runs():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("기울기 실험실")
    assert [t.label for t in at.tabs][0] == "1 · 자동 미분"


def test_a_tab_keeps_its_settings_while_another_tab_is_open():
    at = run_tab("regression")
    at.slider(key="gradients_reg_noise").set_value(4.5)
    at.number_input(key="gradients_reg_seed").set_value(5).run()
    at.session_state["gradients_tab"] = EN["gradients.tab.optimizers"]
    rerun(at)
    assert "gradients_reg_noise" not in [s.key for s in at.slider]  # a closed tab draws nothing
    at.session_state["gradients_tab"] = EN["gradients.tab.regression"]
    rerun(at)
    assert at.slider(key="gradients_reg_noise").value == 4.5
    assert at.number_input(key="gradients_reg_seed").value == 5
    assert not at.warning
