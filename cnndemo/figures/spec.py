"""Plotly figures from plain specs (dicts of `data`, `layout` and `frames`), for the charts a
class changes on every move of a slider.

Building a figure with plotly's graph objects validates it property by property, and
`to_dict()` then copies it all again: a bar chart of ten probabilities took 15 ms plus 1 ms, and
the animated step figure of the convolution page 10 ms and more. Here the figure is built without
validation and its `to_dict()` gives the finished spec (the default template added, as plotly
adds it), so neither `ui.common.shared_figure` nor `st.plotly_chart` copies it again. The specs
are this package's own; the tests build each kind with plotly's full validation and compare.

The dict that `to_dict()` returns is the figure's own and may be shared by the whole class
(`shared_figure`): read it, never change it.
"""
from __future__ import annotations

import functools

import plotly.graph_objects as go
from plotly.basedatatypes import BaseFigure


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    """The template plotly's own `to_dict()` puts into every figure's layout."""
    return go.Figure().to_dict()["layout"]["template"]


def figure(spec: dict) -> go.Figure:
    """A figure of `spec`; attributes read as plotly's, `to_dict()` is the finished spec."""
    # plotly takes each trace's "type" out of its dict while it builds the trace, even
    # unvalidated: it gets copies, as a spec may be shared by the whole class
    frames = [{**f, "data": [dict(t) for t in f.get("data", [])]} for f in spec.get("frames") or ()]
    fig = go.Figure({**{k: v for k, v in spec.items() if k != "frames"},
                     "data": [dict(t) for t in spec.get("data", [])]}, _validate=False)
    if frames:  # plotly validates frames even with _validate=False on the figure
        fig._frame_objs = tuple(go.Frame(f, _validate=False) for f in frames)
    done = _finished(spec)
    object.__setattr__(fig, "to_dict", lambda: done)
    return fig


def _finished(spec: dict) -> dict:
    layout = spec.get("layout", {})
    done = {"data": list(spec.get("data", [])),
            "layout": layout if "template" in layout else {**layout, "template": _template()}}
    if spec.get("frames"):
        done["frames"] = list(spec["frames"])
    return done


class Served(BaseFigure):
    """A finished spec for `st.plotly_chart`, which reads nothing of a figure but `to_dict()`:
    no graph objects are built at all (an animated figure's frames are most of the cost of
    `figure`). Only `to_dict()` works on it; to look inside, use `figure`."""

    def __init__(self, spec: dict):  # BaseFigure.__init__ is what this skips
        object.__setattr__(self, "_done", _finished(spec))

    def to_dict(self) -> dict:
        return self._done
