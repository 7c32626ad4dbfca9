"""Every lesson page's state is a link: it opens as the link says and writes itself back."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnndemo.classroom import links as L
from cnndemo.classroom import pages as P

LESSONS = Path(__file__).resolve().parents[2] / "lessons"

NET = ('[{"type":"Conv2d","in_channels":1,"out_channels":4,"kernel_size":3},{"type":"ReLU"},'
       '{"type":"Flatten"},{"type":"Linear","in_features":2704,"out_features":10}]')
SAMPLES = {
    "convolution": {"preset": "outline", "stride": "2", "padding": "0", "dilation": "2",
                    "bias": "1.5"},
    "pooling": {"preset": "six", "kernel": "3", "stride": "3", "ceil": "1"},
    "shapes": {"preset": "course-b", "batch": "32", "net": NET},
    "losses": {"preset": "wrong", "z2": "4.5", "true": "7", "temp": "2.5", "unit": "bits",
               "tab": "grad"},
    "gradients": {"tab": "vanishing", "depth": "14", "act": "relu", "init": "scaled",
                  "noise": "3.5"},
    "training": {"epochs": "5", "batch": "128", "opt": "sgd", "lr": "0.05", "cosine": "0",
                 "arch": "course-a"},
}
GARBAGE = {
    "convolution": {"stride": "9", "input": "<script>alert(1)</script>", "dilation": "x"},
    "pooling": {"kernel": "-1", "ceil": "maybe"},
    "shapes": {"net": '[{"type":"Evil"}]', "batch": "1e9"},
    "losses": {"temp": "nan", "true": "12", "z0": "inf"},
    "gradients": {"depth": "999", "tab": "admin"},
    "training": {"epochs": "0", "opt": "rm -rf", "lr": "-1"},
}
WIDGETS = {  # (kind, key, value the sample sets)
    "convolution": [("slider", "convolution_stride", 2), ("slider", "convolution_dilation", 2),
                    ("selectbox", "convolution_preset", "outline")],
    "pooling": [("slider", "pooling_kernel", 3), ("checkbox", "pooling_ceil", True)],
    "shapes": [("number_input", "shapes.batch", 32), ("selectbox", "shapes.preset", "course-b")],
    # the link opens the gradients tab: the logit sliders (first tab) are not drawn; that
    # z2 still reaches the numbers is tests/pages/test_losses.py::test_a_link_opens_its_tab
    "losses": [("slider", "losses_temp", 2.5), ("selectbox", "losses_true", 7),
               ("radio", "losses_unit", "bits")],
    "gradients": [("slider", "gradients_van_depth", 14), ("radio", "gradients_van_init", "scaled")],
    "training": [("number_input", "training_epochs", 5), ("selectbox", "training_optimizer", "sgd"),
                 ("toggle", "training_cosine", False)],
}


def _open(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(LESSONS / f"{page}.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _widget(at, kind, key):
    return getattr(at, kind)(key=key)


@pytest.mark.parametrize("page", list(SAMPLES))
def test_link_opens_the_same_state_and_round_trips(page):
    at = _open(page, SAMPLES[page])
    assert not at.exception, at.exception
    assert not [w for w in at.warning if "link" in w.value.lower()]
    for kind, key, value in WIDGETS[page]:
        assert _widget(at, kind, key).value == value, key
    want = {k: v for k, v in SAMPLES[page].items() if k not in ("padding",)}
    assert {k: at.query_params[k][0] if isinstance(at.query_params[k], list) else
            at.query_params[k] for k in want} == want
    link = {k: at.query_params[k] for k in at.query_params}
    again = _open(page, link)  # a fresh browser opening the link the page wrote
    assert not again.exception
    for kind, key, value in WIDGETS[page]:
        assert _widget(again, kind, key).value == value, key


@pytest.mark.parametrize("page", list(GARBAGE))
def test_tampered_links_fall_back_with_a_notice(page):
    at = _open(page, GARBAGE[page])
    assert not at.exception, at.exception
    notices = [w.value for w in at.warning if "cannot use" in w.value]
    assert len(notices) == 1
    for name in GARBAGE[page]:
        assert name in notices[0]
    for name in GARBAGE[page]:
        assert name not in at.query_params  # the defaults leave the address bare


def test_a_changed_control_goes_into_the_address():
    at = _open("convolution", {})
    assert "dilation" not in at.query_params
    at.slider(key="convolution_dilation").set_value(2).run()
    assert at.query_params["dilation"] in ("2", ["2"])
    at.selectbox(key="convolution_preset").set_value("blur").run()
    at.run()
    assert at.query_params["preset"] in ("blur", ["blur"])
    assert "dilation" not in at.query_params  # the preset reset it to its own 1


def test_shape_explorer_link_carries_the_whole_network():
    at = _open("shapes", {"net": NET})
    assert not at.exception
    assert any("4 layers" in e.label or "(4)" in e.label for e in at.expander), \
        [e.label for e in at.expander]
    values, bad = L.decode(P.SPECS["shapes"], {"net": NET})
    assert bad == [] and len(values["shapes.spec"]) == 4
