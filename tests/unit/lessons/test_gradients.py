"""Gradients lab logic: every number checked against PyTorch or closed-form arithmetic."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from cnndemo.figures import gradients as fg
from cnndemo.lessons import gradients as g
from cnndemo.lessons import optimizers as go_

# --- autograd ---------------------------------------------------------------------------

def test_course_autograd_example_gives_6_12():
    r = g.autograd_example()
    assert r.x_grad == [6.0, 12.0]
    assert r.y == [6.0, 9.0] and r.z == [18.0, 27.0] and r.loss == 40.0
    assert r.y_grad_is_none and r.z_grad_is_none
    assert r.x_is_leaf and not r.y_is_leaf
    assert r.dloss_dz == [1.0, 1.0] and r.dloss_dy == [3.0, 3.0]


def test_autograd_follows_edited_inputs():
    # z - target < 0 for the first value: sign flips, so the gradient is -6x there
    r = g.autograd_example(x=(-1.0, 0.5), target=(100.0, 0.0))
    assert r.x_grad == pytest.approx([6.0, 3.0])  # 6x * sign(3(x^2+5) - t) = -6*-1, 6*0.5
    assert r.dloss_dz == [-1.0, 1.0]


def test_autograd_graph_is_the_real_backward_chain():
    nodes = [a for a, _ in g.autograd_example().graph]
    assert nodes == ["SumBackward0", "AbsBackward0", "SubBackward0", "MulBackward0",
                     "AddBackward0", "PowBackward0"]
    dot = fg.autograd_dot(g.autograd_example().graph)
    assert dot.startswith("digraph") and "AccumulateGrad" in dot


def test_autograd_refuses_mismatched_or_nonfinite():
    with pytest.raises(g.BadInput):
        g.autograd_example(x=(1.0, 2.0), target=(1.0,))
    with pytest.raises(g.BadInput):
        g.autograd_example(x=(float("nan"), 2.0))


# --- regression -------------------------------------------------------------------------

def test_default_regression_ends_near_5_and_2():
    x, y = g.regression_data()
    assert x.shape == (500, 1) and float(x.min()) >= -10 and float(x.max()) <= 10
    run = g.fit_line(x, y)
    assert len(run.w) == 201 and run.diverged_at is None
    assert abs(run.w[-1] - 5) < 0.1 and abs(run.b[-1] - 2) < 0.1
    assert run.loss[-1] < run.loss[0] / 100


def test_regression_path_matches_closed_form_gradient():
    x, y = g.regression_data(n=50, seed=1)
    run = g.fit_line(x, y, lr=0.01, steps=3)
    w, b = run.w[0], run.b[0]
    xd, yd = x.double().ravel(), y.double().ravel()
    for k in range(1, 4):
        r = w * xd + b - yd
        w, b = w - 0.01 * float(2 * (r * xd).mean()), b - 0.01 * float(2 * r.mean())
        assert run.w[k] == pytest.approx(w, rel=1e-4) and run.b[k] == pytest.approx(b, rel=1e-4)


def test_large_learning_rate_diverges_and_says_where():
    x, y = g.regression_data()
    run = g.fit_line(x, y, lr=0.05, steps=500)
    assert run.diverged_at is not None and 5 < run.diverged_at < 500
    assert len(run.w) == run.diverged_at and all(math.isfinite(v) for v in run.loss)


@pytest.mark.parametrize("lr", [0.0, -0.01, float("nan")])
def test_bad_learning_rates_are_refused(lr):
    x, y = g.regression_data(n=10)
    with pytest.raises(g.BadInput) as e:
        g.fit_line(x, y, lr=lr)
    assert e.value.key in ("lr_nonpositive", "lr_nan")


def test_loss_surface_equals_mse_at_a_grid_point():
    x, y = g.regression_data(n=100)
    ws, bs, z = g.loss_surface(x, y, (0, 10), (-4, 6), n=11)
    assert z.shape == (11, 11)
    i, j = 6, 5  # b = bs[6] = 2, w = ws[5] = 5
    expect = nn.functional.mse_loss(ws[j] * x + bs[i], y).item()
    assert z[i, j] == pytest.approx(expect, rel=1e-5)
    assert z.argmin() == np.ravel_multi_index((6, 5), z.shape)


# --- perceptron -------------------------------------------------------------------------

def test_fixed_or_solution():
    assert g.fixed_or() == [-1.0, 1.0, 1.0, 1.0]


def test_or_perceptron_trains_to_the_targets():
    run = g.train_perceptron("or", lr=0.1, steps=500)
    assert run.predicted == [-1.0, 1.0, 1.0, 1.0] and run.solved
    assert run.snapshot_steps[0] == 0 and run.snapshot_steps[-1] == 500
    assert run.grids[-1].shape == (41, 41)
    # the last snapshot's grid is the model's output at the same inputs
    w1, w2, b = run.weights[-1]
    corner = np.tanh(w1 * run.grid_axis[0] + w2 * run.grid_axis[0] + b)
    assert run.grids[-1][0, 0] == pytest.approx(corner, abs=1e-5)


def test_xor_needs_a_hidden_layer():
    assert not g.train_perceptron("xor", hidden=0).solved
    assert g.train_perceptron("xor", hidden=4).solved


# --- activations ------------------------------------------------------------------------

def test_activation_derivatives_match_formulas():
    c = g.activation_curves(lo=-2, hi=2, n=5, slope=0.2)
    x = c["x"]
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(c["sigmoid"][1], s * (1 - s), rtol=1e-5)
    np.testing.assert_allclose(c["tanh"][1], 1 - np.tanh(x) ** 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(c["leaky_relu"][0], np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(c["relu"][1], [0, 0, 0, 1, 1])
    assert c["prelu"][1][0] == pytest.approx(0.25)
    assert max(c["sigmoid"][1]) == pytest.approx(0.25)


def test_dying_relu_never_fires_or_moves_but_leaky_does():
    dead = g.dying_neuron("relu")
    assert dead.fired == 0 and dead.grad_w0 == 0.0 and dead.grad_b0 == 0.0
    assert set(dead.w) == {-3.0} and set(dead.b) == {-5.0}
    leaky = g.dying_neuron("leaky_relu")
    assert leaky.grad_w0 != 0.0 and leaky.w[-1] != -3.0


# --- vanishing gradients ----------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    x, y, _ = go_.digit_batch(n=128)
    return x, y


def test_digit_batch_is_real_digits(digits):
    x, y = digits
    assert x.shape == (128, 1, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert len(set(y.tolist())) == 10


def test_grad_norms_match_direct_autograd(digits):
    x, y = digits
    r = go_.vanishing(x, y, depth=4, activation="tanh")
    model = go_.deep_mlp(4, "tanh")
    loss = nn.functional.cross_entropy(model(x.view(len(x), -1)), y)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    grads = torch.autograd.grad(loss, weights)
    assert r.norms == pytest.approx([gr.norm().item() for gr in grads], rel=1e-5)
    assert r.loss == pytest.approx(loss.item(), rel=1e-6)


def test_sigmoid_first_layer_vanishes_against_relu_at_depth_10(digits):
    x, y = digits
    sig = go_.vanishing(x, y, 10, "sigmoid")
    relu = go_.vanishing(x, y, 10, "relu")
    assert sig.norms[0] * 100 <= relu.norms[0]
    assert sig.ratio < 1e-4  # first layer gets < 1/10,000 of the last layer's gradient


def test_he_init_keeps_relu_gradients_alive(digits):
    x, y = digits
    he = go_.vanishing(x, y, 10, "relu", init="scaled")
    assert he.ratio > 0.1
    assert go_.vanishing(x, y, 10, "relu").ratio < he.ratio


def test_course_arithmetic_and_depth_limits():
    assert go_.course_product(10, 0.01) == pytest.approx(1e-20)
    with pytest.raises(g.BadInput):
        go_.deep_mlp(21)
    with pytest.raises(g.BadInput):
        go_.deep_mlp(1)


# --- optimizers -------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(go_.OPTIMIZERS))
def test_paths_equal_stepping_torch_optim_by_hand(name):
    path = go_.run_optimizer(name, "valley", lr=0.05, steps=20)
    p = torch.tensor([-9.0, 2.0], requires_grad=True)
    cls, kw = go_.OPTIMIZERS[name]
    opt = cls([p], lr=0.05, **kw)
    for k in range(21):
        assert path.path[k] == pytest.approx(p.detach().numpy(), abs=1e-6)
        opt.zero_grad()
        (0.05 * p[0] ** 2 + 2 * p[1] ** 2).backward()
        opt.step()


def test_momentum_matches_the_course_formula():
    # the course writes v = a v - lr g ; w = w + v
    lr, a = 0.1, 0.9
    path = go_.run_optimizer("momentum_0.9", "bowl", lr=lr, steps=10).path
    w, v = np.array([-4.0, 3.0]), np.zeros(2)
    for k in range(1, 11):
        v = a * v - lr * w  # gradient of 0.5 |w|^2 is w
        w = w + v
        np.testing.assert_allclose(path[k], w, rtol=1e-5)


def test_adam_matches_its_formula():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    path = go_.run_optimizer("adam", "bowl", lr=lr, steps=5).path
    w, m, v = np.array([-4.0, 3.0]), np.zeros(2), np.zeros(2)
    for t in range(1, 6):
        m = b1 * m + (1 - b1) * w
        v = b2 * v + (1 - b2) * w ** 2
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(path[t], w, rtol=1e-5)


def test_optimizer_divergence_reports_the_step():
    path = go_.run_optimizer("sgd", "rosenbrock", lr=0.01, steps=100)
    assert path.diverged_at is not None and path.diverged_at < 100
    assert len(path.path) == path.diverged_at


def test_default_race_momentum_wins_the_valley():
    r = go_.race("valley")
    d = {n: go_.distance_to_min(p, "valley") for n, p in r.items()}
    assert d["momentum_0.9"] < d["sgd"] and d["sgd"] < d["adagrad"]

