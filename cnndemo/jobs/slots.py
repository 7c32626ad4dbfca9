"""The job cap, shared by every server process on the machine: one lock file per slot.

A running job holds an exclusive `fcntl.flock` on one of `cap` files in a shared folder.
The kernel drops the lock when the file is closed, including when the process that holds it
dies, so a crashed server never leaks a slot. N Streamlit workers behind a proxy that point
at the same folder therefore run at most `cap` jobs together, whichever worker started them.
"""
from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """$CNNDEMO_JOB_SLOTS, else `runs/job-slots` in the checkout (shared by its workers)."""
    return Path(os.environ.get("CNNDEMO_JOB_SLOTS") or REPO / "runs" / "job-slots")


class Slot:
    """One held slot; `release()` (or the end of the process) frees it."""

    def __init__(self, index: int, fd: int):
        self.index, self._fd = index, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None


class Slots:
    def __init__(self, folder: str | os.PathLike, cap: int):
        if cap < 1:
            raise ValueError("the job cap must be at least 1")
        self.folder, self.cap = Path(folder), cap
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def try_acquire(self) -> Slot | None:
        """A free slot, or None when `cap` jobs run already (on any process). Never blocks."""
        with self._lock:
            for i in range(self.cap):
                fd = os.open(self.folder / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return Slot(i, fd)
            return None

    def in_use(self) -> int:
        """How many slots are held right now, by this process or any other."""
        held = 0
        for i in range(self.cap):
            path = self.folder / f"slot-{i}.lock"
            if not path.exists():
                continue
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held += 1
            finally:
                os.close(fd)  # also drops the probe's own lock
        return held
