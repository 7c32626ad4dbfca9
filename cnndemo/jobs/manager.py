"""Background training jobs, each in its own process, with a server-wide cap.

Why processes and not threads: a training loop holds the CPU (and the GIL between torch
calls), so in a thread it would slow down every other student's page. In a separate
process it runs at a lower priority with a fixed number of torch threads, and if it
crashes the web server keeps serving.

How it works:
- `JobManager.submit(runs, owner)` queues a job (one or more training runs done in order,
  e.g. the four optimizers of a comparison experiment) and returns its id.
- A daemon "pump" thread in the server starts queued jobs while fewer than `max_running`
  run, reads each worker's progress messages from a pipe, notices workers that died, and
  removes jobs whose owner has not looked at them for a long time.
- The worker (`job_worker.main`) calls `cnndemo.core.train.fit` with callbacks that send progress
  through the pipe; `stop(job_id)` sets a multiprocessing Event that fit checks between
  batches, and a worker that does not stop in time is terminated.
- Pages only ever read snapshots (`get`, `jobs`); nothing here touches Streamlit.
"""
from __future__ import annotations

import atexit
import copy
import itertools
import math
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from cnndemo.jobs import worker as job_worker
from cnndemo.jobs.worker import (  # noqa: F401 (the job states, re-exported for pages and tests)
    CRASHED,
    DIVERGED,
    DONE,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STOPPED,
)


@dataclass
class Run:
    """One training run of a job: a label for legends and a `train.TrainConfig`."""
    label: str
    cfg: Any


@dataclass
class RunProgress:
    label: str
    cfg: Any
    state: str = QUEUED
    batches: list = field(default_factory=list)   # live per-batch points (dicts)
    epochs: list = field(default_factory=list)    # per-epoch points (dicts)
    fraction: float = 0.0                          # of this run, 0..1
    history: dict | None = None                    # final History as plain lists
    results: dict | None = None                    # experiments.compute_results(...)
    state_path: str | None = None                  # trained weights (torch.save'd state_dict)
    error: str | None = None
    diverged_at: tuple | None = None               # (epoch, batch)
    device: str | None = None
    samples_per_s: float | None = None


@dataclass
class Job:
    id: str
    owner: str
    name: str
    runs: list
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    current: int = 0
    error: str | None = None
    pid: int | None = None
    exitcode: int | None = None
    queue_position: int | None = None
    workdir: str = ""
    stop_requested: float | None = None

    @property
    def done(self) -> bool:
        return self.state in FINISHED

    @property
    def fraction(self) -> float:
        if not self.runs:
            return 0.0
        if self.state == DONE:
            return 1.0
        done_runs = sum(1 for r in self.runs if r.state in FINISHED)
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


