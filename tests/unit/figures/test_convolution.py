"""The conv/pool figures print the right numbers and outline the right cells."""
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from cnndemo.figures import convolution as fc
from cnndemo.figures.spec import Served
from cnndemo.figures.spec import figure as _figure
from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters


def _rows(text):
    return [list(r) for r in text]


def test_number_grid_prints_every_value_and_outlines_the_window():
    fig = fc.number_grid([[1, 2], [3, 4.5]], "t", highlight=[(0, 1)], winners=[(1, 0)])
    assert _rows(fig.data[0].text) == [["1.00", "2.00"], ["3.00", "4.50"]]  # one format per grid
    boxes = [(s.line.color, s.x0 + 0.5, s.y0 + 0.5) for s in fig.layout.shapes]
    assert boxes == [(fc.WINDOW, 1, 0), (fc.WINNER, 0, 1)]
    assert _rows(fc.number_grid(np.eye(2)).data[0].text) == [["1", "0"], ["0", "1"]]


def test_padding_cells_are_grey_and_framed():
    res = ops.conv2d(np.ones((2, 2)), np.ones((3, 3)), padding=1)
    fig = fc.number_grid(res.padded[0], pad=1)
    z = np.array(fig.data[0].z, dtype=float)
    assert np.isnan(z[0]).all() and np.isnan(z[:, -1]).all() and not np.isnan(z[1:3, 1:3]).any()
    frame = fig.layout.shapes[-1]
    assert (frame.x0, frame.x1, frame.line.dash) == (0.5, 2.5, "dash")


def test_step_figure_animates_every_window_and_fills_the_output():
    res = ops.conv2d([[1, 2, 3], [2, 1, 0], [3, 0, 1]], [[1, 0], [1, 0]], bias=5)
    fig = fc.step_figure(res, 2, animate=True)
    frames = fig.to_dict()["frames"]  # as the browser gets them
    assert len(frames) == 4
    assert _rows(frames[0]["data"][0]["text"]) == [["8", ""], ["", ""]]
    assert _rows(frames[-1]["data"][0]["text"]) == [["8", "8"], ["10", "6"]]
    window = [(s.y0 + 0.5, s.x0 + 0.5) for s in fig.layout.shapes if s.xref == "x"]
    assert window == [(1, 0), (1, 1), (2, 0), (2, 1)]  # step 2 = output (1, 0)


def test_maps_row_and_volume_boxes():
    maps = filters.apply_all(np.eye(6), ["identity", "blur"])
    fig = fc.maps_row(maps, cols=2)
    assert [a.text for a in fig.layout.annotations] == ["identity", "blur"]
    vol = fc.volume_boxes([("input", (1, 28, 28)), ("pool", (32, 14, 14))])
    meshes = [d for d in vol.data if d.type == "mesh3d"]
    assert "32 × 14 × 14" in meshes[1].hovertext
    assert max(meshes[1].x) - min(meshes[1].x) == pytest.approx(32 * 0.25)  # channels to scale
    assert max(meshes[1].z) - min(meshes[1].z) == 14


def _validated(fig):
    """The figure as plotly's own, fully validated constructor builds it."""
    return go.Figure(fig.to_dict()).to_dict()


def test_unvalidated_builders_give_what_plotly_validates():
    res = ops.conv2d(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), padding=1, stride=2)
    figs = [fc.number_grid(res.padded[0], "t", pad=1, highlight=[(0, 0)], winners=[(1, 1)]),
            fc.step_figure(res, 1, animate=True, titles=("in", "out")),
            fc.volume_boxes([("input", (1, 28, 28)), ("pool", (32, 14, 14))])]
    for fig in figs:
        want = _validated(fig)
        assert json.loads(pio.to_json(fig.to_dict())) == json.loads(pio.to_json(want))
    assert len(figs[1].to_dict()["frames"]) == len(res.steps) == 4


def test_step_figure_places_its_subplots_as_make_subplots_does():
    res = ops.conv2d(np.ones((5, 5)), np.ones((2, 2)), padding=1)
    fig = fc.step_figure(res, 0, titles=("in", "out"))
    hp, wp = res.padded[0].shape
    ho, wo = res.output.shape
    ref = make_subplots(1, 2, column_widths=[wp / (wp + wo), wo / (wp + wo)],
                        horizontal_spacing=0.06, subplot_titles=("in", "out"))
    for axis in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        assert fig.layout[axis].domain == pytest.approx(ref.layout[axis].domain)
        assert fig.layout[axis].anchor == ref.layout[axis].anchor
    for got, want in zip(fig.layout.annotations, ref.layout.annotations):
        assert (got.text, got.x, got.y, got.yanchor) == (want.text, pytest.approx(want.x),
                                                          want.y, want.yanchor)


def test_the_step_slider_changes_only_the_outlines_of_one_shared_spec():
    """The page builds `step_spec` once per convolution for the whole class and serves each
    step as `step_at` of it: the same figure as `step_figure`, and the shared spec untouched,
    from 8 threads at once as from one."""
    res = ops.conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)), padding=1)
    spec = fc.step_spec(res, titles=("in", "out"), animate=True)
    before = json.loads(pio.to_json(spec))

    def served(k):  # as st.plotly_chart writes it; and a full figure of the same shared spec
        page = json.loads(pio.to_json(Served(fc.step_at(spec, res, k)).to_dict(), validate=False))
        full = _figure(fc.step_at(spec, res, k))
        assert json.loads(pio.to_json(full.to_dict(), validate=False)) == page
        return page

    serial = [served(k) for k in range(len(res.steps))]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(served, [k for k in range(len(res.steps)) for _ in range(8)]))
    assert parallel == [s for s in serial for _ in range(8)]
    for k in (0, 7, len(res.steps) - 1):
        want = fc.step_figure(res, k, titles=("in", "out"), animate=True)
        got = Served(fc.step_at(spec, res, k)).to_dict()
        assert json.loads(pio.to_json(got)) == json.loads(pio.to_json(_validated(want)))
        cell = [(s["y0"] + 0.5, s["x0"] + 0.5) for s in serial[k]["layout"]["shapes"]
                if s["xref"] == "x2"]
        assert cell == [(res.steps[k].row, res.steps[k].col)]
    assert json.loads(pio.to_json(spec)) == before


def test_plotly_writes_the_charts_with_orjson_and_the_same_json():
    """requirements.txt installs orjson, which plotly then uses for every chart st.plotly_chart
    sends (the animated step figure: 25 ms with the standard library, 1.4 ms with orjson)."""
    import orjson  # noqa: F401 - the dependency itself

    res = ops.conv2d(np.arange(49.0).reshape(7, 7), np.ones((3, 3)), padding=1)
    d = Served(fc.step_at(fc.step_spec(res, animate=True), res, 3)).to_dict()
    assert pio.json.config.default_engine in ("auto", "orjson")
    fast = pio.to_json(d, validate=False, engine="orjson")
    assert json.loads(fast) == json.loads(pio.to_json(d, validate=False, engine="json"))
    assert pio.to_json(d, validate=False) == fast  # what streamlit calls
