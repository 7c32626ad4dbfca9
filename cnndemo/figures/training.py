"""Plotly figures of the training lab: curves, comparisons, confusion matrix, image grids.

Arrays and plain lists in, figures out; nothing here trains or knows about Streamlit.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2"]
TRAIN_COLOR, TEST_COLOR = "#1f77b4", "#d62728"


def batch_x(point: dict) -> float:
    """Where a batch sits on the epoch axis: epoch 1, batch 30 of 60 -> 0.5."""
    return point["epoch"] - 1 + point["batch"] / max(point.get("n_batches") or 1, 1)


def _layout(fig, height, title=None):
    fig.update_layout(height=height, margin=dict(l=50, r=20, t=50 if title else 30, b=40),
                      title=title, legend=dict(orientation="h", y=-0.18),
                      template="plotly_white")
    return fig


def _two_panels(panels: tuple[list, list], titles: tuple[str, str], height: int, axes: tuple[dict, dict],
                x_axis: dict, title: str | None = None, shapes: list | None = None,
                annotations: list | None = None) -> go.Figure:
    """Two side-by-side panels (loss, accuracy) built in ONE constructor call: what
    make_subplots + add_trace + update_* draw, without validating the figure a dozen times
    (the live curves are redrawn every second for every student whose run is training)."""
    data = [dict(t, xaxis="x", yaxis="y") for t in panels[0]]
    data += [dict(t, xaxis="x2", yaxis="y2") for t in panels[1]]
    notes = [dict(text=text, x=x, y=1.0, xref="paper", yref="paper", xanchor="center",
                  yanchor="bottom", showarrow=False, font=dict(size=16))
             for text, x in zip(titles, (0.225, 0.775))]
    layout = dict(
        xaxis=dict(x_axis, domain=[0.0, 0.45], anchor="y"),
        xaxis2=dict(x_axis, domain=[0.55, 1.0], anchor="y2"),
        yaxis=dict(axes[0], domain=[0.0, 1.0], anchor="x"),
        yaxis2=dict(axes[1], domain=[0.0, 1.0], anchor="x2"),
        annotations=notes + (annotations or []), shapes=shapes or [],
        height=height, margin=dict(l=50, r=20, t=50 if title else 30, b=40),
        title=title, legend=dict(orientation="h", y=-0.18), template="plotly_white")
    return go.Figure(data=[go.Scatter(t) for t in data], layout=layout)


def curves_figure(batches: list, epochs: list, labels: dict, overfit_epoch: int | None = None,
                  title: str | None = None) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs: the live per-batch training values
    as a thin line, and the per-epoch train and test values as markers and lines.

    `labels` holds the translated words: loss, acc, epoch, train_batches, train, test, overfit.
    """
    bx = [batch_x(b) for b in batches]
    ex = [e["epoch"] for e in epochs]
    panels = ([], [])
    for col, (bkey, tr_key, te_key) in enumerate(
            [("loss", "train_loss", "test_loss"), ("acc", "train_acc", "test_acc")]):
        show = col == 0
        if batches:
            panels[col].append(dict(x=bx, y=[b[bkey] for b in batches], mode="lines",
                                    line=dict(color=TRAIN_COLOR, width=1), opacity=0.35,
                                    name=labels["train_batches"], legendgroup="b", showlegend=show))
            live = [b for b in batches if te_key in b]
            if live:
                panels[col].append(dict(x=[batch_x(b) for b in live], y=[b[te_key] for b in live],
                                        mode="lines+markers", opacity=0.5, marker=dict(size=4),
                                        line=dict(color=TEST_COLOR, width=1), name=labels["test_live"],
                                        legendgroup="tl", showlegend=show))
        if epochs:
            panels[col].append(dict(x=ex, y=[e[tr_key] for e in epochs], mode="lines+markers",
                                    line=dict(color=TRAIN_COLOR, width=3), name=labels["train"],
                                    legendgroup="tr", showlegend=show))
            panels[col].append(dict(x=ex, y=[e[te_key] for e in epochs], mode="lines+markers",
                                    line=dict(color=TEST_COLOR, width=3), name=labels["test"],
                                    legendgroup="te", showlegend=show))
    shapes, notes = [], []
    if overfit_epoch is not None:
        shapes = [dict(type="line", x0=overfit_epoch, x1=overfit_epoch, xref=xref, y0=0, y1=1,
                       yref=f"{yref} domain", line=dict(color="#ff7f0e", dash="dash", width=2))
                  for xref, yref in (("x", "y"), ("x2", "y2"))]
        notes = [dict(x=overfit_epoch, y=1.0, yref="y domain", xref="x", text=labels["overfit"],
                      showarrow=False, xanchor="left", font=dict(color="#ff7f0e"),
                      bgcolor="rgba(255,255,255,0.8)")]
    return _two_panels(panels, (labels["loss"], labels["acc"]), 360,
                       (dict(rangemode="tozero"), dict(range=[0, 1.02], tickformat=".0%")),
                       dict(title=dict(text=labels["epoch"]), rangemode="tozero"), title, shapes, notes)


