"""What runs inside a training job (see `cnndemo.jobs.manager`), and the messages it sends.

`run_job` trains each run of a job with `cnndemo.core.train.fit` and reports through a `send`
function, one small frozen dataclass per event: `RunStart`, throttled `BatchPoint`s,
`EpochPoint`s, `RunEnd` (history, results and the trained weights) and finally `JobEnd`.
Only plain Python values travel, never tensors, so the server needs no shared memory with
the job. `main` is the entry point of a local job process (the messages go through a pipe);
`cnndemo.jobs.ray_backend` calls `run_job` inside a Ray actor.
"""
from __future__ import annotations

import contextlib
import dataclasses
import enum
import io
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

# a job's niceness: students' pages come first; under a class's load a job gets the spare CPU
NICE = 15

if TYPE_CHECKING:
    from cnndemo.core.train import TrainConfig

LIVE_BATCH_INTERVAL_S = 0.15  # how often a worker reports batch progress at most
LIVE_TEST_INTERVAL_S = 3.0    # how often the live test curve gets a point during an epoch
LIVE_TEST_SAMPLES = 300       # on this many test images (a few % of the training time)


class JobState(enum.StrEnum):
    """The state of a job and of each of its runs. A str, so it prints and compares as its name."""
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"      # the job raised (bad settings, missing data): `error` says why
    DIVERGED = "diverged"  # the loss became NaN or infinite
    CRASHED = "crashed"    # the process or Ray actor running it died

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


QUEUED, RUNNING, DONE, STOPPED, FAILED, DIVERGED, CRASHED = JobState
FINISHED = frozenset(s for s in JobState if s.finished)


@dataclass(frozen=True)
class Run:
    """One training run of a job: a label for legends and its settings."""
    label: str
    cfg: TrainConfig


# ----- the messages from a job to the manager -----
@dataclass(frozen=True)
class RunStart:
    run: int
    device: str     # what the job got: "cpu", "cuda", "cuda:1"...
    pid: int        # the process training it (a local job process or a Ray actor's)


@dataclass(frozen=True)
class BatchPoint:
    """A live point of the training curve (`fit`'s batch info; a live test point has
    `test_acc` and `test_loss` too)."""
    run: int
    info: dict
    fraction: float | None


@dataclass(frozen=True)
class EpochPoint:
    run: int
    info: dict
    fraction: float | None


@dataclass(frozen=True)
class RunEnd:
    run: int
    state: JobState
    history: dict | None                      # train.History as plain lists, without batches
    error: str | None = None
    diverged_at: tuple[int, int] | None = None  # (epoch, batch)
    state_path: str | None = None             # where the job saved the trained weights...
    weights: bytes | None = None              # ...or the weights themselves (a remote job)
    results: dict | None = None               # experiments.compute_results(...)


@dataclass(frozen=True)
class StopSeen:
    """The job saw the stop request and trains no further batch (its last test pass, the
    results and the weights may take a few seconds more)."""
    run: int


@dataclass(frozen=True)
class JobEnd:
    state: JobState
    error: str | None = None


Message = RunStart | BatchPoint | EpochPoint | StopSeen | RunEnd | JobEnd


