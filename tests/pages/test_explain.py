"""The Explain page through AppTest: the numbers on the page are the ones cnndemo computes."""
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnndemo import i18n
from cnndemo.core import checkpoints, data, preprocess
from cnndemo.lessons import explain as E
from cnndemo.lessons import explain_robust as R

ROOT = Path(__file__).resolve().parents[2]
DRAWING = ROOT / "tests" / "data" / "drawings" / "7_00.png"


@pytest.fixture(scope="module")
def seven():
    return preprocess.preprocess(preprocess.load_image(DRAWING)).image


@pytest.fixture(scope="module")
def digits():
    return checkpoints.load(checkpoints.shipped_path("mnist"))


def page(lang="en", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "lessons" / "explain.py"), default_timeout=120)
    at.session_state["lang"] = lang
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at) -> str:
    return " ".join(str(e.value) for kind in (at.markdown, at.caption, at.success, at.warning, at.info)
                    for e in kind)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_drawing_is_explained_and_attacked_with_the_numbers_cnndemo_computes(lang, seven, digits):
    model = digits.model
    maps = E.explain(model, seven)
    deletion = E.deletion_curve(model, seven, maps.target, maps.by_method())
    fgsm = R.fgsm_smallest_epsilon(model, seven)
    targeted = R.pgd(model, seven, 3, "Linf", 0.2, step_size=0.01)
    with torch.no_grad():
        assert int(model(torch.as_tensor(targeted.image)[None, None]).argmax()) == 3

    at = page(lang, last_drawing=seven)
    shown = text(at)
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    assert [m.value for m in at.metric] == ["7", str(fgsm.predicted), str(R.pgd(
        model, seven, None, "Linf", 0.2, step_size=0.01).predicted), "3"]
    # The four maps, named, and their facts.
    for name in E.METHODS:
        assert t(f"explain.{name}") in shown
    assert t("explain.completeness", total=f"{maps.ig.total:.3f}", gap=f"{maps.ig.gap:.3f}",
             delta=f"{abs(maps.ig.delta):.4f}") in shown
    assert "14×14" in shown
    names = {k: t(f"explain.{k}") for k in E.METHODS}
    best = deletion.fastest()
    assert t("explain.del_fastest", method=names[best], area=f"{deletion.area(deletion.curves[best]):.3f}",
             random=f"{deletion.area(deletion.random):.3f}", n=deletion.n_ink) in shown
    # The attacks: the epsilon and the changes shown are the ones that really fooled the model.
    assert t("explain.eps_fgsm", eps=f"{fgsm.epsilon:.3f}", grey=round(fgsm.epsilon * 255)) in shown
    assert t("explain.changed", linf=f"{targeted.linf:.3f}", l2=f"{targeted.l2:.3f}", steps=targeted.steps) in shown
    assert t("explain.attack_ok", was="7", now="3", p=f"{targeted.confidence:.1%}") in shown
    # The dream of the predicted class and the 8 neighbours.
    assert t("explain.dream_class_result", label="7", p=f"{R.dream(model, 7).probability:.1%}",
             score=f"{R.dream(model, 7).objective:.2f}", steps=160) in shown
    assert any(c.value.startswith("“") and "d = " in c.value for c in at.caption)
    assert sum("d = " in c.value for c in at.caption) == 8


def test_another_class_another_patch_and_an_l2_attack(seven, digits):
    at = page(last_drawing=seven, explain_target=1, explain_patch=6, explain_norm="L2", explain_goal=2)
    maps = E.explain(digits.model, seven, target=1, patch=6)
    shown = text(at)
    assert "Saliency (gradient)** · 1" in shown
    assert i18n.t("explain.occlusion_about", "en", p=6, s=3) in shown
    assert f"sum of the map = **{maps.ig.total:.3f}**" in shown
    l2 = R.pgd(digits.model, seven, 2, "L2", 3.0, step_size=0.02)
    assert l2.success and l2.l2 <= 3.0 + 1e-4
    assert at.metric[-1].value == "2"
    assert "L2 ball, ε = **3**" in shown and f"L2 = **{l2.l2:.3f}**" in shown


@pytest.mark.parametrize("lang,nav,message", [("en", "Explain", "There is no drawing yet"),
                                               ("ko", "설명하기", "아직 그림이 없습니다")])
def test_in_the_app_without_a_drawing_the_page_says_where_to_draw(lang, nav, message):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state["explain_source"] = "drawing"
    at.switch_page("lessons/explain.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert i18n.t("nav.explain", lang) == nav
    assert message in at.info[0].value
    assert not at.metric


def test_a_fashion_image_is_read_by_the_fashion_model():
    ds = data.load("fashion-mnist")
    fashion = checkpoints.load(checkpoints.shipped_path("fashion-mnist"))
    image = ds.test_x[12].float().numpy() / 255.0
    expected = fashion.classes[int(np.argmax(E.explain(fashion.model, image).probs))]
    at = page(explain_source="fashion", **{"explain_pick_fashion-mnist": 12})
    assert at.metric[0].value == expected
    assert f"Test image #12, labelled “{fashion.classes[int(ds.test_y[12])]}”." in text(at)


def test_dreaming_a_channel(seven, digits):
    at = page(last_drawing=seven)
    at.radio(key="explain_dream_what").set_value("channel").run()
    at.slider(key="explain_dream_channel").set_value(5).run()
    at.button(key="explain_dream_go").click().run()
    assert not at.exception
    d = R.dream(digits.model, 5, "channel")
    assert f"Channel 5's mean activation reached **{d.objective:.3f}** after 160 steps." in text(at)