def comparison_figure(runs: list, labels: dict) -> go.Figure:
    """Several runs on shared axes: test (solid) and train (dashed) loss and accuracy.

    `runs`: list of {"label", "epochs": [{"epoch", "train_loss", ...}]}.
    """
    panels = ([], [])
    for i, run in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        ex = [e["epoch"] for e in run["epochs"]]
        for col, key in enumerate(("loss", "acc")):
            for split, dash in (("test", "solid"), ("train", "dot")):
                panels[col].append(dict(
                    x=ex, y=[e[f"{split}_{key}"] for e in run["epochs"]], mode="lines+markers",
                    line=dict(color=color, dash=dash, width=3 if split == "test" else 2),
                    name=f"{run['label']} ({labels[split]})", legendgroup=f"{i}{split}",
                    showlegend=col == 0))
    # different losses (MSE ~0.01, cross-entropy ~0.5) only share an axis on a log scale
    return _two_panels(panels, (labels["loss"], labels["acc"]), 420,
                       (dict(type="log"), dict(tickformat=".0%")),
                       dict(title=dict(text=labels["epoch"]), dtick=1))


def confusion_figure(confusion: list, classes: list, labels: dict,
                     selected: tuple | None = None) -> go.Figure:
    """Confusion matrix: rows are true classes, columns predicted; counts printed in cells.

    The diagonal (right answers) would swamp the colours, so cells are coloured by count
    with the diagonal drawn on its own green scale.
    """
    cm = np.asarray(confusion)
    names = [str(c) for c in classes]
    off = cm.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    diag = np.full(cm.shape, np.nan)
    np.fill_diagonal(diag, np.diag(cm))
    hover = labels["hover"] + "<extra></extra>"
    eye = np.eye(len(cm), dtype=bool)

    def counts(mask):  # each heatmap prints its own cells' counts (plotly picks a text
        return np.where(mask & (cm > 0), cm.astype(str), "")  # colour that reads on the cell)

    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=diag, x=names, y=names, colorscale="Greens", showscale=False,
                             zmin=0, zmax=max(1, int(np.diag(cm).max())), hovertemplate=hover,
                             xgap=1, ygap=1, text=counts(eye), texttemplate="%{text}",
                             textfont=dict(size=13)))
    fig.add_trace(go.Heatmap(z=off, x=names, y=names, colorscale="Reds", showscale=False,
                             zmin=0, zmax=max(1.0, np.nanmax(off) if off.size > 1 else 1.0),
                             hovertemplate=hover, xgap=1, ygap=1, text=counts(~eye),
                             texttemplate="%{text}", textfont=dict(size=13)))
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5,
                      line=dict(color="#1f77b4", width=4))
    fig.update_xaxes(title_text=labels["pred"], side="top", tickangle=-30 if len(
        max(names, key=len)) > 2 else 0)
    fig.update_yaxes(title_text=labels["true"], autorange="reversed")
    fig.update_layout(height=480, margin=dict(l=90, r=10, t=90, b=10),
                      template="plotly_white", plot_bgcolor="white")
    return fig


def per_class_figure(per_class: list, classes: list, labels: dict) -> go.Figure:
    vals = [v if v is not None else 0.0 for v in per_class]
    worst = int(np.argmin(vals)) if vals else -1
    fig = go.Figure(go.Bar(
        x=[str(c) for c in classes], y=vals, text=[f"{v:.0%}" for v in vals],
        textposition="outside",
        marker_color=["#d62728" if i == worst else "#2ca02c" for i in range(len(vals))]))
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text=labels["acc"])
    fig.update_xaxes(title_text=labels["class"])
    return _layout(fig, 300)


def image_grid(images: np.ndarray, titles: list, cols: int = 8,
               height_per_row: int = 120) -> go.Figure:
    """Small grayscale images (uint8 [N, 28, 28], white ink on black) with a caption each.

    The images travel as ONE PNG in one image trace (nobody hovers over them), the captions
    as annotations: a facet per image made plotly build and serialize a subplot each, about
    70 ms of the server's CPU per grid on every rerun of the page."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    rows = max(1, -(-n // cols))
    gap, band = max(2, w // 7), max(8, h // 3)  # between tiles; room for a caption above each
    cell_w, cell_h = w + gap, h + band
    sheet = np.full((rows * cell_h, cols * cell_w - gap), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = r * cell_h + band, c * cell_w
        sheet[y:y + h, x:x + w] = np.clip(img, 0, 255).astype(np.uint8)
    notes = [dict(x=(i % cols) * cell_w + w / 2, y=(i // cols) * cell_h + band - 1, text=str(t),
                  showarrow=False, yanchor="bottom", font=dict(size=11, color="#333"))
             for i, t in enumerate(titles[:n])]
    hidden = dict(visible=False, showgrid=False, zeroline=False)
    return go.Figure(
        go.Image(source=_png_uri(sheet), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        # no template: validating one (plotly_white) is most of the cost of building a figure
        layout=dict(height=rows * height_per_row + 40, margin=dict(l=5, r=5, t=5, b=5),
                    paper_bgcolor="white", plot_bgcolor="white", annotations=notes,
                    xaxis=dict(hidden, range=[-0.5, sheet.shape[1] - 0.5], constrain="domain"),
                    yaxis=dict(hidden, range=[sheet.shape[0] - 0.5, -0.5], scaleanchor="x",
                               constrain="domain")))


def _png_uri(gray: np.ndarray) -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(gray, "L").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
