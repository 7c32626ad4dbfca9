"""The convolution page: presets give the course's numbers; settings change the shown size."""
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnndemo import i18n

PAGE = str(Path(__file__).resolve().parents[2] / "lessons" / "convolution.py")


def _app():
    return AppTest.from_file(PAGE, default_timeout=60)


def _output_grid(at) -> list[list[str]]:
    """The numbers printed in the output grid (the chart keyed convolution_out_fig)."""
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        if fig["layout"].get("title", {}).get("text", "").startswith("output"):
            return fig["data"][0]["text"]
    raise AssertionError("no output grid on the page")


def _open(at, tab: str, lang: str = "en"):
    """Open one of the page's tabs (only the open tab runs) and rerun."""
    at.session_state["convolution_tab"] = i18n.t(f"convolution.tab.{tab}", lang)
    return at.run()


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_example_a_by_default_gives_8_8_10_6_and_the_step_arithmetic():
    at = _app().run()
    assert not at.exception
    assert _output_grid(at) == [["8", "8"], ["10", "6"]]
    text = _text(at)
    assert "Output height: floor((3 - 2 + 2*0)/1) + 1 = 2" in text
    assert "1×1 + 2×0 + 2×1 + 1×0 + 5 = 8" in text
    at.slider(key="convolution_step").set_value(2).run()
    assert "2×1 + 1×0 + 3×1 + 0×0 + 5 = 10" in _text(at)


def test_example_b_the_x_and_padding_changes_the_size():
    at = _app().run()
    at.selectbox(key="convolution_preset").select("example_b").run()
    assert not at.exception
    grid = _output_grid(at)
    assert len(grid) == 7 and grid[0] == ["0.78", "-0.11", "0.11", "0.33", "0.56", "-0.11", "0.33"]
    at.slider(key="convolution_padding").set_value(1).run()
    grid = _output_grid(at)
    assert len(grid) == 9 and grid[0][0] == "0.22"
    assert "Output height: floor((9 - 3 + 2*1)/1) + 1 = 9" in _text(at)
    at.slider(key="convolution_stride").set_value(2).run()
    assert "Output width: floor((9 - 3 + 2*1)/2) + 1 = 5" in _text(at)
    assert len(_output_grid(at)) == 5
    # stacking without padding: 9 -> 7 -> 5 -> 3 -> 1
    _open(at, "stack")
    assert "**9×9** → **7×7** → **5×5** → **3×3** → **1×1**" in _text(at)


@pytest.mark.parametrize("preset", ["outline", "emboss", "blur"])
def test_filter_presets_keep_the_size_with_padding(preset):
    at = _app().run()
    at.selectbox(key="convolution_preset").select(preset).run()
    assert not at.exception
    grid = _output_grid(at)
    assert (len(grid), len(grid[0])) == (8, 8)
    # inside the ring only the corner pixel (2, 2) touches cell (3, 3): 8 times its weight
    assert grid[3][3] == {"outline": "-8", "emboss": "-16", "blur": "0.50"}[preset]
    if preset == "outline":
        assert grid[1][2] == "40"  # 8*8 - 3*8 on the ring's top edge


def test_bad_input_shows_messages_not_tracebacks():
    at = _app().run()
    at.text_area(key="convolution_input").input("1 2\n3 x").run()
    assert not at.exception
    assert any("'x' in row 2 is not a number" in e.value for e in at.error)
    at.text_area(key="convolution_input").input("1 2\n3 4").run()
    at.text_area(key="convolution_kernel").input("1 1 1\n1 1 1\n1 1 1").run()
    errors = [e.value for e in at.error]
    assert any("floor((2 - 3 + 2*0)/1) + 1 = 0" in e for e in errors), errors
    at.slider(key="convolution_padding").set_value(1).run()
    assert not at.error and _output_grid(at) == [["15", "15"], ["15", "15"]]  # 10 + bias 5


def test_filters_section_renders_with_the_shipped_model_and_korean():
    at = _app()
    at.session_state["lang"] = "ko"
    at.session_state["last_drawing"] = np.zeros((28, 28), dtype=np.float32)
    at.run()
    _open(at, "filters", "ko")
    assert not at.exception and not at.error
    assert at.title[0].value == i18n.t("convolution.title", "ko")
    captions = "\n".join(c.value for c in at.caption)
    assert "Conv2d(1, " in captions  # the shipped model's first layer is named
    assert at.radio(key="convolution_img_src").value == "drawing"
    _open(at, "channels", "ko")
    at.slider(key="convolution_ch_n").set_value(5).run()
    assert "5 × 3 × 2 × 2 + 5 = 65" in _text(at)


def test_only_the_open_tab_runs_and_every_tab_renders():
    at = _app().run()
    assert at.session_state["convolution_tab"] == i18n.t("convolution.tab.step", "en")
    keys = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    assert "convolution_step_fig" in keys and "convolution_why_x" not in keys
    assert "1×1 + 2×0 + 2×1 + 1×0 + 5 = 8" in _text(at)
    for tab, key in [("stack", None), ("filters", None), ("channels", "convolution_ch_total"),
                     ("why", "convolution_why_x")]:
        _open(at, tab)
        assert not at.exception and not at.error, tab
        keys = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
        assert "convolution_step_fig" not in keys, tab
        assert key is None or key in keys, (tab, keys)
    assert "convolution_out_fig" in keys  # the grids above the tabs are always there


def test_a_bad_grid_explains_itself_in_the_step_tab():
    at = _app().run()
    at.text_area(key="convolution_input").input("1 2\n3 x").run()
    assert not at.exception
    assert any("Fix the input and the kernel above" in i.value for i in at.info)
    _open(at, "why")  # the sections that need no grid still work
    assert not at.exception and "convolution_why_x" in {
        c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}


def test_a_tab_keeps_its_settings_while_another_tab_is_open():
    at = _open(_app().run(), "channels")
    at.slider(key="convolution_ch_n").set_value(7)
    at.number_input(key="convolution_ws_w0").set_value(9.0).run()
    assert "N = 7 kernels like this one give an output of 7 × " in _text(at)
    _open(at, "why")
    assert "convolution_ch_n" not in [s.key for s in at.slider]  # a closed tab draws nothing
    _open(at, "channels")
    assert at.slider(key="convolution_ch_n").value == 7
    assert at.number_input(key="convolution_ws_w0").value == 9.0
    assert "N = 7 kernels like this one give an output of 7 × " in _text(at)
    _open(at, "step")
    at.slider(key="convolution_step").set_value(2).run()
    _open(at, "stack")
    assert _open(at, "step").slider(key="convolution_step").value == 2
    assert not at.exception and not at.warning
