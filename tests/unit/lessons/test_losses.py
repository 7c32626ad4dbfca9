"""cnndemo.lessons.losses against torch.nn.functional, autograd, and the course's numbers."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnndemo.lessons import losses as L


def rng_probs(rng, n):
    p = rng.random(n) + 1e-3
    return p / p.sum()


@pytest.mark.parametrize("seed", range(5))
def test_softmax_matches_torch(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, size=10)
    for T in (0.25, 1.0, 3.0):
        want = F.softmax(torch.tensor(z) / T, dim=0).numpy()
        np.testing.assert_allclose(L.softmax(z, T), want, rtol=1e-12, atol=1e-15)
    terms = L.softmax_terms(z, 4, 2.0)
    assert terms["numerator"] / terms["denominator"] == pytest.approx(terms["p"], rel=1e-12)
    assert terms["p"] == pytest.approx(L.softmax(z, 2.0)[4], rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cross_entropy_mse_l1_match_torch(seed):
    rng = np.random.default_rng(seed)
    z = torch.tensor(rng.normal(0, 2, size=10))
    k = int(rng.integers(10))
    probs = torch.softmax(z, 0).numpy()
    got = L.class_losses(probs, k)
    y = F.one_hot(torch.tensor(k), 10).double()
    assert got.ce == pytest.approx(F.cross_entropy(z[None], torch.tensor([k])).item(), rel=1e-10)
    assert got.mse == pytest.approx(F.mse_loss(torch.tensor(probs), y).item(), rel=1e-10)
    assert got.l1 == pytest.approx(F.l1_loss(torch.tensor(probs), y).item(), rel=1e-10)
    summed = L.class_losses(probs, k, reduction="sum")
    assert summed.mse == pytest.approx(F.mse_loss(torch.tensor(probs), y, reduction="sum").item())
    assert got.q == pytest.approx(probs[k])
    assert L.class_losses(probs, k, unit="bits").ce == pytest.approx(got.ce / math.log(2))


@pytest.mark.parametrize("seed", range(5))
def test_soft_cross_entropy_and_kl_match_torch(seed):
    rng = np.random.default_rng(100 + seed)
    p, q = rng_probs(rng, 7), rng_probs(rng, 7)
    pt, qt = torch.tensor(p), torch.tensor(q)
    want_ce = F.cross_entropy(torch.log(qt)[None], pt[None]).item()
    assert L.cross_entropy(p, q) == pytest.approx(want_ce, rel=1e-10)
    want_kl = F.kl_div(torch.log(qt), pt, reduction="sum").item()
    assert L.kl_divergence(p, q) == pytest.approx(want_kl, rel=1e-10)
    assert L.entropy(p) == pytest.approx(-(pt * pt.log()).sum().item(), rel=1e-10)
    # the identity H(p, q) = H(p) + KL(p || q), in both units
    for unit in L.UNITS:
        info = L.information(p, q, unit)
        assert info["h_pq"] == pytest.approx(info["h_p"] + info["kl"], rel=1e-12)
        assert info["kl"] > 0


def test_course_loss_table_to_4_decimals():
    rows = L.course_table()
    assert [round(r["ce"], 4) for r in rows] == [0.1054, 1.2040, 2.3026]
    assert [round(r["l1"], 4) for r in rows] == [0.1, 0.7, 0.9]
    assert [round(r["mse"], 4) for r in rows] == [0.01, 0.49, 0.81]
    # the same numbers from nn.L1Loss / nn.CrossEntropyLoss on the two-class example
    for r in rows:
        probs = torch.tensor([[1 - r["q"], r["q"]]], dtype=torch.float64)
        target = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
        assert r["l1"] == pytest.approx(torch.nn.L1Loss()(probs, target).item())
        assert r["ce"] == pytest.approx(F.nll_loss(probs.log(), torch.tensor([1])).item())


def test_course_example_5_1_ten_classes():
    right = [0.1, 0, 0, 0.9, 0, 0, 0, 0, 0, 0]
    wrong = [0, 0.9, 0, 0.1, 0, 0, 0, 0, 0, 0]
    assert round(L.class_losses(right, 3).ce, 4) == 0.1054
    assert round(L.class_losses(wrong, 3).ce, 4) == 2.3026


@pytest.mark.parametrize("name, h_p, h_pq, unit", [
    ("coin", 1.0, 1.0, "bits"),
    ("coin_guess", 1.0, 1.2075, "bits"),
    ("cars", 1.75, 1.75, "bits"),
    ("cars_uniform", 1.75, 2.0, "bits"),
    ("die", 1.7918, 1.7918, "nats"),
    ("loaded_die", 1.7918, 2.0343, "nats"),
])
def test_entropy_presets_reproduce_course(name, h_p, h_pq, unit):
    p_text, q_text, preset_unit = L.ENTROPY_PRESETS[name]
    assert preset_unit == unit
    info = L.information(L.parse_numbers(p_text), L.parse_numbers(q_text), unit)
    assert round(info["h_p"], 4) == h_p
    assert round(info["h_pq"], 4) == h_pq
    assert info["kl"] == pytest.approx(h_pq - h_p, abs=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_logit_gradients_match_autograd_of_torch_losses(seed):
    rng = np.random.default_rng(200 + seed)
    z = rng.normal(0, 2, size=10)
    k, T = int(rng.integers(10)), 1.5
    got = L.logit_gradients(z, k, T)
    y = F.one_hot(torch.tensor(k), 10).double()
    oracles = {
        "ce": lambda t: F.cross_entropy((t / T)[None], torch.tensor([k])),
        "mse": lambda t: F.mse_loss(F.softmax(t / T, 0), y),
        "l1": lambda t: F.l1_loss(F.softmax(t / T, 0), y),
    }
    for name, fn in oracles.items():
        t = torch.tensor(z, requires_grad=True)
        fn(t).backward()
        np.testing.assert_allclose(got[name], t.grad.numpy(), rtol=1e-9, atol=1e-15)
    # the textbook closed form for CE, as a second witness: (softmax - y) / T
    np.testing.assert_allclose(got["ce"], (L.softmax(z, T) - y.numpy()) / T, atol=1e-12)


def test_gradient_curves_show_mse_saturation():
    z = np.array(L.LOGIT_PRESETS["wrong"])
    k = L.PRESET_TRUE_CLASS
    zs = np.linspace(-10, 10, 41)
    curves = L.gradient_curves(z, k, zs)
    for i in (0, 20, 40):  # each point equals the gradient at that logit vector
        zz = z.copy()
        zz[k] = zs[i]
        point = L.logit_gradients(zz, k)
        for name in L.LOSS_NAMES:
            assert curves[name][i] == pytest.approx(point[name][k], abs=1e-12)
    # badly wrong (z_true = -10): CE still pushes with |grad| ~ 1, MSE almost not at all
    assert abs(curves["ce"][0]) > 0.99
    assert abs(curves["mse"][0]) < 1e-5
    assert abs(curves["mse"][0]) < abs(curves["mse"][20])
    assert np.all(np.diff(curves["q"]) > 0)


def test_loss_curves_pass_through_current_point():
    probs = L.softmax(L.LOGIT_PRESETS["unsure"])
    k = L.PRESET_TRUE_CLASS
    cur = L.class_losses(probs, k)
    qs = np.array([0.05, cur.q, 0.95])
    curves = L.loss_curves(probs, k, qs)
    assert curves["ce"][1] == pytest.approx(cur.ce)
    assert curves["mse"][1] == pytest.approx(cur.mse)
    assert curves["l1"][1] == pytest.approx(cur.l1)
    assert curves["ce"][0] > curves["ce"][2]
    bits = L.loss_curves(probs, k, qs, unit="bits")
    assert bits["ce"][1] == pytest.approx(cur.ce / math.log(2))


def test_zero_probability_gives_infinite_ce_not_nan():
    res = L.class_losses([0.0, 0.5, 0.5], 0)
    assert math.isinf(res.ce) and res.ce > 0
    assert res.mse == pytest.approx((1 + 0.25 + 0.25) / 3)
    assert not math.isnan(res.l1)
    assert math.isinf(L.cross_entropy([0.5, 0.5], [1.0, 0.0]))
    assert math.isinf(L.kl_divergence([0.5, 0.5], [1.0, 0.0]))
    # a zero in p is fine: 0 log 0 = 0
    assert L.entropy([1.0, 0.0]) == 0.0
    assert L.cross_entropy([1.0, 0.0], [0.5, 0.5], "bits") == pytest.approx(1.0)
    curves = L.loss_curves([0.2, 0.8], 0, [0.0, 0.5])
    assert math.isinf(curves["ce"][0]) and not np.isnan(curves["mse"]).any()


def test_normalisation_and_rejections():
    d = L.as_distribution([2, 1, 1])
    assert d.normalised and d.raw_sum == 4
    np.testing.assert_allclose(d.probs, [0.5, 0.25, 0.25])
    assert not L.as_distribution([0.25, 0.75]).normalised
    assert L.class_losses([2, 1, 1], 0).ce == pytest.approx(math.log(2))
    cases = [([0.5, -0.1, 0.6], "negative"), ([], "empty"), ([0, 0], "zero_sum"),
             ([0.5, float("nan")], "not_finite")]
    for values, code in cases:
        with pytest.raises(L.LossInputError) as e:
            L.as_distribution(values)
        assert e.value.code == code
    with pytest.raises(L.LossInputError) as e:
        L.as_distribution([0.5, -0.1, 0.6], "q")
    assert e.value.info == {"name": "q", "index": 1, "value": -0.1}
    with pytest.raises(L.LossInputError, match="p has 2 entries but q has 3"):
        L.cross_entropy([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(L.LossInputError) as e:
        L.class_losses([0.5, 0.5], 2)
    assert e.value.code == "class_index"
    with pytest.raises(L.LossInputError) as e:
        L.softmax([1, 2], 0.0)
    assert e.value.code == "temperature"
    with pytest.raises(L.LossInputError) as e:
        L.entropy([0.5, 0.5], "decibans")
    assert e.value.code == "unit"


def test_parse_numbers():
    assert L.parse_numbers("1/2, 1/4 0.25;0") == [0.5, 0.25, 0.25, 0.0]
    for text, code in [("", "empty"), ("0.5, abc", "bad_number"), ("1/0", "bad_number")]:
        with pytest.raises(L.LossInputError) as e:
            L.parse_numbers(text)
        assert e.value.code == code


def test_temperature_sharpens_and_flattens():
    z = L.LOGIT_PRESETS["unsure"]
    k = L.PRESET_TRUE_CLASS
    assert L.softmax(z, 0.5)[k] > L.softmax(z, 1.0)[k] > L.softmax(z, 5.0)[k] > 0.1
    assert L.entropy(L.softmax(z, 100.0), "bits") == pytest.approx(math.log2(10), abs=1e-3)
