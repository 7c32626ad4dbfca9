"""cnndemo.lessons.experiments: fair comparisons and the numbers a finished run shows."""
import numpy as np
import pytest
import torch

from cnndemo.core import data, train
from cnndemo.lessons import experiments

TINY = [{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"},
        {"type": "Linear", "in_features": 676, "out_features": 10}]


@pytest.mark.parametrize("name", ["5-10", "5-11"])
def test_same_architecture_runs_start_from_identical_weights(name):
    cfgs = [cfg for _, cfg in experiments.experiment_configs(name)]
    assert len({tuple(map(str, (c.preset, c.seed, c.batch_size, c.lr))) for c in cfgs}) == 1
    models = experiments.initial_models(cfgs)
    ref = models[0].state_dict()
    for m in models[1:]:
        for k, v in m.state_dict().items():
            assert torch.equal(v, ref[k]), k


def test_course_experiments_change_exactly_one_thing():
    labels = [lab for lab, _ in experiments.experiment_configs("5-11")]
    assert labels == ["SGD", "AdaGrad", "RMSprop", "Adam"]
    cfgs = [c for _, c in experiments.experiment_configs("5-11")]
    assert [c.optimizer for c in cfgs] == ["sgd", "adagrad", "rmsprop", "adam"]
    assert {(c.dataset, c.lr, c.batch_size) for c in cfgs} == {("fashion-mnist", 1e-3, 128)}
    assert [c.loss for _, c in experiments.experiment_configs("5-10")] == ["mse", "ce"]
    gpu = [c for _, c in experiments.experiment_configs("5-10", gpu=True)]
    assert {c.epochs for c in gpu} == {30} and {c.train_subset for c in gpu} == {None}


def test_seed_002_cnn_b_and_c_share_their_first_two_convolutions():
    cfgs = [c for _, c in experiments.experiment_configs("seed-002")]
    assert [c.preset for c in cfgs] == ["course-b", "course-c"]
    b, c = experiments.initial_models(cfgs)
    for name in ("0.weight", "0.bias", "3.weight", "3.bias"):
        assert torch.equal(b.state_dict()[name], c.state_dict()[name])
    # the layers after the shared part are C's own
    assert c.state_dict()["6.weight"].shape == (128, 64, 3, 3)


def test_same_seed_gives_the_same_data_order_and_the_same_result():
    ds = data.load("mnist")
    cfg = train.TrainConfig(spec=TINY, train_subset=200, test_subset=100, batch_size=50, epochs=1)
    m1, m2 = experiments.initial_models([cfg, cfg])
    h1, h2 = train.fit(m1, ds, cfg), train.fit(m2, ds, cfg)
    assert h1.train_loss == h2.train_loss
    for k, v in m1.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])


def test_results_from_probs_confusion_per_class_and_confident_mistakes():
    classes = ["a", "b", "c"]
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[.9, .05, .05], [.2, .7, .1], [.1, .8, .1],
                  [.6, .3, .1], [.1, .1, .8], [.3, .3, .4]])
    r = experiments.results_from_probs(p, y, classes)
    assert r["confusion"] == [[1, 1, 0], [1, 1, 0], [0, 0, 2]]
    assert r["per_class_acc"] == [0.5, 0.5, 1.0]
    assert r["acc"] == pytest.approx(4 / 6)
    # most confident mistake first: sample 1 (b with 0.7) before sample 3 (a with 0.6)
    assert [(m["index"], m["true"], m["pred"]) for m in r["mistakes"]] == [(1, 0, 1), (3, 1, 0)]
    assert r["mistakes"][0]["conf"] == pytest.approx(0.7)
    assert experiments.cell_indices(r, 0, 1, y) == [1]
    assert experiments.cell_indices(r, 2, 2, y) == [4, 5]


def test_compute_results_agrees_with_train_evaluate():
    ds = data.load("mnist")
    cfg = train.TrainConfig(spec=TINY)
    model = train.make_model(cfg)
    res = experiments.compute_results(model, ds, device="cpu", test_subset=300)
    acc, _ = train.evaluate(model, ds.test_x[:300], ds.test_y[:300], device="cpu")
    assert res["n"] == 300 and res["acc"] == pytest.approx(acc)
    assert np.array(res["confusion"]).sum(axis=1).tolist() == np.bincount(
        ds.test_y[:300].numpy(), minlength=10).tolist()


def test_overfitting_is_pointed_out_only_when_test_rises_while_train_falls():
    assert experiments.overfitting_epoch([1.0, .5, .3, .2], [1.0, .6, .7, .9]) == 2
    assert experiments.overfitting_epoch([1.0, .5, .3], [1.0, .6, .5]) is None
    # a rise within 3% is noise, not over-fitting
    assert experiments.overfitting_epoch([1.0, .5, .3], [1.0, .60, .61]) is None
    # both rising is not over-fitting (that is a learning rate problem)
    assert experiments.overfitting_epoch([1.0, 1.2, 1.5], [1.0, 1.3, 1.6]) is None
    assert experiments.overfitting_epoch([1.0], [1.0]) is None


def test_impossible_settings_are_refused_with_reasons():
    ok = train.TrainConfig(spec=TINY, train_subset=300, batch_size=50)
    def check(cfg):  # the problems as (locale key, format values)
        return [(e.locale_key(), e.fmt) for e in experiments.check_settings(cfg, 4000)]
    assert check(ok) == []
    big = train.TrainConfig(spec=TINY, train_subset=300, batch_size=500)
    assert check(big) == [("training.err.batch", {"batch": 500, "n": 300})]
    zero = train.TrainConfig(spec=TINY, lr=0.0)
    assert [k for k, _ in check(zero)] == ["training.err.lr"]
    wrong = [dict(TINY[0]), *TINY[1:4], {"type": "Linear", "in_features": 100, "out_features": 10}]
    (key, fmt), = check(train.TrainConfig(spec=wrong))
    assert key == "training.err.arch" and "676" in fmt["why"]
    eight = [*TINY[:4], {"type": "Linear", "in_features": 676, "out_features": 8}]
    assert check(train.TrainConfig(spec=eight)) == [
        ("training.err.outputs", {"shape": [1, 8]})]


def test_speed_measurement_and_time_estimate():
    cfg = train.TrainConfig(spec=TINY, batch_size=50, epochs=2, train_subset=1000, threads=1)
    sps = experiments.measure_samples_per_s(cfg, batches=2)
    assert sps > 0
    assert experiments.expected_seconds(cfg, 4000, 900, 1000.0) == pytest.approx(2 * 1300 / 1000)
