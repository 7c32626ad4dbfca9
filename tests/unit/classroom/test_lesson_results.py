"""The lesson file, the confusion matrix and the export of the class's drawings."""
import csv
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnndemo.classroom import lesson, links, pages, results
from cnndemo.classroom.store import Drawing


def test_shipped_lesson_follows_the_course():
    steps = lesson.load()
    assert len(steps) == 12
    assert [s.page for s in steps][:4] == ["convolution"] * 4
    assert steps[6].state == "preset=course-a" and steps[9].state == "tab=vanishing"
    assert steps[-2].page == "training" and steps[-1].page == "draw"
    for s in steps:
        assert s.text("title", "ko") != s.text("title", "en")
        assert 2 <= s.text("say", "en").count(". ") + 1 <= 4


@pytest.mark.parametrize("bad, says", [
    ({"steps": []}, "non-empty"),
    ({"steps": [{"page": "nowhere", "title": {"en": "x"}, "say": {"en": "y"}}]}, "unknown page"),
    ({"steps": [{"page": "convolution", "state": "stride=9", "title": {"en": "x"},
                 "say": {"en": "y"}}]}, "stride"),
    ({"steps": [{"page": "convolution", "state": "zoom=2", "title": {"en": "x"},
                 "say": {"en": "y"}}]}, "zoom"),
    ({"steps": [{"page": "pooling", "title": {"ko": "x"}, "say": {"en": "y"}}]}, "English"),
])
def test_a_broken_lesson_file_says_which_step_and_why(tmp_path, bad, says):
    p = tmp_path / "lesson.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(lesson.LessonFileError, match=says):
        lesson.load(p)


def test_codec_bounds_and_defaults():
    spec = pages.SPECS["convolution"]
    values, bad = links.decode(spec, {"stride": "3", "padding": "-1", "bias": "nan"})
    assert values["convolution_stride"] == 3 and values["convolution_padding"] == 0
    assert sorted(bad) == ["bias", "padding"]
    enc = links.encode(spec, {**values, "convolution_input": "1 2\n3 4"})
    assert enc == {"stride": "3", "input": "1 2;3 4"}
    back, bad = links.decode(spec, links.parse_query(links.to_query(enc)))
    assert bad == [] and back["convolution_input"] == "1 2\n3 4"
    # a preset's own values are its defaults: the preset name alone is the full link
    values, _ = links.decode(spec, {"preset": "outline"}, pages.base_from_query(
        "convolution", {"preset": "outline"}))
    assert values["convolution_padding"] == 1
    assert links.encode(spec, values, pages.base("convolution", values)) == {"preset": "outline"}


def test_network_check_refuses_what_the_editor_cannot_show():
    ok = links.check_network([{"type": "Conv2d", "in_channels": 1, "out_channels": 2,
                               "kernel_size": 3}])
    assert ok[0]["padding"] == 0 and ok[0]["bias"] is True
    for bad in ([{"type": "Conv2d"}], [{"type": "ReLU", "inplace": True}], "x", [1],
                [{"type": "Linear", "in_features": 10**9, "out_features": 1}],
                [{"type": "Dropout", "p": "0.5"}]):
        with pytest.raises((ValueError, TypeError)):
            links.check_network(bad)


def _drawing(i, label, pred, value=200):
    img = np.zeros((28, 28), dtype=np.float32)
    img[10:18, 12:16] = value / 255
    return Drawing(i, "m", "Student 1", results.to_bytes(img), pred, label, 0.0)


def test_confusion_counts_only_labelled_drawings():
    ds = [_drawing(1, 3, 3), _drawing(2, 3, 8), _drawing(3, None, 1), _drawing(4, 7, 7)]
    cm, right, n = results.confusion(ds)
    assert (right, n) == (2, 3) and cm[3][8] == 1 and cm[3][3] == 1 and cm[7][7] == 1


def test_export_zip_holds_pngs_and_labels():
    ds = [_drawing(1, 3, 3), _drawing(2, None, 8, value=255)]
    z = zipfile.ZipFile(io.BytesIO(results.export_zip(ds)))
    names = sorted(z.namelist())
    assert names == ["drawings/00001_label-3_pred-3.png", "drawings/00002_label-none_pred-8.png",
                     "labels.csv"]
    img = np.asarray(Image.open(io.BytesIO(z.read(names[1]))))
    assert img.shape == (28, 28) and img[12, 13] == 255 and img[0, 0] == 0
    rows = list(csv.reader(io.StringIO(z.read("labels.csv").decode())))
    assert rows[1] == [names[0], "3", "3"] and rows[2] == [names[1], "", "8"]


def test_the_join_link_qr_code_holds_the_link():
    import io

    import numpy as np
    import segno
    from PIL import Image

    from cnndemo.classroom import links

    url = "http://10.0.0.5:8501/class?join=AB2C3"
    img = np.asarray(Image.open(io.BytesIO(links.qr_png(url, scale=4, border=2))).convert("L"))
    matrix = np.array([list(row) for row in segno.make(url, error="m").matrix], dtype=bool)
    n = matrix.shape[0]
    assert img.shape == ((n + 4) * 4, (n + 4) * 4)
    centres = img[(2 * 4 + 2)::4, (2 * 4 + 2)::4][:n, :n]
    assert ((centres < 128) == matrix).all()  # dark exactly where the code's modules are
