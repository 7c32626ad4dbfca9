"""The regression animation's frames are built as plain specs (no per-property validation):
they must be exactly what plotly's full validation makes of them."""
import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from cnndemo.figures import gradients as F
from cnndemo.lessons import gradients as G


def test_regression_animation_frames_equal_plotlys_validated_frames():
    x, y = G.regression_data(noise=1.0, seed=777)
    run = G.fit_line(x, y, lr=0.01, steps=300, seed=777)
    grid = G.loss_surface(x, y, (-2, 12), (-6, 10), n=30)
    labels = {k: k for k in ("data", "surface", "points", "truth", "line", "path", "step")}
    labels["title"] = "step {step}: w = {w:.3f}, b = {b:.3f}"
    fig = F.regression_animation(x.numpy(), y.numpy(), run.w, run.b, grid, labels)
    fast = json.loads(pio.to_json(fig, validate=False))
    checked = json.loads(pio.to_json(go.Figure(fig.to_dict()), validate=True))
    assert fast == checked
    last = fast["frames"][-1]
    k = int(last["name"])
    path = last["data"][1]
    assert _values(path["x"])[-1] == run.w[k] and _values(path["y"])[-1] == run.b[k]
    assert last["layout"]["title"]["text"] == labels["title"].format(step=k, w=run.w[k], b=run.b[k])


def _values(v):
    """A plotly JSON array: a list, or a typed array ({'dtype', 'bdata'} in base64)."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return v
