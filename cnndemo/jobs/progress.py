"""What pages read about a job: frozen snapshots, and the bounded live curve behind them.

The manager makes a new `Job` snapshot each time a job changes and hands the same object
to every poll, so many sessions can read one job at once without copying or locking it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnndemo.jobs.worker import DONE, QUEUED, JobState

if TYPE_CHECKING:
    from cnndemo.core.train import TrainConfig

MAX_BATCH_POINTS = 400  # live training points kept per run, spread over the whole run (+ half as many test points)


class Decimated:
    """At most `cap` points, evenly spread over everything added: when full, every second
    point goes and from then on only every `stride`-th new point is kept. The newest point
    is always known (the page shows the current epoch from it)."""

    def __init__(self, cap: int):
        self.cap, self.stride, self.seen, self.points, self.newest = cap, 1, 0, [], None

    def add(self, order: int, point: dict) -> None:
        self.newest = (order, point)
        if self.seen % self.stride == 0:
            self.points.append(self.newest)
            if len(self.points) > self.cap:
                self.points, self.stride = self.points[::2], self.stride * 2
        self.seen += 1

    def items(self) -> list:
        if self.newest is not None and (not self.points or self.points[-1] is not self.newest):
            return [*self.points, self.newest]
        return list(self.points)


# ----- the snapshots pages read (frozen: shared between all sessions as they are) -----
@dataclass(frozen=True)
class RunProgress:
    label: str
    cfg: TrainConfig
    state: JobState = QUEUED
    batches: tuple = ()                 # live per-batch points (dicts), bounded
    n_points: int = 0                   # live points received, of which `batches` keeps some
    epochs: tuple = ()                  # per-epoch points (dicts)
    fraction: float = 0.0               # of this run, 0..1
    history: dict | None = None         # final History as plain lists
    results: dict | None = None         # experiments.compute_results(...)
    state_path: str | None = None       # trained weights (torch.save'd state_dict)
    error: str | None = None
    diverged_at: tuple | None = None    # (epoch, batch)
    device: str | None = None
    samples_per_s: float | None = None


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    name: str
    runs: tuple[RunProgress, ...]
    state: JobState = QUEUED
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    current: int = 0
    error: str | None = None
    pid: int | None = None
    exitcode: int | None = None
    queue_position: int | None = None
    workdir: str = ""
    stop_requested: float | None = None
    stop_seen: float | None = None      # when the job answered that it trains no further
    backend: str = "local"

    @property
    def done(self) -> bool:
        return self.state.finished

    @property
    def fraction(self) -> float:
        if self.state == DONE:
            return 1.0
        done_runs = sum(1 for r in self.runs if r.state.finished)
        cur = self.runs[self.current].fraction if self.current < len(self.runs) else 0.0
        part = 0.0 if self.current < done_runs else cur
        return min(1.0, (done_runs + part) / len(self.runs))

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def eta_s(self) -> float | None:
        f = self.fraction
        if self.done or self.started is None or f < 0.02:
            return None
        return self.elapsed_s * (1 - f) / f
