"""The training engine: it learns, it is reproducible, it stops, it refuses bad settings."""
import threading

import pytest
import torch

from cnndemo.core import arch, data, train

SMALL = arch.spec_to_dicts([arch.Conv2d(1, 8, 3, padding=1), arch.ReLU(), arch.MaxPool2d(2),
                            arch.Flatten(), arch.Linear(8 * 14 * 14, 10)])


@pytest.fixture(scope="module")
def digits():
    return data.load("mnist")


def cfg(**kw):
    base = dict(dataset="mnist", spec=SMALL, epochs=1, batch_size=50, train_subset=1000,
                test_subset=500, seed=3, device="cpu")
    base.update(kw)
    return train.TrainConfig(**base)


def test_one_epoch_on_a_subset_beats_chance_clearly(digits):
    c = cfg(lr=0.01)
    model = train.make_model(c)
    seen = []
    hist = train.fit(model, digits, c, train.Callbacks(on_batch_end=seen.append))
    assert len(hist.test_acc) == 1 and hist.test_acc[0] > 0.6
    assert len(seen) == 20 and seen[-1]["seen"] == 1000
    acc, _ = train.evaluate(model, digits.test_x[:500], digits.test_y[:500])
    assert acc == pytest.approx(hist.test_acc[0])


def test_same_seed_same_weights_and_history(digits):
    c = cfg(train_subset=300, test_subset=100)
    h1, m1 = train.fit(m := train.make_model(c), digits, c), m
    h2, m2 = train.fit(n := train.make_model(c), digits, c), n
    assert h1.train_loss == h2.train_loss
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("loss", train.LOSSES)
@pytest.mark.parametrize("opt", train.OPTIMIZERS)
def test_every_loss_and_optimizer_runs(digits, loss, opt):
    c = cfg(loss=loss, optimizer=opt, lr=0.01, train_subset=200, test_subset=100)
    hist = train.fit(train.make_model(c), digits, c)
    assert len(hist.train_loss) == 1 and hist.train_loss[0] > 0


def test_mse_and_l1_are_on_softmax_against_one_hot():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    y = torch.tensor([0])
    p = logits.softmax(1)
    onehot = torch.tensor([[1.0, 0, 0]])
    assert train.loss_value(logits, y, "mse").item() == pytest.approx(((p - onehot) ** 2).mean().item())
    assert train.loss_value(logits, y, "l1").item() == pytest.approx((p - onehot).abs().mean().item())


def test_stop_flag_ends_the_run_between_batches(digits):
    c = cfg(epochs=3)
    stop = threading.Event()
    calls = []

    def on_batch(info):
        calls.append(info)
        if info["batch"] == 5:
            stop.set()

    hist = train.fit(train.make_model(c), digits, c, train.Callbacks(on_batch_end=on_batch), stop)
    assert hist.stopped and len(calls) == 5 and len(hist.train_loss) == 1


def test_nan_stops_with_diverged(digits):
    # a linear model with an absurd step: the weights overflow to inf within two steps
    linear = arch.spec_to_dicts([arch.Flatten(), arch.Linear(784, 10)])
    c = cfg(spec=linear, optimizer="sgd", lr=1e37, train_subset=500)
    with pytest.raises(train.Diverged) as e:
        train.fit(train.make_model(c), digits, c)
    assert (e.value.epoch, e.value.batch) == (1, 2)
    assert "diverged at epoch 1, batch 2" in str(e.value)


def test_impossible_settings_are_refused(digits):
    with pytest.raises(ValueError, match="larger than the training set"):
        cfg(batch_size=2000).validate(len(digits.train_y))
    with pytest.raises(ValueError, match="positive"):
        cfg(lr=0).validate()
    bad = arch.spec_to_dicts([arch.Flatten(), arch.Linear(100, 10)])
    with pytest.raises(arch.SpecError, match="set in_features to 784"):
        cfg(spec=bad).validate()
    with pytest.raises(ValueError, match="10 outputs"):
        cfg(spec=arch.spec_to_dicts([arch.Flatten(), arch.Linear(784, 3)])).validate()


def test_augmentation_keeps_shape_and_moves_pixels(digits):
    x = data.to_float(digits.train_x[:8])
    g = torch.Generator().manual_seed(0)
    y = train.augment_batch(x, g)
    assert y.shape == x.shape and not torch.allclose(x, y)
    assert y.min() >= 0 and y.max() <= 1.0001


def test_pick_device_honours_override():
    assert train.pick_device("cpu").type == "cpu"
    assert train.pick_device().type in ("cpu", "cuda", "mps")


def test_cosine_schedule_decays_the_rate_to_zero_over_the_run(digits):
    c = cfg(schedule="cosine", lr=0.01, epochs=2, train_subset=200, test_subset=100)
    seen = []
    train.fit(train.make_model(c), digits, c, train.Callbacks(on_batch_end=seen.append))
    rates = [b["lr"] for b in seen]
    assert rates[0] == pytest.approx(0.01) and len(rates) == 8
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert rates[-1] < 0.01 * 0.05
    constant = cfg(lr=0.01, train_subset=200, test_subset=100)
    flat = []
    train.fit(train.make_model(constant), digits, constant, train.Callbacks(on_batch_end=flat.append))
    assert {b["lr"] for b in flat} == {0.01}
    with pytest.raises(ValueError, match="Unknown schedule"):
        cfg(schedule="step").validate()
