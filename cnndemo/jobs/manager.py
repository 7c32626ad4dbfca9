"""Background training jobs, each in its own process (or Ray actor), under a machine-wide cap.

Why processes and not threads: a training loop holds the CPU (and the GIL between torch
calls), so in a thread it would slow down every other student's page. In a separate
process it runs at a lower priority with a fixed number of torch threads, and if it
crashes the web server keeps serving.

How it works:
- `JobManager.submit(runs, owner)` queues a job (one or more training runs done in order,
  e.g. the four optimizers of a comparison experiment) and returns its id.
- One daemon "pump" thread does all the slow work: it reads each job's messages
  (`cnndemo.jobs.worker`), notices jobs that died, starts queued jobs when a slot of the
  shared cap (`cnndemo.jobs.slots`) is free, and removes jobs nobody has looked at for a
  long time. It holds the lock only to apply what it read, never while it reads or starts.
- After each change the pump makes one frozen snapshot of the job (`Job`, `RunProgress`);
  `get` and `jobs` hand out these snapshots as they are, so a poll costs a dict look-up
  however long the job has run. The per-batch curve is kept bounded (`Decimated`).
- `stop(job_id)` asks the job to stop (fit checks between batches); one that does not stop
  within `stop_grace_s` is killed.
- Where jobs run is a backend: local processes, or Ray actors when $CNNDEMO_RAY_ADDRESS is
  set (`cnndemo.jobs.ray_backend`, imported only then). Nothing here touches Streamlit.
"""
from __future__ import annotations

import atexit
import heapq
import itertools
import math
import os
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field, replace

from cnndemo.jobs import slots as job_slots
from cnndemo.jobs.local import Backend, Handle, ProcessBackend
from cnndemo.jobs.progress import MAX_BATCH_POINTS, Decimated, Job, RunProgress
from cnndemo.jobs.slots import Slot
from cnndemo.jobs.worker import (  # noqa: F401 (re-exported for pages and tests)
    CRASHED,
    DIVERGED,
    DONE,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STOPPED,
    BatchPoint,
    EpochPoint,
    JobEnd,
    JobState,
    Message,
    Run,
    RunEnd,
    RunStart,
    StopSeen,
)


# ----- the manager's own mutable records (touched only under its lock) -----
@dataclass
class _RunRec:
    view: RunProgress
    train: Decimated
    test: Decimated
    epochs: list = field(default_factory=list)
    order: itertools.count = field(default_factory=itertools.count)


@dataclass
class _JobRec:
    view: Job
    runs: list
    handle: Handle | None = None  # the backend's handle of a started job
    slot: Slot | None = None      # the cap slot it holds while it runs
    starting: bool = False


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