def default_max_running(cores: int | None = None) -> int:
    """Concurrent jobs: $CNNDEMO_MAX_JOBS, else half the cores but at least 2."""
    env = os.environ.get("CNNDEMO_MAX_JOBS")
    if env and env.strip().isdigit() and int(env) > 0:
        return int(env)
    cores = cores or os.cpu_count() or 2
    return max(2, cores // 2)


def default_threads(max_running: int, cores: int | None = None) -> int:
    """Torch threads per job: the cores shared out among the jobs, leaving one for the server."""
    cores = cores or os.cpu_count() or 2
    return max(1, (cores - 1) // max_running)


def _start_method() -> str:
    env = os.environ.get("CNNDEMO_JOB_START")
    if env in ("spawn", "forkserver"):
        return env
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


class JobManager:
    def __init__(self, max_running: int | None = None, threads: int | None = None,
                 workdir: str | None = None, start_method: str | None = None,
                 stop_grace_s: float = 2.0, abandon_after_s: float = 1200.0,
                 keep_finished_s: float = 3600.0, with_results: bool = True):
        self.max_running = max_running or default_max_running()
        self.threads = threads or default_threads(self.max_running)
        self.workdir = workdir or tempfile.mkdtemp(prefix="cnndemo-jobs-")
        self.stop_grace_s = stop_grace_s
        self.abandon_after_s = abandon_after_s
        self.keep_finished_s = keep_finished_s
        self.with_results = with_results
        self._ctx = mp.get_context(start_method or _start_method())
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload(["torch", "cnndemo.core.train", "cnndemo.lessons.experiments"])
        self._jobs: dict[str, Job] = {}
        self._procs: dict[str, Any] = {}      # id -> (process, conn, stop_event)
        self._seen: dict[str, float] = {}     # owner -> last time a page looked
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # ----- public API (any thread) -----
    def submit(self, runs: list[Run], owner: str, name: str = "") -> str:
        if not runs:
            raise ValueError("a job needs at least one run")
        with self._lock:
            job_id = f"job{next(self._ids)}-{os.getpid()}"
            wd = os.path.join(self.workdir, job_id)
            os.makedirs(wd, exist_ok=True)
            progress = [RunProgress(label=r.label, cfg=r.cfg) for r in runs]
            self._jobs[job_id] = Job(id=job_id, owner=owner, name=name or runs[0].label,
                                     runs=progress, workdir=wd)
            self._seen[owner] = time.time()
            self._update_queue()
        self._ensure_pump()
        return job_id

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return copy.deepcopy(job) if job else None

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._lock:
            return [copy.deepcopy(j) for j in self._jobs.values()
                    if owner is None or j.owner == owner]

    def touch(self, owner: str) -> None:
        """A page of `owner` is alive: keep its jobs."""
        with self._lock:
            self._seen[owner] = time.time()

    def stop(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.done:
                return
            if job.state == QUEUED:
                self._finish(job, STOPPED)
                return
            job.stop_requested = job.stop_requested or time.time()
            proc = self._procs.get(job_id)
            if proc:
                proc[2].set()

    def remove(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(job_id, None)
            entry = self._procs.pop(job_id, None)
            self._update_queue()
        if entry:
            _kill(entry[0])
        if job:
            shutil.rmtree(job.workdir, ignore_errors=True)

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.state == RUNNING)

    def wait(self, job_id: str, timeout: float = 60.0, until=None) -> Job | None:
        """Block until the job is finished (or `until(job)` is true). For tests and the bench."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            job = self.get(job_id)
            if job is None or job.done or (until is not None and until(job)):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            ids = list(self._jobs)
        for job_id in ids:
            self.remove(job_id)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ----- pump thread -----
    def _ensure_pump(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._pump_loop, name="cnndemo-jobs",
                                                daemon=True)
                self._thread.start()

    def _pump_loop(self) -> None:
        while not self._closed:
            try:
                self.pump()
            except Exception:  # the pump must survive anything a worker sends
                traceback.print_exc()
            time.sleep(0.05)

    def pump(self) -> None:
        """One round: read progress, detect dead workers, start queued jobs, sweep."""
        with self._lock:
            for job_id, (proc, conn, _stop_ev) in list(self._procs.items()):
                job = self._jobs[job_id]
                self._drain(job, conn)
                if not proc.is_alive():
                    proc.join(timeout=0.1)
                    self._drain(job, conn)
                    if not job.done:
                        job.exitcode = proc.exitcode
                        job.error = ("the training process ended unexpectedly "
                                     f"(exit code {proc.exitcode})")
                        self._finish(job, STOPPED if job.stop_requested else CRASHED)
                    conn.close()
                    del self._procs[job_id]
                elif job.stop_requested and time.time() - job.stop_requested > self.stop_grace_s:
                    _kill(proc)
            self._start_queued()
            self._sweep()

    def _start_queued(self) -> None:
        running = sum(1 for j in self._jobs.values() if j.state == RUNNING)
        for job in sorted(self._jobs.values(), key=lambda j: j.created):
            if running >= self.max_running:
                break
            if job.state != QUEUED:
                continue
            recv_conn, send_conn = self._ctx.Pipe(duplex=False)
            stop_ev = self._ctx.Event()
            runs = [Run(r.label, r.cfg) for r in job.runs]
            proc = self._ctx.Process(
                target=job_worker.main, name=f"cnndemo-{job.id}", daemon=True,
                args=(runs, send_conn, stop_ev, self.threads, job.workdir, self.with_results))
            try:
                proc.start()
            except Exception as e:  # e.g. out of processes: report, keep serving
                job.error = f"could not start the training process: {e}"
                self._finish(job, CRASHED)
                continue
            send_conn.close()
            job.pid, job.state, job.started = proc.pid, RUNNING, time.time()
            job.runs[0].state = RUNNING
            self._procs[job.id] = (proc, recv_conn, stop_ev)
            running += 1
        self._update_queue()

    def _update_queue(self) -> None:
        queued = sorted((j for j in self._jobs.values() if j.state == QUEUED),
                        key=lambda j: j.created)
        for j in self._jobs.values():
            j.queue_position = None
        for pos, j in enumerate(queued, start=1):
            j.queue_position = pos

    def _sweep(self) -> None:
        now = time.time()
        for job in list(self._jobs.values()):
            seen = self._seen.get(job.owner, job.created)
            limit = self.keep_finished_s if job.done else self.abandon_after_s
            if now - seen > limit:
                entry = self._procs.pop(job.id, None)
                if entry:
                    _kill(entry[0])
                self._jobs.pop(job.id, None)
                shutil.rmtree(job.workdir, ignore_errors=True)
        self._update_queue()

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        job.finished = time.time()
        for r in job.runs:
            if r.state in (QUEUED, RUNNING):
                r.state = state if r.state == RUNNING else STOPPED
        self._update_queue()

    def _drain(self, job: Job, conn) -> None:
        try:
            while conn.poll(0):
                self._handle(job, conn.recv())
        except (EOFError, OSError):
            pass
        except Exception as e:  # a half-written message from a killed worker
            job.error = job.error or f"unreadable progress message: {e}"

    def _handle(self, job: Job, msg: dict) -> None:
        kind = msg.get("type")
        i = msg.get("run", job.current)
        run = job.runs[i] if 0 <= i < len(job.runs) else None
        if kind == "run_start" and run:
            job.current = i
            run.state, run.device = RUNNING, msg.get("device")
        elif kind == "batch" and run:
            run.batches.append(msg["info"])
            run.fraction = msg.get("fraction", run.fraction)
        elif kind == "epoch" and run:
            run.epochs.append(msg["info"])
            run.fraction = msg.get("fraction", run.fraction)
        elif kind == "run_end" and run:
            run.history = msg.get("history")
            run.results = msg.get("results")
            run.state_path = msg.get("state_path")
            run.samples_per_s = (run.history or {}).get("samples_per_s")
            run.device = (run.history or {}).get("device") or run.device
            run.error = msg.get("error")
            run.diverged_at = msg.get("diverged_at")
            run.state = msg.get("state", DONE)
            run.fraction = 1.0 if run.state == DONE else run.fraction
        elif kind == "job_end":
            job.error = msg.get("error") or job.error
            state = msg.get("state", DONE)
            if job.stop_requested and state == DONE:
                state = STOPPED
            self._finish(job, state)


def _kill(proc) -> None:
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=1.0)
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=1.0)


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The server-wide job manager (one per server process)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
            atexit.register(_MANAGER.shutdown)  # no orphan workers or temp files at exit
        return _MANAGER


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
