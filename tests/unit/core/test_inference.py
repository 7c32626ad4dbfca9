"""Prediction, every layer's activations, the drawing set and the predict CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnndemo.cli import predict as predict_cli
from cnndemo.core import arch, checkpoints, inference, preprocess

DRAWINGS = Path(__file__).resolve().parents[2] / "data" / "drawings"
SMALL = [
    arch.Conv2d(1, 4, 3, padding=1), arch.ReLU(), arch.MaxPool2d(2),
    arch.Conv2d(4, 6, 3), arch.ReLU(), arch.MaxPool2d(2),
    arch.Flatten(), arch.Linear(6 * 6 * 6, 10),
]


@pytest.fixture(scope="module")
def shipped():
    return checkpoints.load(checkpoints.shipped_path("mnist"))


def predict_batch(model, images):
    """The digits read from a stack of 28x28 inputs, in one batched forward pass."""
    with torch.inference_mode():
        return model(torch.from_numpy(images)[:, None]).argmax(1).numpy()


def test_batched_prediction_agrees_with_run(shipped):
    images = np.stack([preprocess.preprocess(preprocess.load_image(DRAWINGS / f"{d}_01.png")).image for d in range(10)])
    tops = [inference.run(shipped.model, img, shipped.spec).prediction.top for img in images]
    assert list(predict_batch(shipped.model, images)) == tops


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return arch.build(SMALL).eval()


def test_run_collects_every_layer_and_matches_pytorch(small_model):
    img = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    res = inference.run(small_model, img, SMALL)
    x = torch.from_numpy(img)[None, None]
    # PyTorch is the oracle: each recorded output equals running the layers by hand.
    h = x
    for layer, module in zip(res.layers, small_model.children()):
        h = module(h)
        assert layer.shape == tuple(h.shape)
        np.testing.assert_allclose(layer.values, h[0].detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.prediction.probs, F.softmax(h[0], 0).detach().numpy(), rtol=1e-5, atol=1e-7)
    assert res.prediction.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert [layer.name for layer in res.layers][:3] == ["Conv2d(1, 4, 3, padding=1)", "ReLU()", "MaxPool2d(2)"]
    assert res.shape_trail() == [
        (1, 1, 28, 28), (1, 4, 28, 28), (1, 4, 28, 28), (1, 4, 14, 14),
        (1, 6, 12, 12), (1, 6, 12, 12), (1, 6, 6, 6), (1, 216), (1, 10),
    ]
    assert [layer.is_map for layer in res.layers] == [True] * 6 + [False] * 2
    # The model is left as it was: nothing registered on it, still in eval mode.
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in small_model.modules())
    assert not any(m.training for m in small_model.modules())


def test_run_refuses_a_model_it_cannot_walk_layer_by_layer():
    with pytest.raises(ValueError, match="nn.Sequential"):
        inference.run(torch.nn.Linear(784, 10), np.zeros((28, 28), np.float32))


def test_conv_kernels_and_format(small_model):
    k = inference.conv_kernels(small_model, 3)
    assert k.shape == (6, 4, 3, 3)
    np.testing.assert_array_equal(k, small_model[3].weight.detach().numpy())
    with pytest.raises(ValueError, match="ReLU"):
        inference.conv_kernels(small_model, 1)
    assert inference.format_shape((1, 32, 14, 14)) == "[1, 32, 14, 14]"


def test_unsure_when_top_probability_is_below_half():
    p = inference.Prediction(np.array([0.4, 0.35, 0.25]), ["a", "b", "c"], np.zeros(3))
    assert p.unsure and p.label == "a" and p.top == 0
    assert not inference.Prediction(np.array([0.2, 0.7, 0.1]), ["a", "b", "c"], np.zeros(3)).unsure


def test_shipped_model_reads_real_mnist_through_the_pipeline(shipped):
    from cnndemo.core import data

    ds = data.load("mnist")
    images = np.stack([preprocess.preprocess(ds.test_x[i].numpy()).image for i in range(200)])
    hits = (predict_batch(shipped.model, images) == ds.test_y[:200].numpy()).sum()
    assert hits >= 190


def test_shipped_model_reads_the_mouse_drawing_set(shipped):
    files = sorted(DRAWINGS.glob("*.png"))
    assert len(files) >= 100 and {f.name[0] for f in files} == set("0123456789")
    images = np.stack([preprocess.preprocess(preprocess.load_image(f)).image for f in files])
    tops = predict_batch(shipped.model, images)
    misses = [f"{f.name}->{top}" for f, top in zip(files, tops) if top != int(f.name[0])]
    rate = 1 - len(misses) / len(files)
    assert rate >= 0.95, f"read {rate:.1%} of {len(files)} drawings; misses: {misses}"


def test_predict_cli_json_lines_and_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG but not really")
    seven, one = str(DRAWINGS / "7_00.png"), str(DRAWINGS / "1_00.png")
    rc = predict_cli.main([seven, str(bad), one, "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 1  # one file failed, the others still ran
    assert [d["image"] for d in lines] == [seven, str(bad), one]
    assert lines[0]["digit"] == 7 and lines[2]["digit"] == 1
    assert len(lines[0]["probs"]) == 10 and sum(lines[0]["probs"]) == pytest.approx(1, abs=1e-4)
    assert "broken.png" in lines[1]["error"]


def test_predict_cli_greyscale_any_size_and_broken_checkpoint(tmp_path, capsys):
    from PIL import Image

    rgba = preprocess.load_image(DRAWINGS / "3_00.png")
    grey = Image.fromarray(255 - rgba[..., 0]).resize((90, 90))  # black ink on white, 90x90
    grey.save(tmp_path / "three.png")
    assert predict_cli.main([str(tmp_path / "three.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == 3
    broken = tmp_path / "model.pt"
    broken.write_bytes(b"nope")
    assert predict_cli.main(["--checkpoint", str(broken), str(tmp_path / "three.png")]) == 2
    assert "model.pt" in capsys.readouterr().err
