"""The pooling page: max/avg numbers, winners, sizes with ceil_mode, the real map and 3-D view."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnndemo import i18n

PAGE = str(Path(__file__).resolve().parents[2] / "lessons" / "pooling.py")


def _app():
    return AppTest.from_file(PAGE, default_timeout=60)


def _charts(at) -> dict[str, dict]:
    out = {}
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        out[fig["layout"].get("title", {}).get("text") or f"#{len(out)}"] = fig
    return out


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_default_grid_max_and_average_with_winners():
    at = _app().run()
    assert not at.exception and not at.error
    charts = _charts(at)
    assert charts["max pooling"]["data"][0]["text"] == [["5", "8"], ["7", "9"]]
    assert charts["average pooling"]["data"][0]["text"] == [["3.25", "2.75"], ["2.50", "3.50"]]
    # the four winners are outlined in green on the input grid
    green = [s for s in charts["input"]["layout"]["shapes"] if s["line"]["color"] == "#1a9a3a"]
    assert sorted((round(s["y0"] + 0.5), round(s["x0"] + 0.5)) for s in green) == \
        [(0, 1), (1, 2), (3, 0), (3, 3)]
    text = _text(at)
    assert "max(1, 5, 3, 4) = 5" in text and "(1 + 5 + 3 + 4) / 4 = 3.25" in text
    at.slider(key="pooling_step").set_value(3).run()
    assert "max(1, 1, 3, 9) = 9" in _text(at)


def test_stride_padding_and_ceil_mode_change_the_size():
    at = _app().run()
    at.selectbox(key="pooling_preset").select("six").run()
    assert "floor((6 - 2 + 2*0)/2) + 1 = 3" in _text(at)
    at.slider(key="pooling_kernel").set_value(3).run()
    at.slider(key="pooling_stride").set_value(2).run()
    assert "floor((6 - 3 + 2*0)/2) + 1 = 2" in _text(at)
    at.checkbox(key="pooling_ceil").check().run()
    assert "ceil((6 - 3 + 2*0)/2) + 1 = 3" in _text(at)
    assert len(_charts(at)["max pooling"]["data"][0]["text"]) == 3
    at.text_area(key="pooling_input").input("\n".join(["1 2 3 4 5"] * 5)).run()
    at.slider(key="pooling_kernel").set_value(2).run()
    at.slider(key="pooling_padding").set_value(1).run()
    assert "ceil((5 - 2 + 2*1)/2) + 1 = 4 - 1 = 3" in _text(at)  # last window would start in the padding
    assert len(_charts(at)["max pooling"]["data"][0]["text"]) == 3
    assert not at.exception and not at.error


def test_bad_input_and_refused_padding_give_messages():
    at = _app().run()
    at.text_area(key="pooling_input").input("1 2\n3 four").run()
    assert any("'four' in row 2 is not a number" in e.value for e in at.error)
    at.text_area(key="pooling_input").input("1 2 3\n4 5 6\n7 8 9").run()
    at.slider(key="pooling_kernel").set_value(2).run()
    at.slider(key="pooling_padding").set_value(2).run()
    assert any("more than half the kernel size" in e.value for e in at.error)
    assert not at.exception


def test_real_feature_map_and_3d_view_with_the_shipped_model():
    at = _app()
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == i18n.t("pooling.title", "ko")
    captions = "\n".join(c.value for c in at.caption)
    assert "28×28" in captions and "14×14" in captions  # MaxPool2d(2) halves the real map
    assert not [c for c in _charts(at).values() if c["data"][0]["type"] == "mesh3d"]  # a closed tab
    at.session_state["pooling_tab"] = i18n.t("pooling.tab.volume", "ko")  # only the open tab runs
    at.run()
    assert not at.exception and not at.error
    assert "1×28×28 → 32×28×28 → 32×14×14" in _text(at)
    volume = [c for c in _charts(at).values() if c["data"][0]["type"] == "mesh3d"]
    assert volume and "32 × 14 × 14" in "".join(str(d.get("hovertext")) for d in volume[0]["data"])


def test_the_real_map_tab_keeps_its_channel_while_the_volumes_tab_is_open():
    at = _app().run()
    at.slider(key="pooling_channel").set_value(5).run()
    at.session_state["pooling_tab"] = i18n.t("pooling.tab.volume", "en")
    at.run()
    assert "pooling_channel" not in [s.key for s in at.slider]  # a closed tab draws nothing
    at.session_state["pooling_tab"] = i18n.t("pooling.tab.real", "en")
    at.run()
    assert at.slider(key="pooling_channel").value == 5
    assert "channel 5:" in "\n".join(c.value for c in at.caption)
    assert not at.exception and not at.warning
