"""The shape explorer page run by Streamlit's AppTest: presets, edits, errors, fixes."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnndemo import i18n
from cnndemo.core import arch

PAGE = str(Path(__file__).resolve().parents[2] / "lessons" / "shapes.py")


@pytest.fixture
def at():
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception
    return app


def _table(at):
    return at.dataframe[0].value


def _open_tab(at, name):
    """Only the open tab is drawn: open it as a click would."""
    at.session_state["shapes.tab"] = i18n.t(f"shapes.tab.{name}", "en")
    at.run()
    assert not at.exception, at.exception


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_every_preset_gives_its_final_shape_and_total(at):
    for name, p in arch.PRESETS.items():
        at.selectbox(key="shapes.preset").set_value(name).run()
        assert not at.exception, name
        df = _table(at)
        assert len(df) == len(p.spec)
        assert df["output shape"].iloc[-1] == str([1, *arch.infer(p.spec, p.input_shape)[-1]
                                                   .output_shape[1:]])
        assert _metric(at, "Parameters") == f"{arch.total_params(p.spec, p.input_shape):,}"
    at.selectbox(key="shapes.preset").set_value("count-exercise").run()
    assert _metric(at, "Parameters") == "1,149,010"
    at.selectbox(key="shapes.preset").set_value("course-c").run()
    assert _table(at)["output shape"].iloc[8] == "[1, 128, 4, 4]"


def test_break_a_layer_see_the_error_row_and_fix_it(at):
    # course-a is loaded first; layer 1 is Conv2d(1, 16, 5) with widget uid 0
    at.number_input(key="shapes.l0.out_channels").set_value(20).run()
    df = _table(at)
    assert list(df["#"]) == [1, 2, 3]  # the rows before the broken layer stay
    assert df["output shape"].iloc[0] == "[1, 20, 24, 24]"
    assert df["output shape"].iloc[2].startswith("✗")
    assert "set in_channels to 20" in df["parameter arithmetic"].iloc[2]
    assert "Layer 3" in at.error[0].value
    fix = at.button(key="shapes.fix")
    assert fix.label == "Fix it: set in_channels = 20"
    fix.click().run()
    df = _table(at)
    assert len(df) == 12 and not at.error
    assert at.number_input(key="shapes.l2.in_channels").value == 20
    total = (20 * 25 + 20) + (32 * 20 * 25 + 32) + 51264 + 57700 + 1010
    assert _metric(at, "Parameters") == f"{total:,}"


def test_kernel_change_updates_every_shape_and_linear_fix(at):
    at.number_input(key="shapes.l0.kernel_size").set_value(7).run()
    df = _table(at)
    assert df["output shape"].iloc[0] == "[1, 16, 22, 22]"
    assert df["size formula"].iloc[8] == "64 x 2 x 2 = 256"
    assert "set in_features to 256" in at.error[0].value
    at.button(key="shapes.fix").click().run()
    assert _table(at)["output shape"].iloc[-1] == "[1, 10]"
    _open_tab(at, "code")
    source = next(c.value for c in at.code if "class Net" in c.value)
    assert "nn.Linear(256, 100)" in source


def test_batch_size_and_input_change(at):
    at.number_input(key="shapes.batch").set_value(64).run()
    assert _table(at)["output shape"].iloc[0] == "[64, 16, 24, 24]"
    assert _metric(at, "Mult-adds") == f"{64 * 7_276_630:,}"
    at.number_input(key="shapes.in_h").set_value(32).run()
    at.number_input(key="shapes.in_w").set_value(32).run()
    assert "set in_features to 1024" in at.error[0].value


def test_add_move_retype_and_delete_layers(at):
    at.selectbox(key="shapes.preset").set_value("empty").run()
    assert len(_table(at)) == 0
    at.selectbox(key="shapes.add_type").set_value("Conv2d").run()
    at.button(key="shapes.add").click().run()
    at.selectbox(key="shapes.add_type").set_value("MaxPool2d").run()
    at.button(key="shapes.add").click().run()
    assert list(_table(at)["output shape"]) == ["[1, 16, 28, 28]", "[1, 16, 14, 14]"]
    uid_pool = at.session_state["shapes.spec"][1]["uid"]
    at.button(key=f"shapes.l{uid_pool}.up").click().run()
    assert list(_table(at)["layer"]) == ["MaxPool2d(2, 2)", "Conv2d(1, 16, 3, padding=1)"]
    at.selectbox(key=f"shapes.l{uid_pool}.type").set_value("AvgPool2d").run()
    assert _table(at)["layer"].iloc[0] == "AvgPool2d(2, 2)"
    at.button(key=f"shapes.l{uid_pool}.del").click().run()
    assert list(_table(at)["output shape"]) == ["[1, 16, 28, 28]"]


def test_exercises_load_and_handoff(at):
    assert "shapes.ex.pool-7" not in [b.key for b in at.button]  # its tab is closed
    _open_tab(at, "exercises")
    at.button(key="shapes.ex.pool-7").click().run()
    df = _table(at)
    assert list(df["output shape"]) == ["[1, 128, 4, 4]"]
    assert df["size formula"].iloc[0] == "floor((7 - 2 + 2*1)/2) + 1 = 4"
    at.button(key="shapes.ex.trail-b").click().run()
    assert _table(at)["output shape"].iloc[-1] == "[1, 10]"
    _open_tab(at, "train")
    at.button(key="shapes.train").click().run()
    handed = at.session_state["handoff_spec"]
    assert handed["input_shape"] == [1, 28, 28] and handed["name"] == "course-b"
    assert handed["spec"] == arch.spec_to_dicts(arch.preset("course-b").spec)
    assert not at.exception


def test_only_the_open_tab_is_drawn_and_it_stays_open_in_korean(at):
    assert len(at.get("plotly_chart")) == 1 and not [c for c in at.code if "class Net" in c.value]
    _open_tab(at, "code")
    assert not at.get("plotly_chart")
    assert any("class Net" in c.value for c in at.code)
    at.session_state["lang"] = "ko"
    at.run()
    assert at.session_state["shapes.tab"] == i18n.t("shapes.tab.code", "ko")
    assert any("class Net" in c.value for c in at.code)


def test_the_3d_view_is_one_figure_for_every_batch_size(at):
    first = at.get("plotly_chart")[0].proto.spec
    at.number_input(key="shapes.batch").set_value(64).run()
    assert at.get("plotly_chart")[0].proto.spec == first
    assert _table(at)["output shape"].iloc[0] == "[64, 16, 24, 24]"


def test_korean(at):
    at.session_state["lang"] = "ko"
    at.run()
    assert at.title[0].value == "레이어 모양 탐색기"
    assert "파라미터" in [m.label for m in at.metric]


def test_network_and_input_survive_leaving_the_page():
    app = AppTest.from_file(str(Path(PAGE).parents[1] / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("lessons/shapes.py").run()
    app.number_input(key="shapes.in_h").set_value(32).run()
    app.number_input(key="shapes.l0.out_channels").set_value(20).run()
    app.switch_page("lessons/home.py").run()
    app.switch_page("lessons/shapes.py").run()
    assert not app.exception
    assert app.number_input(key="shapes.in_h").value == 32
    assert app.number_input(key="shapes.l0.out_channels").value == 20
    assert _table(app)["output shape"].iloc[0] == "[1, 20, 28, 24]"
