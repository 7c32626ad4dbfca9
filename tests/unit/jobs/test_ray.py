"""Jobs on a real local Ray instance (127.0.0.1, one CPU, no GPU), through the same manager."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnndemo.core import arch
from cnndemo.jobs import manager as jobs
from tests.unit.jobs.ray_cluster import local_ray
from tests.unit.jobs.test_jobs import TINY, long_run, tiny

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cluster():
    with local_ray() as found:
        yield found


@pytest.fixture
def mgr(cluster, tmp_path):
    address, backend = cluster
    m = jobs.JobManager(max_running=1, threads=1, workdir=str(tmp_path), backend=backend(address))
    yield m
    m.shutdown()


def test_a_job_trains_on_ray_with_results_and_weights(mgr):
    job_id = mgr.submit([jobs.Run("tiny", tiny())], owner="alice")
    job = mgr.wait(job_id, timeout=120)
    assert job.state == jobs.DONE, job.error
    assert job.backend == "ray" and job.pid != os.getpid()
    run = job.runs[0]
    # a cluster without a GPU still runs the job, on CPU, and says so
    assert run.device == "cpu" and run.history["device"] == "cpu"
    assert [e["epoch"] for e in run.epochs] == [1, 2]
    assert run.results["n"] == 200
    assert run.results["acc"] == pytest.approx(run.history["test_acc"][-1])
    # the weights came back from the actor and were saved by the server
    model = arch.build(arch.spec_from_dicts(TINY))
    model.load_state_dict(torch.load(run.state_path, weights_only=True))
    assert model[0].weight.shape == (4, 1, 3, 3)


def test_queue_live_progress_stop_and_a_killed_actor(mgr):
    first = mgr.submit([jobs.Run("long", long_run())], owner="bob")
    second = mgr.submit([jobs.Run("long", long_run())], owner="bob")
    live = mgr.wait(first, 120, until=lambda j: j.runs[0].n_points > 3)
    assert live.state == jobs.RUNNING and live.runs[0].batches[-1]["batch"] >= 1
    waiting = mgr.get(second)
    assert waiting.state == jobs.QUEUED and waiting.queue_position == 1
    mgr.stop(first)
    stopped = mgr.wait(first, 10)
    assert stopped.state == jobs.STOPPED and stopped.runs[0].history["stopped"] is True
    assert stopped.stop_seen >= stopped.stop_requested
    assert stopped.runs[0].state_path  # the weights so far can still be saved
    victim = mgr.wait(second, 120, until=lambda j: j.runs[0].n_points > 0)
    assert victim.state == jobs.RUNNING
    os.kill(victim.pid, signal.SIGKILL)  # the actor's process dies, as with a lost node
    dead = mgr.wait(second, 60)
    assert dead.state == jobs.CRASHED and "Ray worker" in dead.error
    # the server keeps serving: a next job gets the freed CPU and finishes
    again = mgr.submit([jobs.Run("tiny", tiny(epochs=1))], owner="bob")
    assert mgr.wait(again, 120).state == jobs.DONE


def test_each_job_asks_for_cpus_and_a_share_of_a_gpu(cluster, monkeypatch):
    address, backend = cluster
    monkeypatch.delenv("CNNDEMO_RAY_GPUS", raising=False)
    monkeypatch.delenv("CNNDEMO_RAY_CPUS", raising=False)
    assert backend(address, threads=1).resources() == (1.0, 0.0)  # no GPU in this cluster
    monkeypatch.setenv("CNNDEMO_RAY_GPUS", "0.5")
    monkeypatch.setenv("CNNDEMO_RAY_CPUS", "2")
    assert backend(address).resources() == (2.0, 0.5)


def test_ray_is_imported_only_when_an_address_is_set():
    code = ("import sys; from cnndemo.jobs import manager as jobs; m = jobs.manager(); "
            "print(m.backend.name, 'ray' in sys.modules); m.shutdown()")
    env = {k: v for k, v in os.environ.items() if k != "CNNDEMO_RAY_ADDRESS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["local", "False"], out.stderr
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "CNNDEMO_RAY_ADDRESS": "127.0.0.1:1"}, timeout=120)
    assert out.stdout.split() == ["ray", "True"], out.stderr  # it connects when a job starts
