"""cnndemo.core.arch against real PyTorch: shapes, parameter counts, errors, presets."""
import random

import pytest
import torch

from cnndemo.core import arch
from cnndemo.core.arch import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SpecError,
    Tanh,
)


def real_shapes(spec, input_shape, batch=2):
    model = arch.build(spec).eval()
    x = torch.zeros(batch, *input_shape)
    shapes = []
    with torch.no_grad():
        for m in model:
            x = m(x)
            shapes.append(tuple(x.shape))
    return shapes, model


def check_against_torch(spec, input_shape, batch=2):
    rows = arch.infer(spec, input_shape, batch=batch)
    shapes, model = real_shapes(spec, input_shape, batch)
    assert [r.output_shape for r in rows] == shapes
    for r, m in zip(rows, model):
        assert r.params == sum(p.numel() for p in m.parameters()), r.name
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    return rows


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_every_preset_matches_a_real_forward_pass(name):
    p = arch.preset(name)
    check_against_torch(p.spec, p.input_shape)


def random_spec(rng: random.Random):
    c, h = rng.choice([1, 3]), rng.randint(8, 32)
    spec, ch, size = [], c, h
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["conv", "conv", "pool", "act", "bn"])
        if kind == "conv":
            k, d = rng.randint(1, 5), rng.choice([1, 1, 2])
            s, p = rng.randint(1, 2), rng.randint(0, 2)
            eff = d * (k - 1) + 1
            if size + 2 * p < eff:
                continue
            out = rng.choice([2, 4, 8, 16])
            spec.append(Conv2d(ch, out, k, s, p, d, rng.random() < 0.8))
            ch, size = out, (size + 2 * p - eff) // s + 1
        elif kind == "pool":
            k = rng.randint(1, 3)
            s, p, ceil = rng.choice([None, 1, 2]), rng.randint(0, k // 2), rng.random() < 0.3
            cls = rng.choice([MaxPool2d, AvgPool2d])
            layer = cls(k, s, p, ceil)
            res = arch.analyze([layer], (ch, size, size))
            if res.error:
                continue
            spec.append(layer)
            size = res.rows[0].output_shape[2]
        elif kind == "bn":
            spec.append(BatchNorm2d(ch))
        else:
            spec.append(rng.choice([ReLU(), Sigmoid(), Tanh(), LeakyReLU(0.1)]))
    spec.append(Flatten())
    n = ch * size * size
    spec.append(Linear(n, rng.randint(2, 12), rng.random() < 0.9))
    if rng.random() < 0.5:
        spec += [Dropout(0.3), Linear(spec[-1].out_features, 10)]
    return spec, (c, h, h)


def test_200_random_specs_match_torch():
    rng = random.Random(1234)
    checked = 0
    while checked < 200:
        spec, shape = random_spec(rng)
        if arch.analyze(spec, shape).error:
            continue
        check_against_torch(spec, shape, batch=rng.randint(1, 3))
        checked += 1
    assert checked == 200


def trail(name):
    return [list(r.output_shape) for r in arch.infer(arch.preset(name).spec)]


def test_course_trails_exact():
    a = trail("course-a")
    assert a[0] == [1, 16, 24, 24] and a[2] == [1, 32, 20, 20] and a[4] == [1, 32, 10, 10]
    assert a[5] == [1, 64, 6, 6] and a[7] == [1, 64, 3, 3] and a[8] == [1, 576]
    assert a[9] == [1, 100] and a[-1] == [1, 10]
    b = trail("course-b")
    assert b[2] == [1, 32, 14, 14] and b[5] == [1, 64, 7, 7] and b[6] == [1, 3136]
    assert b[-1] == [1, 10]
    c = trail("course-c")
    assert c[8] == [1, 128, 4, 4] and c[9] == [1, 2048] and c[10] == [1, 625]
    assert c[-1] == [1, 10]


def test_parameter_count_exercise():
    assert arch.total_params(arch.preset("count-exercise").spec) == 1_149_010
    assert (784 + 1) * 500 + 3 * (500 + 1) * 500 + (500 + 1) * 10 == 1_149_010


def test_formulas_written_out():
    rows = arch.infer(arch.preset("course-c").spec)
    assert rows[0].params_formula == "32*1*3*3 + 32 = 320"
    assert rows[0].size_formula == "floor((28 - 3 + 2*1)/1) + 1 = 28"
    assert rows[8].size_formula == "floor((7 - 2 + 2*1)/2) + 1 = 4"
    assert rows[10].params_formula == "2048*625 + 625 = 1,280,625"
    dil = arch.infer([Conv2d(1, 1, 3, dilation=2)], (1, 9, 9))[0]
    assert dil.size_formula == "floor((9 - (2*(3-1)+1) + 2*0)/1) + 1 = 5"


def test_ceil_mode_matches_torch():
    for size in range(2, 12):
        for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 3, 0), (2, 2, 1)]:
            check_against_torch([MaxPool2d(k, s, p, True)], (1, size, size))


def test_linear_with_wrong_in_features_names_the_fix():
    spec = arch.preset("course-a").spec
    spec[9] = Linear(3136, 100)
    with pytest.raises(SpecError) as e:
        arch.infer(spec)
    assert e.value.index == 9
    assert "receives 576 features: set in_features to 576" in str(e.value)
    assert "Linear(3136, 100)" in str(e.value)
    assert e.value.fix == {"in_features": 576}
    result = arch.analyze(spec)
    assert len(result.rows) == 9 and result.error.index == 9


def test_kernel_too_big_is_explained():
    spec = [Conv2d(1, 4, 5), MaxPool2d(2), Conv2d(4, 4, 5), MaxPool2d(4), Conv2d(4, 4, 5)]
    with pytest.raises(SpecError) as e:
        arch.infer(spec)
    assert e.value.index == 4
    assert "Layer 5" in str(e.value) and "gets a 2x2 input but its kernel is 5x5" in str(e.value)


def test_channel_mismatch_and_missing_flatten():
    with pytest.raises(SpecError, match="set in_channels to 1") as e:
        arch.infer([Conv2d(3, 8, 3)])
    assert e.value.fix == {"in_channels": 1}
    with pytest.raises(SpecError, match="add a Flatten"):
        arch.infer([Conv2d(1, 8, 3), Linear(8 * 26 * 26, 10)])
    with pytest.raises(SpecError, match="padding 2 is more than half"):
        arch.infer([MaxPool2d(2, 2, padding=2)])


def test_dict_round_trip_and_unknown_type():
    spec = arch.preset("course-c").spec
    assert arch.spec_from_dicts(arch.spec_to_dicts(spec)) == spec
    with pytest.raises(ValueError, match="Unknown layer type"):
        arch.from_dict({"type": "Conv3d"})
    with pytest.raises(ValueError, match="no field"):
        arch.from_dict({"type": "ReLU", "inplace": True})


def test_errors_are_explained_in_korean_too():
    spec = arch.preset("course-a").spec
    spec[9] = Linear(3136, 100)
    error = arch.analyze(spec).error
    assert error.code == "in_features"
    assert error.localized("ko") == "특성 576개를 받습니다: in_features를 576(으)로 바꾸세요."
    assert error.localized("en") == error.message
