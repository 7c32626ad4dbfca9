"""The Draw page through AppTest: a drawing injected into the canvas's state."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnndemo.core import checkpoints, data, inference, preprocess
from cnndemo.figures import draw as figures

ROOT = Path(__file__).resolve().parents[2]
DRAWINGS = ROOT / "tests" / "data" / "drawings"


def data_url(png: Path | bytes) -> str:
    raw = png.read_bytes() if isinstance(png, Path) else png
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def inject(at: AppTest, png, n: int = 0) -> None:
    """What the browser sends after a stroke: the canvas as a PNG and its number of strokes."""
    at.session_state[f"draw_canvas_{n}"] = {"drawing": {"png": data_url(png), "strokes": 1}}


def page() -> AppTest:
    return AppTest.from_file(str(ROOT / "lessons" / "draw.py"), default_timeout=60)


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def components(at: AppTest, name: str) -> list[dict]:
    """The data of every `cnndemo.<name>` canvas chart on the page, as the browser receives it."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name == f"cnndemo.{name}"]


def galleries(at: AppTest) -> list[dict]:
    return components(at, "gallery")


def picture(item: dict) -> Image.Image:
    """A gallery item's picture, decoded from the data URL the browser receives."""
    head, _, b64 = item["src"].partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def heatmaps(at: AppTest) -> list[np.ndarray]:
    """The values of every heatmap on the page, as the browser receives them."""
    return [np.asarray(d["z"], np.float32) for d in components(at, "heatmap")]


