"""The loss lab's charts: plain specs (`cnndemo.figures.spec`) that plotly's own validation
accepts unchanged, with the bars, texts and points a student reads."""
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from cnndemo.figures import losses as fl


def _json(d):
    return json.loads(pio.to_json(d))


def _validated(fig):
    """The figure as plotly's fully validating constructor builds it from our spec."""
    return _json(go.Figure(fig.to_dict()).to_dict())


P = np.array([0.05, 0.1, 0.5, 0.2, 0.15])
X = np.linspace(0.0, 1.0, 6)
CURVES = {"ce": -np.log(X), "mse": (1 - X) ** 2, "l1": np.abs(1 - X)}
NAMES = {"ce": "CE", "mse": "MSE", "l1": "L1"}


def test_every_loss_chart_is_what_plotly_validates():
    figs = [fl.prob_bars(P, range(5), highlight=2, title="p", height=320),
            fl.prob_bars(P, list("abcde")),
            fl.dist_pair_bars(P, np.full(5, 0.2), range(1, 6)),
            fl.curves_with_point(X, CURVES, NAMES, 0.4, {"ce": 0.9, "mse": 0.36, "l1": 0.6},
                                 "q", "loss", title="t", y_range=(0, 3)),
            fl.curves_with_point(X, CURVES, NAMES, None, None, "q", "loss")]
    for fig in figs:
        assert _json(fig.to_dict()) == _validated(fig)
        assert fig.to_dict()["layout"]["template"]  # plotly's default look, as before


def test_prob_bars_mark_the_true_class_and_print_every_probability():
    d = _json(fl.prob_bars(P, range(5), highlight=2, title="p").to_dict())
    bar = d["data"][0]
    assert bar["text"] == ["0.050", "0.100", "0.500", "0.200", "0.150"]
    assert bar["x"] == ["0", "1", "2", "3", "4"]
    colours = bar["marker"]["color"]
    assert colours[2] == fl.COLORS["q"] and set(colours[:2] + colours[3:]) == {fl.COLORS["p"]}
    assert d["layout"]["title"]["text"] == "p" and d["layout"]["xaxis"]["type"] == "category"


def test_curves_leave_a_gap_at_infinity_and_mark_the_point():
    fig = fl.curves_with_point(X, CURVES, NAMES, 0.4, {"ce": 0.9, "mse": 0.36, "l1": float("inf")},
                               "q", "loss")
    ce = fig.data[0]
    assert np.isnan(ce.y[0]) and np.isfinite(ce.y[1:]).all()  # CE at q = 0
    points = [t for t in fig.data if t.mode == "markers"]
    assert [(t.x[0], t.y[0]) for t in points] == [(0.4, 0.9), (0.4, 0.36)]  # no point at inf
    (line,) = fig.layout.shapes
    assert (line.x0, line.x1, line.yref) == (0.4, 0.4, "y domain")
