"""Where jobs run. A `Backend` starts a job and returns a `Handle`; only the manager's pump
thread calls a handle, except `request_stop`, which any thread may call. This module holds
the local backend: each job in its own process on this machine, messages through a pipe
(`ray_backend` holds the other).
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
from typing import Protocol

from cnndemo.jobs import worker as job_worker
from cnndemo.jobs.worker import Message, Run


class Handle(Protocol):
    pid: int | None

    def poll(self) -> tuple[list[Message], str | None]:
        """The messages waiting, and why the job died (None while it lives)."""

    def request_stop(self) -> None: ...

    def reap(self) -> bool:
        """After the job's end: True once what ran it is gone."""

    def kill(self) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    name: str

    def start(self, job_id: str, runs: list[Run], workdir: str) -> Handle: ...

    def close(self) -> None: ...


def start_method() -> str:
    env = os.environ.get("CNNDEMO_JOB_START")
    if env in ("spawn", "forkserver"):
        return env
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


class ProcessHandle:
    def __init__(self, proc, conn, stop_ev):
        self.proc, self.conn, self.stop_ev = proc, conn, stop_ev
        self.pid = proc.pid

    def poll(self) -> tuple[list, str | None]:
        """The messages waiting, and why the process died (None while it lives)."""
        msgs = self._drain()
        if self.proc.is_alive():
            return msgs, None
        self.proc.join(timeout=0.1)
        msgs += self._drain()  # what it sent just before it ended
        return msgs, f"the training process ended unexpectedly (exit code {self.proc.exitcode})"

    def _drain(self) -> list:
        msgs = []
        try:
            while self.conn.poll(0):
                msgs.append(self.conn.recv())
        except Exception:  # EOF, or half a message from a killed worker: its death says why
            pass
        return msgs

    def request_stop(self) -> None:
        self.stop_ev.set()  # fit checks it between batches

    def reap(self) -> bool:
        """After the job's end: True once its process has exited (no zombie left)."""
        self.proc.join(timeout=0)
        if self.proc.is_alive():
            return False
        self.close()
        return True

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=1.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=1.0)

    def close(self) -> None:
        self.conn.close()


class ProcessBackend:
    name = "local"

    def __init__(self, threads: int, with_results: bool = True, method: str | None = None):
        self.threads, self.with_results = threads, with_results
        self._ctx = mp.get_context(method or start_method())
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload(["torch", "cnndemo.core.train",
                                              "cnndemo.lessons.experiments"])

    def _start_forkserver(self) -> None:
        """Start the forkserver, if that is how jobs start, below the pages' priority. It
        imports torch and the trainer before it forks the first job: seconds of CPU (3.5 s on a
        slow 2-core server), which at the server's priority held up every student's page as the
        first jobs of a lesson started. Jobs forked from it inherit its niceness."""
        if self._ctx.get_start_method() != "forkserver":
            return
        from multiprocessing import forkserver

        forkserver.ensure_running()  # returns once it is spawned, while it still imports
        pid = self.forkserver_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                nice = max(job_worker.NICE, os.getpriority(os.PRIO_PROCESS, pid))
                os.setpriority(os.PRIO_PROCESS, pid, nice)

    def forkserver_pid(self) -> int | None:
        """The forkserver's process id (CPython's own attribute); None if jobs start otherwise."""
        if self._ctx.get_start_method() != "forkserver":
            return None
        from multiprocessing import forkserver

        return getattr(forkserver._forkserver, "_forkserver_pid", None)

    def start(self, job_id: str, runs: list, workdir: str) -> ProcessHandle:
        self._start_forkserver()
        recv_conn, send_conn = self._ctx.Pipe(duplex=False)
        stop_ev = self._ctx.Event()
        proc = self._ctx.Process(
            target=job_worker.main, name=f"cnndemo-{job_id}", daemon=True,
            args=(runs, send_conn, stop_ev, self.threads, workdir, self.with_results))
        try:
            proc.start()
            # at once, from here: the child unpickles its runs (importing torch, seconds of CPU)
            # before its own os.nice in main() runs, and students' pages come first
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, proc.pid, job_worker.NICE)
        finally:
            send_conn.close()
        return ProcessHandle(proc, recv_conn, stop_ev)

    def close(self) -> None:
        pass