def test_drawing_is_predicted_and_every_layer_is_shown():
    # The oracle: the same drawing straight through cnndemo, without the page.
    model = checkpoints.load(checkpoints.shipped_path("mnist"))
    image = preprocess.preprocess(preprocess.load_image(DRAWINGS / "7_00.png")).image
    expected = inference.run(model.model, image, model.spec)
    weights = model.model[0].weight.detach().numpy()
    shape = inference.format_shape

    at = page()
    inject(at, DRAWINGS / "7_00.png")
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["7"]
    assert "## What each layer sees" in texts(at.markdown)
    trail = " → ".join(shape(s) for s in expected.shape_trail())
    assert trail.startswith("[1, 1, 28, 28] → ") and trail.endswith("[1, 10]")
    assert f"`{trail}`" in texts(at.markdown)
    np.testing.assert_array_equal(at.session_state["last_drawing"], image)
    # The overview: every image-shaped layer's maps as a picture, named with its tensor shape.
    maps = [layer for layer in expected.layers if layer.is_map]
    assert len(maps) >= 3
    (overview,) = galleries(at)  # the code and the layer detail stay closed, and are not sent
    assert not heatmaps(at) and not any("def " in c.value for c in at.code)
    assert [(i["caption"], i["code"]) for i in overview["items"]] == [
        (f"{layer.index}: {layer.name} · ", shape(layer.shape)) for layer in maps]
    assert overview["pixelated"]  # one pixel a value: the browser blows them up, square
    for item, layer in zip(overview["items"], maps):  # the layer's own maps, pixel for pixel
        np.testing.assert_array_equal(np.asarray(picture(item)),
                                      figures.montage_image(layer.values, cols=8, target_px=None))
        assert (item["w"], item["h"]) == picture(item).size
    # A student opens the code and the layer detail: they come, and stay open for the next run.
    at.session_state["code_cnndemo.core.preprocess.to_mnist"] = True
    at.session_state["draw_detail_open"] = True
    at.run()
    assert any("def to_mnist" in c.value for c in at.code)
    overview2, pair = galleries(at)
    assert overview2 == overview
    # Layer 0 (a conv) in detail: all kernels and all feature maps as pictures (PNG), beside
    # the picture of the input; then one channel's kernel and map as heatmaps whose values
    # are the model's own.
    assert expected.layers[0].kind == "Conv2d"
    urls = [u for img in at.get("image") for u in img.value]
    assert len(urls) == 1 and urls[0].endswith(".png")  # what the network sees
    assert [i["title"] for i in pair["items"]] == [
        "Learned kernels (3×3, input channel 0)", f"Feature maps, output {shape(expected.layers[0].shape)}"]
    kernels = weights[:, 0]
    np.testing.assert_array_equal(np.asarray(picture(pair["items"][0])),
                                  figures.labelled_montage(kernels, tile_px=36, symmetric=True, selected=0))
    assert at.slider(key="draw_channel_0").max == expected.layers[0].shape[1] - 1
    kernel, fmap = heatmaps(at)
    np.testing.assert_allclose(kernel, weights[0, 0], rtol=1e-6)
    np.testing.assert_allclose(fmap, expected.layers[0].values[0], rtol=1e-5, atol=1e-6)
    at.slider(key="draw_channel_0").set_value(5).run()
    assert "Channel 5 up close" in texts(at.markdown)
    kernel, fmap = heatmaps(at)
    np.testing.assert_allclose(kernel, weights[5, 0], rtol=1e-6)
    np.testing.assert_allclose(fmap, expected.layers[0].values[5], rtol=1e-5, atol=1e-6)
    # A conv layer with several input channels: a slider picks which slice of the kernels to show.
    deep = next(layer for layer in expected.layers[1:] if layer.kind == "Conv2d")
    c_in = expected.layers[deep.index - 1].shape[1]
    at.selectbox(key="draw_layer").set_value(deep.index).run()
    assert not at.exception
    assert at.slider(key=f"draw_kernel_in_{deep.index}").max == c_in - 1
    assert galleries(at)[1]["items"][1]["title"] == f"Feature maps, output {shape(deep.shape)}"
    at.slider(key=f"draw_kernel_in_{deep.index}").set_value(2)
    at.slider(key=f"draw_channel_{deep.index}").set_value(7).run()
    kernel, fmap = heatmaps(at)
    np.testing.assert_allclose(kernel, model.model[deep.index].weight.detach().numpy()[7, 2], rtol=1e-6)
    np.testing.assert_allclose(fmap, expected.layers[deep.index].values[7], rtol=1e-5, atol=1e-6)
    # A pooling layer: its maps as a picture, one channel as a heatmap.
    pool = next(layer for layer in expected.layers if layer.kind == "MaxPool2d")
    at.selectbox(key="draw_layer").set_value(pool.index).run()
    assert [i["title"] for i in galleries(at)[1]["items"]] == [f"Feature maps, output {shape(pool.shape)}"]
    (fmap,) = heatmaps(at)
    np.testing.assert_allclose(fmap, pool.values[0], rtol=1e-5, atol=1e-6)
    # Closed and opened again, and after another drawing, the detail is as the student left it.
    at.selectbox(key="draw_layer").set_value(deep.index).run()
    at.slider(key=f"draw_channel_{deep.index}").set_value(7).run()
    at.session_state["draw_detail_open"] = False
    at.run()
    assert not heatmaps(at) and len(galleries(at)) == 1
    inject(at, DRAWINGS / "3_00.png")
    at.run()
    at.session_state["draw_detail_open"] = True
    at.run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="draw_layer").value == deep.index
    assert at.slider(key=f"draw_channel_{deep.index}").value == 7
    at.selectbox(key="draw_layer").set_value(len(expected.layers) - 1).run()
    assert "Output [1, 10]: 10 numbers" in texts(at.markdown)
    # Clear empties the canvas (a new key) and the prediction is gone.
    at.button(key="draw_clear").click().run()
    assert not at.metric and "Draw a digit on the canvas" in texts(at.info)
    assert "last_drawing" not in at.session_state


def test_random_real_digit_goes_through_the_same_pipeline():
    at = page()
    at.run()
    assert not at.metric and "Draw a digit on the canvas" in texts(at.info)
    at.button(key="draw_random").click().run()
    assert not at.exception
    src = at.session_state["draw_source"]
    ds = data.load("mnist")
    model = checkpoints.load(checkpoints.shipped_path("mnist"))
    expected = preprocess.preprocess(ds.test_x[src["index"]].numpy()).image
    top = inference.run(model.model, expected, model.spec).prediction.top
    assert [m.value for m in at.metric] == [str(top)]
    assert f"#{src['index']}" in texts(at.caption)
    np.testing.assert_array_equal(at.session_state["last_drawing"], expected)


