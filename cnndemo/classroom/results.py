"""The class's drawings: stored as 28x28 bytes, summed up as a confusion matrix, exported."""
from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
from PIL import Image

from cnndemo.classroom.store import Drawing


def to_bytes(image) -> bytes:
    """A [28, 28] image in 0..1 (what the model read) as 784 bytes."""
    a = np.asarray(image, dtype=np.float32)
    if a.shape != (28, 28):
        raise ValueError(f"a drawing is 28x28, not {a.shape}")
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).tobytes()


def to_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8).reshape(28, 28)


def confusion(drawings: list[Drawing], n: int = 10) -> tuple[list[list[int]], int, int]:
    """(rows = what the students drew, columns = what the model read; right; labelled)."""
    cm = [[0] * n for _ in range(n)]
    for d in drawings:
        if d.label is not None and d.pred is not None and 0 <= d.label < n and 0 <= d.pred < n:
            cm[d.label][d.pred] += 1
    right = sum(cm[i][i] for i in range(n))
    return cm, right, sum(map(sum, cm))


def png(data: bytes, scale: int = 1) -> bytes:
    img = Image.fromarray(to_array(data), mode="L")
    if scale > 1:
        img = img.resize((28 * scale, 28 * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def export_zip(drawings: list[Drawing]) -> bytes:
    """PNGs named by id, label and prediction, plus labels.csv (no student names: they stay)."""
    buf = io.BytesIO()
    table = io.StringIO()
    w = csv.writer(table)
    w.writerow(["file", "label", "prediction"])
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for d in sorted(drawings, key=lambda d: d.id):
            label = "none" if d.label is None else str(d.label)
            name = f"drawings/{d.id:05d}_label-{label}_pred-{d.pred}.png"
            z.writestr(name, png(d.image))
            w.writerow([name, "" if d.label is None else d.label, d.pred])
        z.writestr("labels.csv", table.getvalue())
    return buf.getvalue()
