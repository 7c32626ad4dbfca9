"""Fine-tuning the digits model on the class's drawings, with real torch and real digits.

The "class" draws with a fat marker: real MNIST training digits, their strokes thickened
twice with a 3x3 max filter. The shipped model reads those badly; a short fine-tune on some
of them should read the others (held out, never trained on) much better, without forgetting
the plain held-out digits.
"""
import pytest
import torch
import torch.nn.functional as F

from cnndemo import i18n
from cnndemo.classroom import finetune as FT
from cnndemo.classroom.store import Drawing
from cnndemo.core import checkpoints, data, train
from cnndemo.jobs import manager as jobs

SHIPPED = str(checkpoints.shipped_path("mnist"))


def fat(x: torch.Tensor) -> torch.Tensor:
    thick = F.max_pool2d(F.max_pool2d(x.float()[:, None], 3, 1, 1), 3, 1, 1)
    return thick[:, 0].to(torch.uint8)


def class_drawings(n: int, seed: int = 5) -> tuple[tuple, tuple]:
    ds = data.load("mnist")
    pick = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(seed))[:n]
    x, y = fat(ds.train_x[pick]), ds.train_y[pick]
    return tuple(a.numpy().tobytes() for a in x), tuple(int(v) for v in y)


@pytest.fixture(scope="module")
def tuned():
    images, labels = class_drawings(80)
    cfg = FT.FinetuneConfig(SHIPPED, images, labels)  # the defaults the teacher gets
    model, res = FT.finetune(cfg)
    return cfg, model, res


def test_fine_tuning_reads_the_class_drawings_it_never_saw_better(tuned):
    cfg, model, res = tuned
    rows = res["rows"]
    assert res["n_drawings"] == 80 and res["n_held"] == 20 and res["n_trained"] == 60
    assert res["n_replay"] == 200  # max(200, 2 per trained drawing)
    assert rows["held"]["n"] == 20 and rows["trained"]["n"] == 60 and rows["digits"]["n"] == 1000
    assert rows["held"]["before"] < 0.7, rows  # the fat marker really is hard for it
    assert rows["held"]["after"] >= rows["held"]["before"] + 0.25, rows
    assert rows["trained"]["after"] > rows["trained"]["before"]
    assert rows["digits"]["after"] >= 0.95, rows  # replayed digits: it did not forget


def test_before_and_after_are_what_evaluate_gives_on_the_same_images(tuned):
    cfg, model, res = tuned
    x = torch.from_numpy(bytes_to_array(cfg.images))
    y = torch.tensor(cfg.labels)
    trained_idx, held_idx = FT.split(len(y), cfg.seed)
    base = checkpoints.load(SHIPPED).model
    ds = data.load("mnist")
    for name, idx in (("held", held_idx), ("trained", trained_idx)):
        assert res["rows"][name]["before"] == train.evaluate(base, x[idx], y[idx])[0]
        assert res["rows"][name]["after"] == train.evaluate(model, x[idx], y[idx])[0]
    assert res["rows"]["digits"]["before"] == train.evaluate(base, ds.test_x, ds.test_y)[0]
    assert res["rows"]["digits"]["after"] == train.evaluate(model, ds.test_x, ds.test_y)[0]
    assert set(held_idx.tolist()).isdisjoint(trained_idx.tolist())


def bytes_to_array(images):
    import numpy as np
    return np.frombuffer(b"".join(images), dtype=np.uint8).reshape(-1, 28, 28).copy()


def test_too_few_drawings_say_how_many_are_needed():
    images, labels = class_drawings(FT.MIN_DRAWINGS - 1)
    with pytest.raises(FT.FinetuneError) as e:
        FT.finetune(FT.FinetuneConfig(SHIPPED, images, labels))
    assert e.value.code == "too_few"
    assert e.value.localized("en") == "Fine-tuning needs at least 10 labelled drawings; the class has 9."
    assert "10" in e.value.localized("ko") and "9" in e.value.localized("ko")
    for bad, code in ((dict(epochs=0), "epochs"), (dict(lr=float("nan")), "lr"),
                      (dict(labels=(1,) * 11), "mismatch")):
        cfg = FT.FinetuneConfig(SHIPPED, *class_drawings(12))
        cfg = FT.FinetuneConfig(**{**cfg.__dict__, **bad})
        with pytest.raises(FT.FinetuneError) as e:
            FT.check(cfg)
        assert e.value.code == code and i18n.t(e.value.locale_key(), "en") != e.value.locale_key()


