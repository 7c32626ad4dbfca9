"""Checkpoints: weights plus everything needed to rebuild and describe the model.

A checkpoint is a plain dict {"format", "state_dict", "meta"} where meta holds only
strings, numbers, lists and dicts (the architecture spec among them, as in nanoGPT), so
it loads with `torch.load(..., weights_only=True)`: a file cannot run code on load.
Writes go to a temporary file that is renamed into place, so an interrupted save never
leaves a half-written checkpoint behind.
"""
from __future__ import annotations

import datetime as _dt
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn as nn

from cnndemo.core import arch
from cnndemo.core.data import DIGIT_CLASSES, FASHION_CLASSES, REPO

FORMAT = "cnndemo-checkpoint-1"
SHIPPED_DIR = REPO / "checkpoints"
SHIPPED = {"mnist": SHIPPED_DIR / "digits.pt", "fashion-mnist": SHIPPED_DIR / "fashion.pt"}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and the reason."""


@dataclass
class Loaded:
    model: nn.Module
    meta: dict          # as stored in the file: plain values, the spec as layer dicts
    path: Path
    spec: list          # the layer dataclasses, converted once when the file is read

    @property
    def dataset(self) -> str:
        return self.meta.get("dataset", "mnist")

    @property
    def classes(self) -> list:
        return list(self.meta.get("classes") or (
            DIGIT_CLASSES if self.dataset == "mnist" else FASHION_CLASSES))

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.path.stem

    @property
    def input_shape(self) -> tuple:
        return tuple(self.meta.get("input_shape", (1, 28, 28)))


@dataclass
class Info:
    path: Path
    name: str
    dataset: str
    accuracy: float | None
    shipped: bool
    created: str = ""
    error: str | None = None  # why the file cannot be read; None for a good checkpoint

    def label(self) -> str:
        acc = f"{self.accuracy:.1%}" if self.accuracy is not None else "?"
        return f"{self.name} ({self.dataset}, {acc})"


def user_dir() -> Path:
    return Path(os.environ.get("CNNDEMO_USER_CHECKPOINTS", REPO / "runs" / "checkpoints"))


def shipped_path(dataset: str = "mnist") -> Path:
    return SHIPPED[dataset]


def is_shipped(path) -> bool:
    return Path(path).resolve().parent == SHIPPED_DIR.resolve()


def make_meta(spec, dataset, source, n_train, n_test, test_kind, accuracy, name="",
              input_shape=(1, 28, 28), **extra) -> dict:
    """The metadata every checkpoint carries."""
    return {"name": name, "spec": arch.spec_to_dicts(spec),
            "input_shape": list(input_shape), "dataset": dataset, "source": source,
            "n_train": int(n_train), "n_test": int(n_test), "test_kind": test_kind,
            "accuracy": float(accuracy), "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "torch_version": str(torch.__version__), **extra}


def run_meta(cfg, ds, accuracy: float, n_test: int, name: str, epochs: int, device: str = "",
             samples_per_s: float = 0.0) -> dict:
    """The metadata of a training run (`train.TrainConfig` on a `data.DataSet`), the same
    whether the command line or the training lab saves it."""
    n_train = min(len(ds.train_y), cfg.train_subset or len(ds.train_y))
    preset = {} if cfg.spec is not None else {"preset": cfg.preset}
    return make_meta(cfg.layers(), ds.name, ds.source, n_train, n_test, ds.test_kind, accuracy,
                     name=name, input_shape=cfg.input_shape, **preset, epochs=int(epochs),
                     loss=cfg.loss, optimizer=cfg.optimizer, lr=cfg.lr, batch_size=cfg.batch_size,
                     seed=cfg.seed, augment=cfg.augment, schedule=cfg.schedule,
                     classes=list(ds.classes), samples_per_s=round(float(samples_per_s), 1),
                     device=device)


def check_writable(path) -> None:
    """Refuse to overwrite a shipped model, unless CNNDEMO_ALLOW_SHIPPED_WRITE=1 (which is
    how the shipped models are rebuilt). Callers that train first check before they start."""
    path = Path(path)
    if path.exists() and is_shipped(path) and os.environ.get("CNNDEMO_ALLOW_SHIPPED_WRITE") != "1":
        raise CheckpointError(f"{path.name} is a shipped model and cannot be overwritten "
                              "(set CNNDEMO_ALLOW_SHIPPED_WRITE=1 to rebuild it).")


def save(path, model: nn.Module, meta: dict) -> Path:
    path = Path(path)
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    blob = {"format": FORMAT, "state_dict": state, "meta": meta}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read_blob(path: Path) -> dict:
    """The file's dict, or a CheckpointError that says what is wrong with it."""
    if not path.exists():
        raise CheckpointError(f"{path}: the file does not exist.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path.name}: refused to load, the file contains Python objects "
                              f"that are not plain weights ({_short(e)}).") from None
    except Exception as e:  # any other failure to unpickle means a damaged file
        raise CheckpointError(f"{path.name}: the file is damaged or truncated and cannot be "
                              f"read ({_short(e)}).") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path.name}: this is not a cnndemo checkpoint (it has no "
                              "architecture metadata).")
    return blob


def load(path) -> Loaded:
    path = Path(path)
    blob = _read_blob(path)
    meta = blob.get("meta") or {}
    try:
        spec = arch.spec_from_dicts(meta["spec"])
        model = arch.build(spec)
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path.name}: the weights do not match the architecture "
                              f"stored with them ({_short(e)}).") from None
    model.eval()
    return Loaded(model, meta, path, spec)


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:160]


def read_info(path) -> Info | None:
    """A checkpoint's listing entry; re-read only when the file changes, since the sidebar
    lists every checkpoint on every rerun of every page."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    return _read_info(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=1024)
def _read_info(path: Path, mtime_ns: int, size: int) -> Info:
    try:
        meta = _read_blob(path).get("meta") or {}
    except CheckpointError as e:  # listed with its reason, so a damaged save does not vanish
        return Info(path, path.stem, "?", None, is_shipped(path), error=str(e))
    return Info(path, meta.get("name") or path.stem, meta.get("dataset", "?"),
                meta.get("accuracy"), is_shipped(path), meta.get("created", ""))


def list_checkpoints() -> list[Info]:
    """Shipped models first, then the class's own saves, newest first."""
    shipped = [i for p in sorted(SHIPPED_DIR.glob("*.pt")) if (i := read_info(p))]
    udir = user_dir()
    own = [i for p in udir.glob("*.pt") if (i := read_info(p))] if udir.exists() else []
    own.sort(key=lambda i: i.created, reverse=True)
    return shipped + own


def delete(path) -> None:
    path = Path(path)
    if is_shipped(path):
        raise CheckpointError(f"{path.name} is a shipped model and cannot be deleted.")
    path.unlink(missing_ok=True)


def load_or_fallback(path, dataset: str = "mnist", loader=None) -> tuple[Loaded, str | None]:
    """Load `path`; on failure fall back to the shipped model and return the reason.
    `loader` replaces `load` (the app passes its cached loader)."""
    loader = loader or load
    if path:
        try:
            return loader(path), None
        except CheckpointError as e:
            return loader(shipped_path(dataset)), str(e)
    return loader(shipped_path(dataset)), None
