"""cnndemo.figures.training: the figures show the numbers they are given."""
import numpy as np

from cnndemo.figures import training as F

LABELS = {k: k for k in ("loss", "acc", "epoch", "train_batches", "test_live", "train", "test",
                         "overfit", "pred", "true", "hover", "class")}


def test_batch_position_on_the_epoch_axis():
    assert F.batch_x({"epoch": 1, "batch": 30, "n_batches": 60}) == 0.5
    assert F.batch_x({"epoch": 3, "batch": 60, "n_batches": 60}) == 3.0


def test_curves_show_batches_live_test_points_epochs_and_the_overfit_line():
    batches = [{"epoch": 1, "batch": b, "n_batches": 4, "loss": 2.0 / b, "acc": 0.2 * b}
               for b in range(1, 5)]
    batches[1].update(test_loss=1.5, test_acc=0.4)
    epochs = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5, "test_loss": 1.0,
               "test_acc": 0.6} for e in (1, 2)]
    fig = F.curves_figure(batches, epochs, LABELS, overfit_epoch=1)
    by_name = {}
    for t in fig.data:
        by_name.setdefault(t.name, []).append(t)
    assert list(by_name["train_batches"][0].x) == [0.25, 0.5, 0.75, 1.0]
    assert list(by_name["test_live"][0].y) == [1.5] and list(by_name["test_live"][1].y) == [0.4]
    assert [list(t.y) for t in by_name["test"]] == [[1.0, 1.0], [0.6, 0.6]]
    assert sum(1 for s in fig.layout.shapes if s.x0 == 1) == 2


def test_comparison_puts_every_run_on_shared_axes_with_a_log_loss_axis():
    runs = [{"label": lab, "epochs": [{"epoch": 1, "train_loss": 0.5, "test_loss": 0.4,
                                       "train_acc": 0.8, "test_acc": 0.85}]}
            for lab in ("MSE", "CE")]
    fig = F.comparison_figure(runs, LABELS)
    assert len(fig.data) == 2 * 2 * 2  # runs x (loss, acc) x (test, train)
    assert fig.layout.yaxis.type == "log"
    assert {t.name for t in fig.data} == {"MSE (test)", "MSE (train)", "CE (test)", "CE (train)"}


def test_confusion_matrix_prints_every_count_and_marks_the_selected_cell():
    cm = np.array([[5, 1], [2, 7]])
    fig = F.confusion_figure(cm, ["cat", "dog"], LABELS, selected=(1, 0))
    diag, off = (np.asarray(t.text) for t in fig.data if t.texttemplate == "%{text}")
    assert list(np.where(diag != "", diag, off).ravel()) == ["5", "1", "2", "7"]
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].y0) == (-0.5, 0.5)


def test_image_grid_is_one_picture_holding_every_image_under_its_caption():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (10, 28, 28)).astype(np.uint8)
    fig = F.image_grid(imgs, [f"#{i}" for i in range(10)], cols=4)
    assert len(fig.data) == 1 and fig.data[0].type == "image"
    sheet = _decode(fig.data[0].source)
    gap, band = 4, 9  # between tiles, and the caption band above each row
    for i, note in enumerate(fig.layout.annotations):
        assert note.text == f"#{i}"
        r, c = divmod(i, 4)
        y, x = r * (28 + band) + band, c * (28 + gap)
        np.testing.assert_array_equal(sheet[y:y + 28, x:x + 28], imgs[i])  # the real pixels
        assert x < note.x < x + 28 and note.y <= y  # the caption sits above its own image
    assert sheet.shape == (3 * (28 + band), 4 * (28 + gap) - gap)


def _decode(uri: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
