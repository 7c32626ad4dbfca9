"""The fine-tune's before/after accuracy as grouped bars (one group per evaluation set)."""
from __future__ import annotations

import plotly.graph_objects as go


def before_after_figure(names: list, before: list, after: list, labels: dict) -> go.Figure:
    """`names`: the sets; `before`/`after`: accuracies in 0..1 (None: not measured)."""
    fig = go.Figure()
    for key, values, color in (("before", before, "#9aa5b1"), ("after", after, "#2f6fde")):
        ys = [None if v is None else 100.0 * v for v in values]
        fig.add_trace(go.Bar(name=labels[key], x=names, y=ys, marker_color=color,
                             text=["" if y is None else f"{y:.1f}%" for y in ys],
                             textposition="outside", hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
    fig.update_layout(barmode="group", height=320, template="plotly_white",
                      margin=dict(l=50, r=10, t=30, b=40), legend=dict(orientation="h", y=1.12),
                      yaxis=dict(title=labels["acc"], range=[0, 109], ticksuffix="%"))
    return fig
