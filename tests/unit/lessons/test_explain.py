"""The Explain lesson against independent oracles: autograd by hand, masking loops, brute force."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnndemo.core import arch, checkpoints, data
from cnndemo.lessons import explain as E
from cnndemo.lessons import explain_robust as R

# Integrated Gradients with 50 Gauss-Legendre steps on this ReLU network: the attributions
# sum to f(x) - f(baseline) within 1% of |f(x) - f(baseline)| plus 0.02 (measured: ~1e-3).
IG_REL, IG_ABS = 0.01, 0.02


@pytest.fixture(scope="module")
def model():
    return checkpoints.load(checkpoints.shipped_path("mnist")).model


@pytest.fixture(scope="module")
def digits():
    ds = data.load("mnist")
    return ds, [ds.test_x[i].float().numpy() / 255.0 for i in range(6)]


def batch(image):
    return torch.as_tensor(np.asarray(image, np.float32))[None, None]


def no_hooks(model):
    return all(not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks)
               for m in model.modules())


def test_saliency_is_the_absolute_input_gradient(model, digits):
    _, images = digits
    for target in (0, 7):
        x = batch(images[0]).requires_grad_(True)
        (g,) = torch.autograd.grad(model(x)[0, target], x)
        np.testing.assert_allclose(E.saliency(model, batch(images[0]), target), g[0, 0].abs().numpy(),
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("baseline", ["black", "blur"])
def test_integrated_gradients_is_complete(model, digits, baseline):
    _, images = digits
    for image in images:
        x = batch(image)
        target = int(model(x).argmax())
        ig = E.integrated_gradients(model, x, target, baseline)
        with torch.no_grad():  # f(x) - f(baseline), computed here, not by Captum
            gap = float(model(x)[0, target] - model(torch.as_tensor(ig.baseline)[None, None])[0, target])
        assert ig.attribution.sum() == pytest.approx(gap, rel=IG_REL, abs=IG_ABS)
        assert ig.gap == pytest.approx(gap, abs=1e-4)
    assert ig.baseline.shape == (28, 28)


def tiny_net():
    spec = [arch.Conv2d(1, 2, 3, padding=1), arch.ReLU(), arch.Conv2d(2, 3, 3, padding=1), arch.ReLU(),
            arch.MaxPool2d(2), arch.Flatten(), arch.Linear(3 * 3 * 3, 4)]
    net = arch.build(spec)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return net


def test_grad_cam_matches_a_hand_computation_on_a_tiny_network():
    net = tiny_net()
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    for target in range(4):
        a = net[2](net[1](net[0](x))).detach().requires_grad_(True)  # the last conv's maps
        y = net[6](net[5](net[4](net[3](a))))[0, target]
        (g,) = torch.autograd.grad(y, a)
        weights = g.mean(dim=(2, 3), keepdim=True)  # one weight per channel
        cam = F.relu((weights * a).sum(1, keepdim=True))
        got = E.grad_cam(net, x, target)
        assert got.layer == "2" and got.raw.shape == (6, 6)
        np.testing.assert_allclose(got.raw, cam[0, 0].detach().numpy(), rtol=1e-5, atol=1e-6)
        up = F.interpolate(cam, size=(6, 6), mode="bilinear")
        np.testing.assert_allclose(got.upsampled, up[0, 0].detach().numpy(), rtol=1e-5, atol=1e-6)
    assert no_hooks(net)


def test_grad_cam_on_the_shipped_model_is_14_by_14_upsampled_to_28(model, digits):
    _, images = digits
    cam = E.grad_cam(model, batch(images[0]), 7)
    assert cam.raw.shape == (14, 14) and cam.upsampled.shape == (28, 28) and cam.layer == "3"
    assert no_hooks(model)


@pytest.mark.parametrize("patch,stride", [(4, 2), (5, 2), (3, 3)])
def test_occlusion_matches_masking_patch_by_patch(model, digits, patch, stride):
    _, images = digits
    x = batch(images[1])
    target = 2
    with torch.no_grad():
        full = float(model(x)[0, target])
        total, count = torch.zeros(28, 28), torch.zeros(28, 28)
        starts = range(0, 28 - patch + stride, stride)  # the last patch may hang over the edge
        for i in starts:
            for j in starts:
                masked = x.clone()
                masked[..., i:i + patch, j:j + patch] = 0.0
                total[i:i + patch, j:j + patch] += full - float(model(masked)[0, target])
                count[i:i + patch, j:j + patch] += 1
    expected = torch.where(count > 0, total / count.clamp(min=1), torch.zeros(()))
    got = E.occlusion(model, x, target, patch, stride)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="between 1 and 28"):
        E.occlusion(model, x, target, 0)


def test_deletion_curve_starts_at_the_models_confidence_and_erases_the_ink(model, digits):
    _, images = digits
    image = images[0]
    maps = E.explain(model, image)
    d = E.deletion_curve(model, image, maps.target, maps.by_method())
    assert d.erased[0] == 0 and d.erased[-1] == d.n_ink == int((image > E.INK).sum())
    for curve in [*d.curves.values(), d.random]:
        assert curve[0] == pytest.approx(maps.probs[maps.target], abs=1e-5)
    # One point by hand: erase the 40 pixels saliency ranks highest.
    k = 40
    idx = np.argsort(-maps.saliency.reshape(-1), kind="stable")[:k]
    erased = image.reshape(-1).copy()
    erased[idx] = 0
    with torch.no_grad():
        p = float(torch.softmax(model(batch(erased.reshape(28, 28))), 1)[0, maps.target])
    dk = E.deletion_curve(model, image, maps.target, {"saliency": maps.saliency},
                          steps=d.n_ink)  # one pixel per step: step k erased k pixels
    assert dk.erased[k] == k and dk.curves["saliency"][k] == pytest.approx(p, abs=1e-5)
    assert d.fastest() in E.METHODS


def fgsm_by_hand(model, x, label, eps):
    x = x.clone().requires_grad_(True)
    out = model(x)
    others = torch.cat([out[0, :label], out[0, label + 1:]])
    (g,) = torch.autograd.grad(torch.logsumexp(others, 0) - out[0, label], x)  # R.away_loss by hand
    return torch.where(g.abs() > 1e-6, x + eps * g.sign(), x).clamp(0, 1).detach()


def test_fgsm_finds_a_small_epsilon_that_really_flips(model, digits):
    ds, images = digits
    probs = torch.softmax(model(data.to_float(ds.test_x[:200])), 1).detach()
    certain = ds.test_x[int(probs.max(1).values.argmax())].float().numpy() / 255.0  # the surest of 200 digits
    for image in [*images[:3], certain]:
        x = batch(image)
        original = int(model(x).argmax())
        a = R.fgsm_smallest_epsilon(model, image)
        assert a.success and a.original == original
        with torch.no_grad():
            probs = torch.softmax(model(batch(a.image)), 1)[0]
        assert int(probs.argmax()) == a.predicted != original
        assert float(probs.max()) == pytest.approx(a.confidence, abs=1e-6)
        assert a.linf <= a.epsilon + 1e-6 and a.image.min() >= 0 and a.image.max() <= 1
        np.testing.assert_allclose(a.image, fgsm_by_hand(model, x, original, a.epsilon)[0, 0].numpy(), atol=1e-6)
        below = fgsm_by_hand(model, x, original, a.epsilon - 0.002)
        assert int(model(below).argmax()) == original  # a slightly smaller step does not flip


@pytest.mark.parametrize("target,norm,radius", [(None, "Linf", 0.2), (3, "Linf", 0.2), (3, "L2", 3.0)])
def test_pgd_image_is_classified_as_reported_within_the_ball(model, digits, target, norm, radius):
    _, images = digits
    image = images[0]
    a = R.pgd(model, image, target=target, norm=norm, radius=radius)
    with torch.no_grad():
        probs = torch.softmax(model(batch(a.image)), 1)[0]
    assert a.success and int(probs.argmax()) == a.predicted
    assert a.predicted == (3 if target == 3 else a.predicted) and a.predicted != a.original
    diff = torch.as_tensor(a.image - image)
    assert float(diff.abs().max()) == pytest.approx(a.linf, abs=1e-6)
    assert float(diff.norm()) == pytest.approx(a.l2, abs=1e-4)
    assert (a.linf if norm == "Linf" else a.l2) <= radius + 1e-4
    assert 1 <= a.steps < 60


def test_dream_raises_the_class_and_leaves_the_global_rng_alone(model):
    state = torch.get_rng_state()
    calls = []
    d = R.dream(model, 3, progress=lambda i, n: calls.append((i, n)))
    assert torch.equal(state, torch.get_rng_state())
    assert calls[-1] == (160, 160) and len(calls) == 160
    start = (0.1 + 0.05 * torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    with torch.no_grad():
        assert d.probability > 0.9 > float(torch.softmax(model(start), 1)[0, 3])
    again = R.dream(model, 3, steps=20, seed=1)
    np.testing.assert_array_equal(again.image, R.dream(model, 3, steps=20, seed=1).image)
    stopped = R.dream(model, 2, "channel", should_stop=lambda: True)
    assert stopped.steps == 0


def test_nearest_neighbours_match_brute_force(model, digits):
    ds, images = digits
    bank_images = ds.train_x[:500]
    bank = E.features(model, bank_images)
    body = E.hidden_layer(model)
    got = E.nearest(model, images[2], bank)
    with torch.no_grad():
        q = body(batch(images[2])).flatten().numpy()
        dists = [np.linalg.norm(body(bank_images[i].float()[None, None] / 255).flatten().numpy() - q)
                 for i in range(len(bank_images))]
    order = np.argsort(dists, kind="stable")[:8]
    assert list(got.indices) == list(order)
    np.testing.assert_allclose(got.distances, np.asarray(dists)[order], rtol=1e-4)


def test_explanations_in_8_threads_equal_the_serial_ones_and_leave_the_model_untouched(model, digits):
    _, images = digits
    before = {k: v.clone() for k, v in model.state_dict().items()}
    training = [m.training for m in model.modules()]

    def job(i):
        image = images[i % len(images)]
        maps = E.explain(model, image, target=i % 10)
        return maps, R.fgsm_smallest_epsilon(model, image).image

    serial = [job(i) for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(job, range(16)))
    for (m1, a1), (m2, a2) in zip(serial, threaded):
        for name, arr in m1.by_method().items():
            np.testing.assert_allclose(arr, m2.by_method()[name], rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(a1, a2, atol=1e-6)
    assert no_hooks(model)
    assert [m.training for m in model.modules()] == training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