def _plain(v):
    """Make callback payloads picklable without torch: numbers, strings, lists, dicts."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _plain(dataclasses.asdict(v))
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "item") and getattr(v, "numel", lambda: 1)() == 1:
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def _history_dict(h) -> dict:
    return {k: _plain(getattr(h, k)) for k in
            ("train_loss", "train_acc", "test_loss", "test_acc", "stopped",
             "samples_per_s", "device", "seconds")}


def _fraction(info: dict, cfg: TrainConfig) -> float | None:
    """Fraction of a run done, from a batch/epoch callback payload (epochs are 1-based)."""
    if "epoch" not in info:
        return None
    b, nb = info.get("batch"), info.get("n_batches")  # epoch payloads have no batch
    within = (b / nb) if (b is not None and nb) else 1.0
    return max(0.0, min(1.0, (info["epoch"] - 1 + within) / max(1, cfg.epochs)))


class _StopWatch:
    """The stop event as `fit` sees it: the first time it finds the event set, the manager
    hears at once that training has halted (`StopSeen`)."""

    def __init__(self, event, send: Callable[[Message], None]):
        self.event, self.send, self.run, self.seen = event, send, 0, False

    def is_set(self) -> bool:
        if not self.event.is_set():
            return False
        if not self.seen:
            self.seen = True
            self.send(StopSeen(self.run))
        return True


def run_job(runs: list[Run], send: Callable[[Message], None], stop_ev, threads: int,
            workdir: str | None, with_results: bool) -> None:
    """Train `runs` in order, reporting through `send`, and end with a `JobEnd`. `stop_ev` has
    `is_set()` (a process or thread Event). With a `workdir` the weights are saved there, else
    they travel in `RunEnd`. An exception becomes a FAILED job with a plain message."""
    try:
        if getattr(runs[0].cfg, "job_kind", "train") == "finetune":
            state, err = _finetune_run(runs[0], send, _StopWatch(stop_ev, send), threads, workdir)
        else:
            state, err = _train_runs(runs, send, _StopWatch(stop_ev, send), threads, workdir,
                                     with_results)
    except Exception as e:  # reported to the page as a plain message, traceback to a file
        if workdir is not None:
            with open(os.path.join(workdir, "error.txt"), "w") as f:
                traceback.print_exc(file=f)
        state, err = FAILED, f"{type(e).__name__}: {e}"
    send(JobEnd(state, err))


def _train_runs(runs, send, stop_ev, threads, workdir, with_results) -> tuple[JobState, str | None]:
    import torch
    torch.set_num_threads(max(1, int(threads)))  # this process is the job's own
    from cnndemo.core import data, train
    from cnndemo.lessons import experiments
    state, err = DONE, None
    models = experiments.initial_models([r.cfg for r in runs])
    for i, (run, model) in enumerate(zip(runs, models)):
        stop_ev.run = i
        if stop_ev.is_set():
            break
        cfg = dataclasses.replace(run.cfg, threads=threads)
        send(RunStart(i, str(train.pick_device(cfg.device)), os.getpid()))
        ds = data.load(cfg.dataset)
        last, last_test = [0.0], [time.time()]

        def on_batch(info, i=i, cfg=cfg, model=model, ds=ds, last=last, last_test=last_test):
            info = _plain(info)
            now = time.time()
            if now - last_test[0] >= LIVE_TEST_INTERVAL_S:
                # a live test point mid-epoch; evaluate() restores train mode after
                last_test[0] = now
                info["test_acc"], info["test_loss"] = train.evaluate(
                    model, ds.test_x[:LIVE_TEST_SAMPLES], ds.test_y[:LIVE_TEST_SAMPLES],
                    loss=cfg.loss)
            elif now - last[0] < LIVE_BATCH_INTERVAL_S:
                return
            last[0] = now
            send(BatchPoint(i, info, _fraction(info, cfg)))

        def on_epoch(info, i=i, cfg=cfg):
            info = _plain(info)
            send(EpochPoint(i, info, _fraction(info, cfg)))

        cbs = train.Callbacks(on_batch_end=on_batch, on_epoch_end=on_epoch)
        try:
            hist = train.fit(model, ds, cfg, callbacks=cbs, stop=stop_ev)
        except train.Diverged as e:
            msg = f"diverged at epoch {e.epoch}, batch {e.batch}"
            send(RunEnd(i, DIVERGED, _history_dict(e.history), msg, (e.epoch, e.batch)))
            if len(runs) == 1:
                state, err = DIVERGED, msg
            continue
        run_state = STOPPED if hist.stopped else DONE
        path, weights = _keep_weights(model, workdir, i)
        results = (experiments.compute_results(model, ds, device=cfg.device,
                                               test_subset=cfg.test_subset)
                   if with_results else None)
        send(RunEnd(i, run_state, _history_dict(hist), state_path=path, weights=weights,
                    results=results))
        if run_state == STOPPED:
            break
    return STOPPED if stop_ev.is_set() else state, err


def _keep_weights(model, workdir: str | None, i: int) -> tuple[str | None, bytes | None]:
    """Save the trained weights in the job's folder, or return them to send (a remote job)."""
    import torch
    if workdir is not None:
        path = os.path.join(workdir, f"run{i}.pt")
        torch.save(model.state_dict(), path + ".tmp")
        os.replace(path + ".tmp", path)
        return path, None
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return None, buf.getvalue()


def _finetune_run(run: Run, send, stop_ev, threads, workdir) -> tuple[JobState, str | None]:
    """A fine-tune job (`cnndemo.classroom.finetune`): one run, the same messages as training;
    its `results` are the before/after figures."""
    import torch
    torch.set_num_threads(max(1, int(threads)))  # this process is the job's own
    from cnndemo.classroom import finetune
    from cnndemo.core import train
    cfg = run.cfg
    send(RunStart(0, str(train.pick_device(cfg.device)), os.getpid()))
    last = [0.0]

    def on_batch(info):
        if time.time() - last[0] >= LIVE_BATCH_INTERVAL_S:
            last[0] = time.time()
            info = _plain(info)
            send(BatchPoint(0, info, _fraction(info, cfg)))

    def on_epoch(info):
        info = _plain(info)
        send(EpochPoint(0, info, _fraction(info, cfg)))

    try:
        model, results = finetune.finetune(cfg, train.Callbacks(on_batch, on_epoch), stop_ev)
    except train.Diverged as e:
        msg = f"diverged at epoch {e.epoch}, batch {e.batch}"
        send(RunEnd(0, DIVERGED, _history_dict(e.history), msg, (e.epoch, e.batch)))
        return DIVERGED, msg
    state = STOPPED if results["stopped"] else DONE
    path, weights = _keep_weights(model, workdir, 0)
    send(RunEnd(0, state, results["history"], state_path=path, weights=weights, results=results))
    return state, None


def main(runs: list[Run], conn, stop_ev, threads: int, workdir: str, with_results: bool) -> None:
    """Entry point of a local job process: messages go through `conn`, one end of a pipe."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, max(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server is the server's
    # a server that died leaves a broken pipe: the next send raises and the job ends
    with contextlib.suppress(OSError):
        run_job(runs, conn.send, stop_ev, threads, workdir, with_results)
        conn.close()
