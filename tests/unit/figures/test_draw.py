"""cnndemo.figures.draw: the layer pictures hold the real channels, the heatmaps the real values."""
import base64

import numpy as np
import pytest

from cnndemo.figures import draw as D
from cnndemo.figures import images


def _tile_origins(pic):
    """Where the tiles start: the first row and column of every run of opaque pixels."""
    opaque = pic[..., 3] == 255
    ys = [y for y in range(pic.shape[0]) if opaque[y].any() and (y == 0 or not opaque[y - 1].any())]
    xs = [x for x in range(pic.shape[1]) if opaque[:, x].any() and (x == 0 or not opaque[:, x - 1].any())]
    return ys, xs


def test_montage_tiles_every_channel_on_its_own_scale_in_crisp_cells():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(10, 6, 6)).astype(np.float32)
    maps[7] = 0.0  # a dead channel (after ReLU) is black, not grey
    pic = D.labelled_montage(maps, cols=4, tile_px=24, numbers=False)
    assert pic.dtype == np.uint8 and pic.shape[2] == 4
    ys, xs = _tile_origins(pic)
    assert len(ys) == 3 and len(xs) == 4  # 10 channels, 4 a row
    for i in range(10):
        y, x = ys[i // 4], xs[i % 4]
        tile = pic[y:y + 24, x:x + 24, :3]
        cells = tile[::4, ::4]
        assert (np.repeat(np.repeat(cells, 4, 0), 4, 1) == tile).all()  # each value a 4x4 block
        expected = images.scale_rgb(D.tile_values(maps[i]), "gray")
        np.testing.assert_array_equal(cells, expected)
        if i != 7:  # the channel's own minimum is black, its maximum the scale's white end
            assert cells[np.unravel_index(maps[i].argmin(), (6, 6))].tolist() == [0, 0, 0]
            assert cells[np.unravel_index(maps[i].argmax(), (6, 6))].tolist() == [254, 254, 253]
    assert (pic[ys[1]:ys[1] + 24, xs[3]:xs[3] + 24, :3] == 0).all()  # channel 7
    assert (pic[:ys[0], :, 3] == 0).all()  # the gaps are transparent


def test_kernels_are_red_where_positive_and_the_selected_channel_is_framed_and_numbered():
    k = np.zeros((3, 3, 3), np.float32)
    k[:, 0, 0], k[:, 2, 2] = 1.0, -2.0
    plain = D.labelled_montage(k, tile_px=30, symmetric=True)
    framed = D.labelled_montage(k, tile_px=30, symmetric=True, selected=1)
    assert plain.shape == framed.shape
    ys, xs = _tile_origins(plain)
    y, x = ys[-1], xs[0]  # the tiles' row (the numbers are drawn above it)
    red, blue = plain[y + 2, x + 2, :3], plain[y + 25, x + 25, :3]
    assert red[0] > red[2] and blue[2] > blue[0]
    assert len(xs) == 3
    x1 = xs[1]
    frame = framed[y - 2, x1 + 15, :3].tolist()
    assert frame == list(D._rgb(D.ACCENT)) and plain[y - 2, x1 + 15, 3] == 0
    label_band = plain[:y - 3, :, 3]
    assert label_band.any()  # the channel numbers above the tiles


def test_heatmap_data_carries_the_real_values_hover_text_and_plotlys_colours():
    import plotly.colors

    m = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    data = D.heatmap_data(m, "value %{z:.3f}", height=200)
    np.testing.assert_array_equal(np.asarray(data["z"], np.float32), m)
    assert (data["zmin"], data["zmax"]) == (-5, 6)
    assert data["hover"] == "value %{z:.3f}" and data["text"] is False and data["height"] == 200
    gray = plotly.colors.get_colorscale("gray")
    assert [p for p, _ in data["stops"]] == pytest.approx([p for p, _ in gray], abs=1e-5)
    assert data["stops"][-1][1] == [int(v) for v in plotly.colors.unlabel_rgb(gray[-1][1])]
    kernel = D.heatmap_data(np.array([[0.5, -2.0]]), "w %{z}", symmetric=True, write_values=True)
    assert (kernel["zmin"], kernel["zmax"]) == (-2.0, 2.0)  # zero is the middle colour
    assert kernel["text"] is True
    blue = plotly.colors.get_colorscale("RdBu_r")[0][1]
    assert kernel["stops"][0][1] == [int(v) for v in plotly.colors.unlabel_rgb(blue)]
    flat = D.heatmap_data(np.full((2, 2), 0.5), "v")
    assert flat["zmax"] > flat["zmin"]  # a flat map still has a range to colour


def test_probs_data_marks_the_prediction_and_writes_the_values():
    probs = np.array([0.005, 0.9712, 0.0238] + [0.0] * 7)
    data = D.probs_data(probs, [str(i) for i in range(10)], 1, "probability")
    assert data["values"][1] == pytest.approx(0.9712) and len(data["values"]) == 10
    assert data["top"] == 1 and data["axis"] == "probability"
    assert data["texts"][:3] == ["", "97%", "2%"]  # under 1% is left unwritten
    assert data["hovers"][1] == "1: 97.12%"


def test_overview_montage_is_torchvisions_make_grid_of_every_channel_on_its_own_scale():
    import torch
    from torchvision.utils import make_grid

    rng = np.random.default_rng(1)
    for shape in [(32, 28, 28), (64, 7, 7), (10, 14, 14), (1, 5, 5)]:
        maps = rng.normal(size=shape).astype(np.float32)
        maps[0] = 3.0  # a flat channel
        grid = make_grid(torch.from_numpy(maps)[:, None], nrow=min(8, shape[0]),
                         padding=max(1, shape[1] // 7), normalize=True, scale_each=True,
                         pad_value=0.35)[0].numpy()
        factor = max(1, round(360 / max(grid.shape)))
        np.testing.assert_array_equal(D.montage_image(maps, cols=8, target_px=360),
                                      D.upscale(grid, factor))
        np.testing.assert_array_equal(D.montage_image(maps, cols=8, target_px=None), D.upscale(grid, 1))


def test_gallery_data_carries_each_png_unchanged_and_its_words_as_plain_text():
    pics = [images.png(D.upscale(np.eye(4, dtype=np.float32), 3)), images.png(D.montage_image(np.ones((2, 3, 3))))]
    d = D.gallery_data([{"png": pics[0], "title": "Feature maps", "caption": "0: Conv2d · ", "code": "[1, 2]"},
                        {"png": pics[1], "caption": "<b>not html</b>"}], [2, 3])
    assert d["widths"] == [2.0, 3.0]
    for item, raw in zip(d["items"], pics):
        head, _, b64 = item["src"].partition(",")
        assert head == "data:image/png;base64" and base64.b64decode(b64) == raw
    first, second = d["items"]
    assert (first["title"], first["caption"], first["code"]) == ("Feature maps", "0: Conv2d · ", "[1, 2]")
    assert first["alt"] == "Feature maps 0: Conv2d ·  [1, 2]"
    assert (second["title"], second["caption"], second["code"]) == ("", "<b>not html</b>", "")
    assert [(i["w"], i["h"]) for i in d["items"]] == [(12, 12), D.montage_image(np.ones((2, 3, 3))).shape[::-1]]
    assert not d["pixelated"] and D.gallery_data([], [1], pixelated=True)["pixelated"]
    with pytest.raises(ValueError):
        D.png_size(b"GIF89a" + bytes(30))