def test_labelled_skips_unlabelled_damaged_and_empty_drawings():
    ink = bytes([0] * 783 + [200])
    rows = [Drawing(1, "m", "A", ink, 3, 3, 0.0), Drawing(2, "m", "A", ink, 3, None, 0.0),
            Drawing(3, "m", "A", b"\x01" * 100, 3, 4, 0.0), Drawing(4, "m", "A", bytes(784), 1, 1, 0.0),
            Drawing(5, "m", "A", ink, 7, 12, 0.0), Drawing(6, "m", "A", ink, 7, 7, 0.0)]
    lab = FT.labelled(rows)
    assert lab.labels == (3, 7) and len(lab) == 2 and lab.images == (ink, ink)
    assert lab.unlabelled == 1 and lab.damaged == 3


def test_a_quarter_is_held_out_only_when_there_are_enough_drawings():
    tr, held = FT.split(FT.HOLDOUT_FROM - 1, seed=1)
    assert len(held) == 0 and sorted(tr.tolist()) == list(range(FT.HOLDOUT_FROM - 1))
    tr, held = FT.split(41, seed=1)
    assert len(held) == 11 and sorted(tr.tolist() + held.tolist()) == list(range(41))
    assert FT.split(41, seed=1)[1].tolist() == held.tolist()  # its own generator: repeatable


def test_a_model_with_nan_weights_is_reported_as_diverged(tmp_path):
    base = checkpoints.load(SHIPPED)
    with torch.no_grad():
        base.model[0].weight.fill_(float("nan"))
    bad = checkpoints.save(tmp_path / "nan.pt", base.model, base.meta)
    with pytest.raises(train.Diverged):
        FT.finetune(FT.FinetuneConfig(str(bad), *class_drawings(12), epochs=1))


def test_a_fashion_model_is_refused():
    with pytest.raises(FT.FinetuneError) as e:
        FT.finetune(FT.FinetuneConfig(str(checkpoints.shipped_path("fashion-mnist")),
                                      *class_drawings(12)))
    assert e.value.code == "not_digits"


def test_as_a_job_it_reports_progress_and_saves_a_listed_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNDEMO_USER_CHECKPOINTS", str(tmp_path / "ckpt"))
    m = jobs.JobManager(max_running=1, threads=1, workdir=str(tmp_path / "jobs"))
    try:
        cfg = FT.FinetuneConfig(SHIPPED, *class_drawings(20), epochs=2, replay=50)
        job = m.wait(m.submit([jobs.Run("fine-tune", cfg)], owner="teacher"), timeout=180)
        assert job.state == jobs.DONE, job.error
        run = job.runs[0]
        assert [e["epoch"] for e in run.epochs] == [1, 2] and job.fraction == 1.0
        res = run.results
        assert res["n_held"] == 0 and res["n_trained"] == 20 and res["n_replay"] == 50
        path = FT.save(run.state_path, res, "class-ABC23-finetuned", job.id)
        assert FT.save(run.state_path, res, "class-ABC23-finetuned", job.id) == path
        assert path.name == "class-ABC23-finetuned.pt"
        saved = checkpoints.load(path)
        assert saved.meta["finetuned_from"] == "digits" and saved.meta["class_drawings"] == 20
        assert saved.meta["accuracy"] == res["rows"]["digits"]["after"]
        x = torch.from_numpy(bytes_to_array(cfg.images))
        acc = train.evaluate(saved.model, x, torch.tensor(cfg.labels))[0]
        assert acc == res["rows"]["trained"]["after"]
        assert path in [i.path for i in checkpoints.list_checkpoints()]
        base = checkpoints.load(SHIPPED)  # a model gone NaN: the job says it diverged
        with torch.no_grad():
            base.model[0].weight.fill_(float("nan"))
        bad = checkpoints.save(tmp_path / "nan.pt", base.model, base.meta)
        cfg = FT.FinetuneConfig(str(bad), *class_drawings(12), epochs=1, replay=20)
        job = m.wait(m.submit([jobs.Run("fine-tune", cfg)], owner="teacher"), timeout=180)
        assert job.state == jobs.DIVERGED and job.runs[0].state_path is None
        assert job.error == "diverged at epoch 1, batch 1"
    finally:
        m.shutdown()
