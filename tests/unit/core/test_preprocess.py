"""MNIST-style preprocessing of drawings: crop, 20 px longer side, centre of mass."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnndemo.core import preprocess as pp


def canvas(lines, size=280, width=18, white_on_black=True):
    """Render strokes like the app's canvas: an RGBA array."""
    ink = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(ink)
    for pts in lines:
        draw.line(pts, fill=255, width=width, joint="curve")
    a = np.asarray(ink)
    rgba = np.zeros((size, size, 4), np.uint8)
    if white_on_black:
        rgba[..., :3] = a[..., None]
        rgba[..., 3] = 255
    else:
        rgba[..., 3] = a  # black ink on a transparent canvas
    return rgba


def extent(img, thr=0.05):
    rows = np.flatnonzero((img > thr).any(axis=1))
    cols = np.flatnonzero((img > thr).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def com(img):
    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return (img * ys).sum() / img.sum(), (img * xs).sum() / img.sum()


def test_small_off_centre_digit_comes_out_centred_with_longer_side_20():
    # A small "7" squeezed into the top-left corner of the canvas.
    rgba = canvas([[(20, 20), (90, 20), (45, 110)]], width=10)
    out = pp.preprocess(rgba)
    assert out.image.shape == (28, 28) and out.image.dtype == np.float32
    h, w = extent(out.image)
    assert max(h, w) == 20
    cy, cx = com(out.image)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert out.image.max() == pytest.approx(1.0)
    assert out.image.min() >= 0.0


def test_aspect_ratio_is_kept():
    # A tall thin "1": 200 px high, about 18 px wide -> 20 px high, 2 px wide, not a square blob.
    rgba = canvas([[(140, 40), (140, 240)]], width=18)
    out = pp.preprocess(rgba)
    h, w = extent(out.image)
    assert h == 20
    assert w <= 3
    assert out.scaled_shape[0] == 20
    # A wide, flat stroke keeps its proportions too: 200 x ~40 -> 20 x 4.
    rgba = canvas([[(40, 120), (240, 140)]], width=18)
    sh, sw = pp.preprocess(rgba).scaled_shape
    assert sw == 20 and 3 <= sh <= 5


def test_blank_canvas_is_reported_as_blank():
    with pytest.raises(pp.BlankDrawing) as e:
        pp.preprocess(canvas([]))
    assert e.value.reason == "blank"
    with pytest.raises(pp.BlankDrawing):
        pp.preprocess(canvas([], white_on_black=False))


def test_a_dot_is_too_small_to_read():
    rgba = canvas([[(140, 140), (141, 141)]], width=12)
    with pytest.raises(pp.TooSmall) as e:
        pp.preprocess(rgba)
    assert e.value.reason == "too_small"
    assert "bigger" in str(e.value)


def test_both_colour_conventions_give_the_same_28x28():
    lines = [[(60, 50), (200, 50), (110, 240)], [(90, 140), (180, 140)]]
    white_on_black = pp.preprocess(canvas(lines)).image
    dark_on_transparent = pp.preprocess(canvas(lines, white_on_black=False)).image
    np.testing.assert_allclose(white_on_black, dark_on_transparent, atol=1e-6)
    # Black ink on an opaque white page (a scanned or greyscale PNG) too.
    grey = 255 - canvas(lines)[..., 0]
    np.testing.assert_allclose(pp.preprocess(grey).image, white_on_black, atol=1e-6)


def test_an_mnist_digit_goes_through_unchanged_in_shape():
    # A digit already in MNIST form (20 px box, centred) stays where it is.
    img = np.zeros((28, 28), np.float32)
    img[4:24, 13:15] = 1.0
    out = pp.preprocess(img).image
    assert extent(out) == (20, 2)
    cy, cx = com(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 1.0


def test_bad_shapes_and_files_give_clear_errors(tmp_path):
    with pytest.raises(pp.DrawingError, match="shape"):
        pp.preprocess(np.zeros((5, 5, 2)))
    with pytest.raises(pp.ImageReadError, match="no such file"):
        pp.load_image(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(pp.ImageReadError, match="junk.png"):
        pp.load_image(junk)


def test_load_image_reads_rgba_and_greyscale(tmp_path):
    rgba = canvas([[(60, 50), (200, 50), (110, 240)]], white_on_black=False)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(255 - canvas([[(60, 50), (200, 50), (110, 240)]])[..., 0]).resize((100, 100)).save(
        tmp_path / "b.png"
    )
    a = pp.load_image(tmp_path / "a.png")
    b = pp.load_image(tmp_path / "b.png")
    assert a.shape == (280, 280, 4) and b.shape == (100, 100)
    # Different sizes and conventions, same digit: nearly the same 28x28.
    assert np.abs(pp.preprocess(a).image - pp.preprocess(b).image).mean() < 0.05


def test_a_canvas_png_data_url_reads_back_pixel_for_pixel():
    import base64
    import io

    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:240, 130:150, :3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    np.testing.assert_array_equal(pp.from_data_url(url), rgba)
    grey = io.BytesIO()
    Image.fromarray(rgba[..., 0]).save(grey, "PNG")  # any PNG comes back as RGBA
    grey_url = "data:image/png;base64," + base64.b64encode(grey.getvalue()).decode()
    assert pp.from_data_url(grey_url).shape == (280, 280, 4)


@pytest.mark.parametrize("url", ["data:image/jpeg;base64,AAAA", "data:image/png;base64,not base64!",
                                 "data:image/png;base64,bm90IGEgcG5n", "", "no comma"])
def test_a_bad_data_url_is_a_clear_image_error(url):
    with pytest.raises(pp.ImageReadError):
        pp.from_data_url(url)