class JobManager:
    """`slot_dir`: the folder of the shared cap (see `slots`); by default a private one, so
    the cap is this manager's own. `backend`: where jobs run (default: local processes)."""

    def __init__(self, max_running: int | None = None, threads: int | None = None,
                 workdir: str | None = None, start_method: str | None = None,
                 stop_grace_s: float = 2.0, finish_grace_s: float = 60.0,
                 abandon_after_s: float = 1200.0, keep_finished_s: float = 3600.0, with_results: bool = True,
                 slot_dir: str | os.PathLike | None = None, backend: Backend | None = None,
                 max_points: int = MAX_BATCH_POINTS):
        self.max_running = max_running or default_max_running()
        self.threads = threads or default_threads(self.max_running)
        self.workdir = workdir or tempfile.mkdtemp(prefix="cnndemo-jobs-")
        self.stop_grace_s, self.finish_grace_s = stop_grace_s, finish_grace_s
        self.abandon_after_s = abandon_after_s
        self.keep_finished_s = keep_finished_s
        self.max_points = max_points  # live curve points kept per run (and half as many test points)
        self.backend = backend or ProcessBackend(self.threads, with_results, start_method)
        self.slots = job_slots.Slots(slot_dir or os.path.join(self.workdir, "slots"),
                                     self.max_running)
        self._recs: dict[str, _JobRec] = {}
        self._seen: dict[str, float] = {}     # owner -> last time a page looked
        self._to_kill: list = []              # handles of removed jobs, for the pump
        self._ids = itertools.count(1)
        self._lock = threading.Lock()         # guards the records; held only for bookkeeping
        self._pump_lock = threading.Lock()    # one pump round at a time
        self._thread: threading.Thread | None = None
        self._closed = False

    # ----- public API (any thread) -----
    def submit(self, runs: list[Run], owner: str, name: str = "") -> str:
        if not runs:
            raise ValueError("a job needs at least one run")
        job_id = f"job{next(self._ids)}-{os.getpid()}"
        wd = os.path.join(self.workdir, job_id)
        os.makedirs(wd, exist_ok=True)
        views = tuple(RunProgress(label=r.label, cfg=r.cfg) for r in runs)
        job = Job(id=job_id, owner=owner, name=name or runs[0].label, runs=views,
                  created=time.time(), workdir=wd, backend=self.backend.name)
        with self._lock:
            self._recs[job_id] = _JobRec(job, [_RunRec(v, Decimated(self.max_points),
                                                       Decimated(max(1, self.max_points // 2)))
                                               for v in views])
            self._seen[owner] = time.time()
            self._update_queue()
        self._ensure_pump()
        return job_id

    def get(self, job_id: str) -> Job | None:
        """The job's latest snapshot (shared and frozen: read it, don't copy it)."""
        rec = self._recs.get(job_id)
        return rec.view if rec else None

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._lock:
            return [r.view for r in self._recs.values() if owner is None or r.view.owner == owner]

    def touch(self, owner: str) -> None:
        """A page of `owner` is alive: keep its jobs."""
        self._seen[owner] = time.time()

    def stop(self, job_id: str) -> None:
        with self._lock:
            rec = self._recs.get(job_id)
            if rec is None or rec.view.done:
                return
            if rec.view.state == QUEUED and not rec.starting:
                self._finish(rec, STOPPED)
                return
            self._set(rec, stop_requested=rec.view.stop_requested or time.time())
            handle = rec.handle
        if handle is not None:
            handle.request_stop()  # a started job learns at once; a starting one when it starts

    def remove(self, job_id: str) -> None:
        with self._lock:
            rec = self._recs.pop(job_id, None)
            if rec is None:
                return
            self._to_kill.append(rec)
            self._update_queue()

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for r in self._recs.values() if r.view.state == RUNNING)

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
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            recs, self._recs = list(self._recs.values()), {}
            recs += self._to_kill
        for rec in recs:
            self._dispose(rec)
        self.backend.close()
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
            except Exception:  # the pump must survive anything a job sends
                traceback.print_exc()
            time.sleep(0.05)

    def pump(self) -> None:
        """One round: read messages, notice dead jobs, start queued ones, sweep."""
        with self._pump_lock:
            with self._lock:
                started = [r for r in self._recs.values() if r.handle is not None]
                gone, self._to_kill = self._to_kill, []
            for rec in gone:
                self._dispose(rec)
            news = [(rec, *self._read(rec)) for rec in started]  # pipe/Ray I/O, unlocked
            with self._lock:
                for rec, msgs, death, reaped in news:
                    if reaped:
                        rec.handle = None
                    for msg in msgs:
                        self._handle(rec, msg)
                    if death is not None and not rec.view.done:
                        self._set(rec, error=death)
                        self._finish(rec, STOPPED if rec.view.stop_requested else CRASHED)
                    if rec.view.done and rec.slot is not None:
                        rec.slot.release()
                        rec.slot = None
                for rec in list(self._recs.values()):  # stopped while a start was tried
                    if rec.view.state == QUEUED and rec.view.stop_requested and not rec.starting:
                        self._finish(rec, STOPPED)
                expired = self._expired()
                queued = sorted((r for r in self._recs.values()
                                 if r.view.state == QUEUED and not r.starting),
                                key=lambda r: r.view.created)
                for rec in queued:
                    rec.starting = True
            for rec in expired:  # files gone before the job is: get() None means cleaned up
                self._dispose(rec)
            if expired:
                with self._lock:
                    for rec in expired:
                        self._recs.pop(rec.view.id, None)
                    self._update_queue()
            for rec in news:
                self._stop_overdue(rec[0])
            self._start(queued)

    def _read(self, rec: _JobRec) -> tuple[list, str | None, bool]:
        """Messages waiting from a started job, why it died if it did, and whether a
        finished job's process is gone for good."""
        if rec.view.done:
            return [], None, rec.handle.reap()
        return (*rec.handle.poll(), False)

    def _stop_overdue(self, rec: _JobRec) -> None:
        """Kill a job that does not answer a stop within `stop_grace_s`, or that answered but
        has not finished its last test pass and results within `finish_grace_s`."""
        v, now = rec.view, time.time()
        if not v.stop_requested or rec.handle is None or v.done:
            return
        if (now - v.stop_requested > self.stop_grace_s if v.stop_seen is None
                else now - v.stop_seen > self.finish_grace_s):
            rec.handle.kill()

    def _start(self, queued: list) -> None:
        """Start queued jobs while slots are free; the slow part runs without the lock."""
        for n, rec in enumerate(queued):
            slot = None if rec.view.stop_requested else self.slots.try_acquire()
            if slot is None:
                with self._lock:
                    for r in queued[n:]:
                        r.starting = False
                    if rec.view.stop_requested and not rec.view.done:
                        self._finish(rec, STOPPED)
                return
            runs = [Run(r.label, r.cfg) for r in rec.view.runs]
            try:
                handle, err = self.backend.start(rec.view.id, runs, rec.view.workdir), None
            except Exception as e:  # e.g. out of processes: report, keep serving
                handle, err = None, f"could not start the training job: {e}"
            with self._lock:
                rec.starting = False
                removed = self._recs.get(rec.view.id) is not rec
                if handle is None or removed:
                    slot.release()
                    if err:
                        self._set(rec, error=err)
                        self._finish(rec, CRASHED)
                    if handle is not None:
                        self._to_kill.append(rec)
                    rec.handle = handle
                    continue
                rec.handle, rec.slot = handle, slot
                run0 = replace(rec.view.runs[0], state=RUNNING)
                self._set(rec, pid=handle.pid, state=RUNNING, started=time.time(),
                          runs=(run0, *rec.view.runs[1:]))
                self._update_queue()
                stop_now = rec.view.stop_requested is not None
            if stop_now:
                handle.request_stop()

    def _dispose(self, rec: _JobRec) -> None:
        """Kill a removed job's process and delete its files (no lock: may wait)."""
        if rec.handle is not None:
            rec.handle.kill()
            rec.handle.close()
        if rec.slot is not None:
            rec.slot.release()
            rec.slot = None
        shutil.rmtree(rec.view.workdir, ignore_errors=True)

    # ----- bookkeeping (called with the lock held; cheap) -----
    def _set(self, rec: _JobRec, **changes) -> None:
        rec.view = replace(rec.view, **changes)

    def _set_run(self, rec: _JobRec, i: int, **changes) -> None:
        rr = rec.runs[i]
        rr.view = replace(rr.view, **changes)
        runs = list(rec.view.runs)
        runs[i] = rr.view
        rec.view = replace(rec.view, runs=tuple(runs))

    def _update_queue(self) -> None:
        queued = sorted((r for r in self._recs.values() if r.view.state == QUEUED),
                        key=lambda r: r.view.created)
        pos = {r.view.id: i for i, r in enumerate(queued, start=1)}
        for r in self._recs.values():
            if r.view.queue_position != pos.get(r.view.id):
                self._set(r, queue_position=pos.get(r.view.id))

    def _expired(self) -> list:
        """Jobs whose owner has not looked for too long (abandoned, or finished long ago)."""
        now = time.time()
        return [rec for rec in self._recs.values()
                if now - self._seen.get(rec.view.owner, rec.view.created)
                > (self.keep_finished_s if rec.view.done else self.abandon_after_s)]

    def _finish(self, rec: _JobRec, state: JobState) -> None:
        runs = tuple(r if r.state.finished else
                     replace(r, state=state if r.state == RUNNING else STOPPED)
                     for r in rec.view.runs)
        for rr, v in zip(rec.runs, runs):
            rr.view = v
        self._set(rec, state=state, finished=time.time(), runs=runs)
        self._update_queue()

    def _handle(self, rec: _JobRec, msg: Message) -> None:
        if isinstance(msg, JobEnd):
            state = STOPPED if rec.view.stop_requested and msg.state == DONE else msg.state
            if msg.error:
                self._set(rec, error=msg.error)
            self._finish(rec, state)
            return
        if not 0 <= msg.run < len(rec.runs):
            return
        rr, i = rec.runs[msg.run], msg.run
        if isinstance(msg, StopSeen):
            self._set(rec, stop_seen=rec.view.stop_seen or time.time())
        elif isinstance(msg, RunStart):
            self._set(rec, current=i, pid=msg.pid)
            self._set_run(rec, i, state=RUNNING, device=msg.device)
        elif isinstance(msg, BatchPoint):
            series = rr.test if "test_acc" in msg.info else rr.train
            series.add(next(rr.order), msg.info)
            points = heapq.merge(rr.train.items(), rr.test.items(), key=lambda p: p[0])
            self._set_run(rec, i, batches=tuple(p for _, p in points), n_points=rr.view.n_points + 1,
                          fraction=rr.view.fraction if msg.fraction is None else msg.fraction)
        elif isinstance(msg, EpochPoint):
            rr.epochs.append(msg.info)
            self._set_run(rec, i, epochs=tuple(rr.epochs),
                          fraction=rr.view.fraction if msg.fraction is None else msg.fraction)
        elif isinstance(msg, RunEnd):
            path = msg.state_path
            if msg.weights is not None:  # a remote job sent its weights: keep them here
                path = os.path.join(rec.view.workdir, f"run{i}.pt")
                with open(path, "wb") as f:
                    f.write(msg.weights)
            hist = msg.history or {}
            self._set_run(rec, i, history=msg.history, results=msg.results, state_path=path,
                          samples_per_s=hist.get("samples_per_s"),
                          device=hist.get("device") or rr.view.device, error=msg.error,
                          diverged_at=msg.diverged_at, state=msg.state,
                          fraction=1.0 if msg.state == DONE else rr.view.fraction)


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The server's job manager: one per process, its cap shared by every process on the
    machine (`slots.shared_dir()`), its jobs on Ray when $CNNDEMO_RAY_ADDRESS is set."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            backend = None
            if os.environ.get("CNNDEMO_RAY_ADDRESS"):
                from cnndemo.jobs import ray_backend  # only then: Ray is optional
                backend = ray_backend.RayBackend(os.environ["CNNDEMO_RAY_ADDRESS"])
            _MANAGER = JobManager(slot_dir=job_slots.shared_dir(), backend=backend)
            atexit.register(_MANAGER.shutdown)  # no orphan workers or temp files at exit
        return _MANAGER


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
