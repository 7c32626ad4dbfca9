"""cnndemo.lessons.convolution against PyTorch (the oracle) and against the course's worked examples."""
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnndemo.lessons import convolution as ops
from cnndemo.lessons import filters

torch.set_num_threads(1)


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _random_conv_config(rng):
    while True:
        c = rng.randint(1, 3)
        h, w = rng.randint(1, 12), rng.randint(1, 12)
        kh, kw = rng.randint(1, 5), rng.randint(1, 5)
        s, p, d = rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 3)
        if h + 2 * p >= d * (kh - 1) + 1 and w + 2 * p >= d * (kw - 1) + 1:
            return c, h, w, kh, kw, s, p, d


def test_conv2d_matches_torch_on_300_random_configs():
    rng = random.Random(0)
    nrng = np.random.default_rng(0)
    for _ in range(300):
        c, h, w, kh, kw, s, p, d = _random_conv_config(rng)
        x = nrng.normal(size=(c, h, w))
        k = nrng.normal(size=(c, kh, kw))
        b = float(nrng.normal())
        res = ops.conv2d(x, k, b, stride=s, padding=p, dilation=d)
        want = F.conv2d(_t(x)[None], _t(k)[None], _t([b]), stride=s, padding=p, dilation=d)[0, 0]
        assert res.output.shape == tuple(want.shape), (c, h, w, kh, kw, s, p, d)
        np.testing.assert_allclose(res.output, want.numpy(), atol=1e-10)
        assert (res.size_h.size, res.size_w.size) == tuple(want.shape)
        assert len(res.steps) == want.numel()
        fast = ops.conv2d(x, k, b, stride=s, padding=p, dilation=d, trace=False)
        np.testing.assert_allclose(fast.output, want.numpy(), atol=1e-10)
        # every step's products add up (with the bias) to the value shown in the output
        st = res.steps[-1]
        assert math.isclose(st.products.sum() + b, res.output[-1, -1], abs_tol=1e-10)