def test_dot_and_blank_say_so_instead_of_guessing():
    dot = np.zeros((280, 280, 4), np.uint8)
    dot[..., 3] = 255
    dot[135:147, 135:147, :3] = 255
    buf = io.BytesIO()
    Image.fromarray(dot).save(buf, "PNG")
    at = page()
    inject(at, buf.getvalue())
    at.run()
    assert not at.exception and not at.metric
    assert "too small to read" in texts(at.warning)
    blank = io.BytesIO()
    Image.fromarray(np.zeros((280, 280, 4), np.uint8)).save(blank, "PNG")
    at = page()
    inject(at, blank.getvalue())
    at.run()
    assert not at.exception and not at.metric and "Draw a digit" in texts(at.info)


def test_probabilities_are_the_models_own_and_the_prediction_stands_out():
    model = checkpoints.load(checkpoints.shipped_path("mnist"))
    image = preprocess.preprocess(preprocess.load_image(DRAWINGS / "3_00.png")).image
    expected = inference.run(model.model, image, model.spec).prediction
    at = page()
    inject(at, DRAWINGS / "3_00.png")
    at.run()
    (bars,) = components(at, "bars")
    np.testing.assert_allclose(bars["values"], expected.probs, rtol=1e-6)
    assert bars["labels"] == [str(c) for c in range(10)] and bars["top"] == expected.top
    assert bars["hovers"][expected.top] == f"{expected.top}: {expected.probs[expected.top]:.2%}"
    assert [m.value for m in at.metric] == [str(expected.top)]


def test_a_corrupt_drawing_says_so_and_the_page_still_works():
    at = page()
    at.session_state["draw_canvas_0"] = {"drawing": {"png": "data:image/png;base64,bm90IGEgcG5n", "strokes": 2}}
    at.run()
    assert not at.exception and not at.metric
    assert "This drawing cannot be read" in texts(at.error)
    at.button(key="draw_clear").click().run()  # Clear remounts the canvas empty: the page is back
    assert not at.exception and not at.error and "Draw a digit" in texts(at.info)
    inject(at, DRAWINGS / "7_00.png", n=at.session_state["draw_canvas_n"])
    at.run()
    assert [m.value for m in at.metric] == ["7"]


def test_undoing_every_stroke_empties_the_page():
    at = page()
    inject(at, DRAWINGS / "7_00.png")
    at.run()
    assert [m.value for m in at.metric] == ["7"]
    at.session_state["draw_canvas_0"] = {"drawing": {"png": None, "strokes": 0}}  # what ↶ sends last
    at.run()
    assert not at.exception and not at.metric and "Draw a digit" in texts(at.info)


@pytest.mark.parametrize("lang", ["ko"])
def test_broken_model_falls_back_and_korean_text(tmp_path, lang):
    broken = tmp_path / "broken.pt"  # a download cut off half way
    whole = checkpoints.shipped_path("mnist").read_bytes()
    broken.write_bytes(whole[: len(whole) // 2])
    at = page()
    at.session_state["lang"] = lang
    at.session_state["model_path"] = str(broken)
    at.session_state["draw_detail_open"] = True
    inject(at, DRAWINGS / "1_00.png")
    at.run()
    assert not at.exception
    assert "broken.pt" in texts(at.warning)  # says which file and why
    assert [m.value for m in at.metric] == ["1"]  # and still reads with the shipped model
    assert at.title[0].value == "숫자 그리기"
    assert "한 층 자세히 보기" in at.expander[-1].label
    assert "0번 채널 자세히 보기" in texts(at.markdown)  # the layer detail speaks Korean too
    assert "자세히 볼 채널" in at.slider(key="draw_channel_0").label
