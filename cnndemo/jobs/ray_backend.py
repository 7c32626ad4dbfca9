"""The Ray backend: each job is a Ray actor on the cluster at $CNNDEMO_RAY_ADDRESS
(`host:port` of a running cluster, or `local` to start one inside the server).

Imported only when that variable is set, so Ray stays optional (`requirements-ray.txt`).
The actor runs the same `worker.run_job` as a local job process, in one of its threads,
and keeps the messages until the manager's pump fetches them (`poll`, at most every
`POLL_S`); `stop` sets the Event that `fit` checks between batches. Each job asks Ray for
`CNNDEMO_RAY_CPUS` CPUs (default: the manager's threads per job) and `CNNDEMO_RAY_GPUS` GPUs
(default: a quarter of one when the cluster has GPUs, so four jobs share it; none
otherwise, and the job trains on CPU). The weights come back in the `RunEnd` message, since
the server cannot read a remote node's disk. An actor that dies (its node lost, its process
killed) makes `ray.get` raise: the job is reported as crashed and the server carries on.
"""
from __future__ import annotations

import os
import threading
import time

import ray
from ray.exceptions import RayError

from cnndemo.jobs import worker as job_worker

POLL_S = 0.1


@ray.remote(max_concurrency=3, max_restarts=0)  # run() in one thread, poll() and stop() in others
class JobActor:
    def __init__(self):
        self._msgs: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _send(self, msg) -> None:
        with self._lock:
            self._msgs.append(msg)

    def run(self, runs: list, threads: int, with_results: bool) -> None:
        job_worker.run_job(runs, self._send, self._stop, threads, None, with_results)

    def poll(self) -> list:
        with self._lock:
            msgs, self._msgs = self._msgs, []
        return msgs

    def stop(self) -> None:
        self._stop.set()


def _died(e: Exception) -> str:
    return f"the Ray worker running this job died ({type(e).__name__})"


class RayHandle:
    pid = None  # the actor's process id arrives in its RunStart message

    def __init__(self, actor, run_ref):
        self.actor, self._run_ref = actor, run_ref
        self._poll_ref, self._last_poll = None, 0.0

    def poll(self) -> tuple[list, str | None]:
        msgs = []
        if self._poll_ref is None and time.monotonic() - self._last_poll >= POLL_S:
            self._poll_ref, self._last_poll = self.actor.poll.remote(), time.monotonic()
        if self._poll_ref is not None and ray.wait([self._poll_ref], timeout=0)[0]:
            msgs += self._fetch(self._poll_ref)
            self._poll_ref = None
        if not ray.wait([self._run_ref], timeout=0)[0]:
            return msgs, None
        try:
            ray.get(self._run_ref)
        except RayError as e:
            return msgs, _died(e)
        if self._poll_ref is not None:  # what it sent last, JobEnd among it
            msgs += self._fetch(self._poll_ref)
            self._poll_ref = None
        msgs += self._fetch(self.actor.poll.remote())
        return msgs, "the Ray job ended without a final report"

    def _fetch(self, ref) -> list:
        try:
            return ray.get(ref, timeout=30)
        except RayError:
            return []  # the actor died: `run` says so

    def request_stop(self) -> None:
        self.actor.stop.remote()

    def reap(self) -> bool:
        self.kill()  # the actor's job is over: give its CPUs and GPU back to the cluster
        return True

    def kill(self) -> None:
        ray.kill(self.actor, no_restart=True)

    def close(self) -> None:
        pass


class RayBackend:
    name = "ray"

    def __init__(self, address: str, threads: int = 1, with_results: bool = True,
                 num_cpus: float | None = None, num_gpus: float | None = None):
        self.address, self.threads, self.with_results = address, threads, with_results
        self.num_cpus = num_cpus if num_cpus is not None else _env_float("CNNDEMO_RAY_CPUS")
        self.num_gpus = num_gpus if num_gpus is not None else _env_float("CNNDEMO_RAY_GPUS")
        self._connected_here = False
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Join the cluster (once); a cluster that cannot be reached fails the job that asked."""
        with self._lock:
            if ray.is_initialized():
                return
            env = {k: v for k, v in os.environ.items() if k.startswith("CNNDEMO_")}
            extra = {"include_dashboard": False} if self.address == "local" else {}
            ray.init(address=self.address, log_to_driver=False, namespace="cnndemo",
                     runtime_env={"env_vars": env}, **extra)
            self._connected_here = True

    def resources(self) -> tuple[float, float]:
        """(CPUs, GPUs) one job asks for."""
        cpus = self.num_cpus if self.num_cpus is not None else float(self.threads)
        gpus = self.num_gpus
        if gpus is None:
            gpus = 0.25 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        return cpus, gpus

    def start(self, job_id: str, runs: list, workdir: str) -> RayHandle:
        self.connect()
        cpus, gpus = self.resources()
        actor = JobActor.options(num_cpus=cpus, num_gpus=gpus, name=None).remote()
        threads = max(1, int(cpus))
        return RayHandle(actor, actor.run.remote(runs, threads, self.with_results))

    def close(self) -> None:
        if self._connected_here and ray.is_initialized():
            ray.shutdown()


def _env_float(name: str) -> float | None:
    v = os.environ.get(name, "").strip()
    return float(v) if v else None
