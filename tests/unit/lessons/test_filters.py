"""Handcrafted filters, the seed X images, and reading a real model's first layer."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters

torch.set_num_threads(1)


def test_seed_kernels_are_the_course_values():
    assert filters.kernel("outline").tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    assert filters.kernel("emboss").tolist() == [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    assert (filters.kernel("blur") * 16).tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert set(filters.KERNELS) == {"identity", "outline", "emboss", "blur", "sobel_x",
                                    "sobel_y", "sharpen"}
    with pytest.raises(KeyError):
        filters.kernel("nope")


@pytest.mark.parametrize("name", list(filters.KERNELS))
def test_apply_matches_torch_and_keeps_size(name):
    img = np.random.default_rng(3).random((28, 28))
    got = filters.apply(img, name)
    k = torch.as_tensor(filters.kernel(name))[None, None]
    want = F.conv2d(torch.as_tensor(img)[None, None], k, padding=1)[0, 0].numpy()
    assert got.shape == (28, 28)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_what_the_filters_do():
    img = np.zeros((8, 8))
    img[:, 4:] = 1.0  # a vertical edge
    assert np.array_equal(filters.apply(img, "identity"), img)
    sx, sy = filters.apply(img, "sobel_x"), filters.apply(img, "sobel_y")
    assert sx[4, 3] == 4 and sx[4, 4] == 4 and sx[4, 1] == 0  # responds at the edge only
    assert np.all(sy[1:-1, :] == 0)                           # a vertical edge has no y gradient
    flat = np.full((6, 6), 0.5)
    assert np.allclose(filters.apply(flat, "outline")[1:-1, 1:-1], 0)   # flat areas vanish
    assert np.allclose(filters.apply(flat, "blur")[1:-1, 1:-1], 0.5)    # blur keeps brightness
    assert np.allclose(filters.apply(flat, "sharpen")[1:-1, 1:-1], 0.5)


def test_x_image_and_shift_overlap():
    x = filters.x_image()
    assert x.shape == (9, 9) and set(np.unique(x)) == {-1, 1}
    assert (x > 0).sum() == 13 and x[4, 4] == 1 and x[0].tolist() == [-1] * 9
    shifted = filters.x_image(shift=1)
    both, ink = filters.ink_overlap(x, shifted)
    assert ink == 13 and both == 0   # as flat vectors the two X's share no ink pixel
    # ...but convolution sees a shifted copy of the same feature map
    a = ops.conv2d(x, filters.DIAGONAL / 9).output
    b = ops.conv2d(shifted, filters.DIAGONAL / 9).output
    assert np.allclose(b[:, 1:], a[:, :-1])


def test_apply_all_with_custom_kernel():
    img = np.eye(5)
    maps = filters.apply_all(img, ["identity"], custom=np.ones((3, 3)))
    assert set(maps) == {"identity", "custom"}
    assert maps["custom"][2, 2] == 3


def _tiny_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 14 * 14, 10)).eval()


def test_first_layer_reads_kernels_and_maps():
    model = _tiny_cnn()
    img = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    fl = filters.first_layer(model, img)
    assert fl.weights.shape == (4, 1, 3, 3) and fl.maps.shape == (4, 28, 28)
    own = ops.conv2d_multi(img[None], fl.weights, fl.bias, padding=1)
    np.testing.assert_allclose(fl.maps, own, atol=1e-5)  # PyTorch's layer == our arithmetic


def test_pre_pool_maps_are_relu_outputs():
    model = _tiny_cnn()
    img = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    maps = filters.pre_pool_maps(model, img)
    assert maps.shape == (4, 28, 28) and maps.min() >= 0
    np.testing.assert_allclose(maps, np.maximum(filters.first_layer(model, img).maps, 0), atol=1e-6)


def test_first_layer_refuses_a_model_without_conv():
    with pytest.raises(ValueError):
        filters.first_layer(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), np.zeros((28, 28)))


@pytest.mark.parametrize("name", list(filters.CONV_PRESETS))
def test_conv_presets_parse_and_run(name):
    p = filters.CONV_PRESETS[name]
    x, k = ops.parse_grid(p["input"]), ops.parse_grid(p["kernel"], max_rows=5, max_cols=5)
    out = ops.conv2d(x, k, p["bias"], p["stride"], p["padding"], p["dilation"]).output
    if name == "example_a":
        assert out.tolist() == [[8, 8], [10, 6]]
    elif name == "example_b":
        assert f"{out[0, 0]:.2f}" == "0.78" and out.shape == (7, 7)
    else:
        np.testing.assert_allclose(k, filters.kernel(name))
        assert out.shape == x.shape  # padding 1 keeps the size


def test_pool_presets_parse():
    for text in filters.POOL_PRESETS.values():
        assert ops.parse_grid(text).shape[0] >= 4