def test_conv2d_multi_matches_torch():
    nrng = np.random.default_rng(1)
    x = nrng.normal(size=(3, 6, 7))
    w = nrng.normal(size=(4, 3, 3, 3))
    b = nrng.normal(size=4)
    got = ops.conv2d_multi(x, w, b, stride=2, padding=1)
    want = F.conv2d(_t(x)[None], _t(w), _t(b), stride=2, padding=1)[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_matches_torch_on_random_configs(kind):
    rng = random.Random(1 if kind == "max" else 2)
    nrng = np.random.default_rng(2)
    checked = 0
    while checked < 150:
        h, w = rng.randint(1, 12), rng.randint(1, 12)
        k, s = rng.randint(1, 4), rng.randint(1, 3)
        d = rng.randint(1, 2) if kind == "max" else 1
        p = rng.randint(0, k // 2 + 1)  # one past PyTorch's limit, to check the refusal
        ceil = rng.random() < 0.5
        x = nrng.normal(size=(h, w)).round(1)  # ties happen, as in real grids
        xt = _t(x)[None, None]
        try:
            if kind == "max":
                want = F.max_pool2d(xt, k, s, p, dilation=d, ceil_mode=ceil)[0, 0]
            else:
                want = F.avg_pool2d(xt, k, s, p, ceil_mode=ceil)[0, 0]
        except RuntimeError:
            with pytest.raises(ops.OpsError):
                ops.pool2d(x, kind, k, s, p, ceil_mode=ceil, dilation=d)
            continue
        res = ops.pool2d(x, kind, k, s, p, ceil_mode=ceil, dilation=d)
        cfg = (h, w, k, s, p, d, ceil)
        assert res.output.shape == tuple(want.shape), cfg
        np.testing.assert_allclose(res.output, want.numpy(), atol=1e-12, err_msg=str(cfg))
        if kind == "max":
            _, idx = F.max_pool2d(xt, k, s, p, dilation=d, ceil_mode=ceil, return_indices=True)
            for st, flat in zip(res.steps, idx.flatten().tolist()):
                if st.winner is None:  # the window saw only padding: no winner to show
                    assert st.value == -math.inf
                    continue
                r, c = st.cells[st.winner]
                assert (r - p) * w + (c - p) == flat, cfg  # same winner as PyTorch
        checked += 1


def test_avg_pool_count_include_pad_false_matches_torch():
    x = np.arange(25, dtype=float).reshape(5, 5)
    got = ops.pool2d(x, "avg", 3, 2, 1, count_include_pad=False).output
    want = F.avg_pool2d(_t(x)[None, None], 3, 2, 1, count_include_pad=False)[0, 0].numpy()
    np.testing.assert_allclose(got, want)


def test_worked_example_a():
    x = [[1, 2, 3], [2, 1, 0], [3, 0, 1]]
    k = [[1, 0], [1, 0]]
    assert ops.conv2d(x, k).output.tolist() == [[3, 3], [5, 1]]
    res = ops.conv2d(x, k, bias=5)
    assert res.output.tolist() == [[8, 8], [10, 6]]
    assert res.step_at(1, 0).expression() == "2×1 + 1×0 + 3×1 + 0×0 + 5 = 10"
    assert res.step_at(1, 0).cells == [(1, 0), (1, 1), (2, 0), (2, 1)]


def test_worked_example_b_the_x():
    x = filters.x_image()
    res = ops.conv2d(x, filters.DIAGONAL / 9)
    out = res.output
    assert out.shape == (7, 7)
    assert [f"{v:.2f}" for v in out[0]] == ["0.78", "-0.11", "0.11", "0.33", "0.56", "-0.11", "0.33"]
    seed_times_9 = [[7, -1, 1, 3, 5, -1, 3], [-1, 9, -1, 3, -1, 1, -1], [1, -1, 9, -3, 1, -1, 5],
                    [3, 3, -3, 5, -3, 3, 3], [5, -1, 1, -3, 9, -1, 1], [-1, 1, -1, 3, -1, 9, -1],
                    [3, -1, 5, 3, 1, -1, 7]]  # the slide's 7x7 map (0.77 = 7/9, 1.00 = 9/9, ...)
    np.testing.assert_allclose(out * 9, seed_times_9, atol=1e-12)
    padded = ops.conv2d(x, filters.DIAGONAL / 9, padding=1)
    assert padded.output.shape == (9, 9)
    assert f"{padded.output[0, 0]:.2f}" == "0.22"


def test_stacking_shrinks_9_7_5_3_1_and_padding_keeps_size():
    maps = ops.stack(filters.x_image(), filters.DIAGONAL / 9, times=6)
    assert [m.shape[0] for m in maps] == [9, 7, 5, 3, 1]
    kept = ops.stack(filters.x_image(), filters.DIAGONAL / 9, times=3, padding=1)
    assert [m.shape for m in kept] == [(9, 9)] * 4


@pytest.mark.parametrize("n,k,s,p,d,ceil,size,formula", [
    (9, 3, 1, 1, 1, False, 9, "floor((9 - 3 + 2*1)/1) + 1 = 9"),
    (28, 5, 1, 0, 1, False, 24, "floor((28 - 5 + 2*0)/1) + 1 = 24"),
    (7, 2, 2, 1, 1, False, 4, "floor((7 - 2 + 2*1)/2) + 1 = 4"),
    (9, 3, 1, 0, 2, False, 5, "floor((9 - (2*(3-1)+1) + 2*0)/1) + 1 = 5"),
    (5, 2, 2, 0, 1, True, 3, "ceil((5 - 2 + 2*0)/2) + 1 = 3"),
    (4, 2, 2, 1, 1, True, 3, "ceil((4 - 2 + 2*1)/2) + 1 = 3"),
])
def test_output_size_formula(n, k, s, p, d, ceil, size, formula):
    calc = ops.output_size(n, k, s, p, d, ceil)
    assert (calc.size, calc.formula) == (size, formula)


def test_ceil_mode_drops_a_window_that_starts_in_the_padding():
    calc = ops.output_size(3, 2, 2, 1, 1, True)
    want = F.max_pool2d(torch.zeros(1, 1, 3, 3), 2, 2, 1, ceil_mode=True).shape[-1]
    assert calc.size == want == 2 and calc.ceil_adjusted


def test_kernel_larger_than_padded_input_explains_with_formula():
    with pytest.raises(ops.OpsError) as e:
        ops.conv2d(np.ones((3, 3)), np.ones((5, 5)))
    assert e.value.code == "kernel_too_big"
    assert e.value.formula == "floor((3 - 5 + 2*0)/1) + 1 = 0"
    assert ops.conv2d(np.ones((3, 3)), np.ones((5, 5)), padding=1).output.tolist() == [[9.0]]


@pytest.mark.parametrize("kw,code", [
    (dict(stride=0), "bad_stride"), (dict(padding=-1), "bad_padding"), (dict(dilation=0), "bad_dilation"),
])
def test_bad_hyperparameters(kw, code):
    with pytest.raises(ops.OpsError) as e:
        ops.conv2d(np.ones((4, 4)), np.ones((2, 2)), **kw)
    assert e.value.code == code


def test_channel_mismatch_and_pool_padding_rules():
    with pytest.raises(ops.OpsError) as e:
        ops.conv2d(np.ones((3, 4, 4)), np.ones((2, 2)))
    assert e.value.code == "channels_mismatch"
    with pytest.raises(ops.OpsError) as e:
        ops.pool2d(np.ones((4, 4)), "max", 2, padding=2)
    assert e.value.code == "pad_too_big"


def test_pool_traces_show_winner_and_divisor():
    x = [[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 3, 9]]
    mx = ops.pool2d(x, "max", 2)
    assert mx.output.tolist() == [[5, 8], [7, 9]]
    assert [s.cells[s.winner] for s in mx.steps] == [(0, 1), (1, 2), (3, 0), (3, 3)]
    assert mx.steps[0].expression() == "max(1, 5, 3, 4) = 5"
    av = ops.pool2d(x, "avg", 2)
    assert av.output.tolist() == [[3.25, 2.75], [2.5, 3.5]]
    assert av.steps[0].expression() == "(1 + 5 + 3 + 4) / 4 = 3.25"


def test_parse_grid():
    assert ops.parse_grid("1 2 3\n4, 5, 6\n").tolist() == [[1, 2, 3], [4, 5, 6]]
    assert ops.parse_grid("1/9 -1/9").tolist() == [[1 / 9, -1 / 9]]
    with pytest.raises(ops.OpsError) as e:
        ops.parse_grid("1 2\n3 x", name="input")
    assert (e.value.code, e.value.params) == ("not_a_number", {"token": "x", "row": 2, "what": "input"})
    for text, code in [("", "empty"), ("1 2\n3", "ragged"), ("nan 1", "not_a_number"),
                       ("1/0", "not_a_number"), ("\n".join(["1"] * 13), "too_big")]:
        with pytest.raises(ops.OpsError) as e:
            ops.parse_grid(text)
        assert e.value.code == code, text

