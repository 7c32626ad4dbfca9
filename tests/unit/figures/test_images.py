"""Maps as images: the same colours as the plotly heatmaps they replace, crisp cells."""
import numpy as np

from cnndemo.figures import images


def test_gray_runs_from_black_at_the_minimum_to_the_scale_end_at_the_maximum():
    rgb = images.colourize([[0.0, 5.0], [10.0, 2.5]])
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[1, 0].tolist() == [254, 254, 253]  # plotly's "gray" ends there
    assert rgb[0, 0, 0] < rgb[1, 1, 0] < rgb[0, 1, 0] < rgb[1, 0, 0]


def test_zmid_centres_the_diverging_scale_and_a_flat_map_takes_the_middle():
    rgb = images.colourize([[-1.0, 0.0, 3.0]], "RdBu", zmid=0.0)
    assert rgb[0, 2].tolist() == [5, 48, 97]  # RdBu's last stop: the +3 end
    assert rgb[0, 1].tolist() == images.colourize([[7.0, 7.0]], "RdBu")[0, 0].tolist()
    assert rgb[0, 0, 0] > rgb[0, 0, 2] and rgb[0, 2, 2] > rgb[0, 2, 0]  # red below, blue above


def test_map_image_blows_every_cell_up_to_a_square_block():
    img = images.map_image(np.arange(6.0).reshape(2, 3), size=30)
    assert img.shape == (20, 30, 3)
    assert (img[:10, :10] == img[0, 0]).all() and (img[10:, 20:] == img[-1, -1]).all()
