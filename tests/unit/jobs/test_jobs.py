"""cnndemo.jobs.manager: real training runs in real worker processes, kept tiny (2-core machine)."""
import os
import signal
import time

import pytest
import torch

from cnndemo.core import arch, train
from cnndemo.jobs import manager as jobs

TINY = [{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"},
        {"type": "Linear", "in_features": 676, "out_features": 10}]


def tiny(**kw):
    base = dict(spec=TINY, train_subset=300, test_subset=200, batch_size=50, epochs=2)
    return train.TrainConfig(**{**base, **kw})


def long_run(**kw):
    """Thousands of batches: only ends when stopped (or killed)."""
    return tiny(epochs=500, batch_size=10, test_subset=50, **kw)


@pytest.fixture(scope="module")
def mgr(tmp_path_factory):
    m = jobs.JobManager(max_running=2, threads=1, workdir=str(tmp_path_factory.mktemp("jobs")))
    yield m
    m.shutdown()


def wait_running(m, job_id, timeout=60):
    """Until the worker has reported at least one batch."""
    return m.wait(job_id, timeout, until=lambda j: j.state == jobs.RUNNING and j.runs[0].batches)


def test_tiny_run_completes_with_history_results_and_weights(mgr):
    job_id = mgr.submit([jobs.Run("tiny", tiny())], owner="alice")
    job = mgr.wait(job_id, timeout=90)
    assert job.state == jobs.DONE, job.error
    run = job.runs[0]
    assert len(run.history["train_loss"]) == 2 and len(run.history["test_acc"]) == 2
    assert [e["epoch"] for e in run.epochs] == [1, 2]
    res = run.results
    # the results are measured on the same 200 test samples as the history's last epoch
    assert res["n"] == 200 and res["acc"] == pytest.approx(run.history["test_acc"][-1])
    assert sum(map(sum, res["confusion"])) == 200
    assert job.fraction == 1.0 and job.eta_s is None
    model = arch.build(arch.spec_from_dicts(TINY))
    model.load_state_dict(torch.load(run.state_path, weights_only=True))
    assert model[0].weight.shape == (4, 1, 3, 3)


def test_stop_ends_a_long_run_and_keeps_its_history(mgr):
    job_id = mgr.submit([jobs.Run("long", long_run())], owner="bob")
    running = wait_running(mgr, job_id)
    assert running.state == jobs.RUNNING
    # the training process runs below the server's priority: students' pages come first
    with open(f"/proc/{running.pid}/stat") as f:
        nice = int(f.read().rsplit(")", 1)[1].split()[16])
    assert nice >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + 15)
    server = mgr.backend.forkserver_pid()  # and so does what imports torch to fork it
    if server is not None:
        assert os.getpriority(os.PRIO_PROCESS, server) >= 15
    mgr.stop(job_id)
    job = mgr.wait(job_id, timeout=10)
    assert job.state == jobs.STOPPED
    assert job.stop_seen >= job.stop_requested  # it answered: training halted, then finished
    assert job.runs[0].history["stopped"] is True
    assert len(job.runs[0].history["train_loss"]) < 500
    assert job.runs[0].batches  # the live curve so far is kept


def test_cap_of_two_queues_the_third_job_and_a_killed_worker_is_detected(mgr):
    ids = [mgr.submit([jobs.Run(f"long{i}", long_run())], owner="carol") for i in range(3)]
    for job_id in ids[:2]:
        assert wait_running(mgr, job_id).state == jobs.RUNNING
    third = mgr.get(ids[2])
    assert third.state == jobs.QUEUED and third.queue_position == 1
    assert mgr.running_count() == 2
    victim = mgr.get(ids[0])
    os.kill(victim.pid, signal.SIGKILL)
    dead = mgr.wait(ids[0], timeout=10)
    assert dead.state == jobs.CRASHED and "unexpectedly" in dead.error
    # the freed slot goes to the queued job: the manager keeps serving
    assert mgr.wait(ids[2], 60, until=lambda j: j.state == jobs.RUNNING).state == jobs.RUNNING
    for job_id in ids[1:]:
        mgr.stop(job_id)
    assert {mgr.wait(i, 10).state for i in ids[1:]} == {jobs.STOPPED}


def test_a_job_that_raises_is_reported(mgr):
    job_id = mgr.submit([jobs.Run("bad", tiny(lr=0.0))], owner="dave")
    job = mgr.wait(job_id, timeout=60)
    assert job.state == jobs.FAILED
    assert "learning rate" in job.error


def test_nan_loss_is_reported_as_diverged_with_where(mgr):
    job_id = mgr.submit([jobs.Run("nan", tiny(optimizer="sgd", lr=1e20))], owner="erin")
    job = mgr.wait(job_id, timeout=60)
    assert job.state == jobs.DIVERGED
    assert tuple(job.runs[0].diverged_at) == (1, 2)
    assert job.error == "diverged at epoch 1, batch 2"


def test_abandoned_jobs_are_cleaned_up(tmp_path):
    m = jobs.JobManager(max_running=1, threads=1, workdir=str(tmp_path), abandon_after_s=1.0)
    try:
        job_id = m.submit([jobs.Run("long", long_run())], owner="gone")
        job = m.get(job_id)
        while not job.runs[0].batches:  # the page is open until the run is under way
            m.touch("gone")
            time.sleep(0.1)
            job = m.get(job_id)
        pid, wd = job.pid, job.workdir
        t0 = time.time()
        while m.get(job_id) is not None and time.time() - t0 < 15:
            time.sleep(0.1)
        assert m.get(job_id) is None and not os.path.exists(wd)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        m.shutdown()


def test_defaults_follow_the_cores(monkeypatch):
    monkeypatch.delenv("CNNDEMO_MAX_JOBS", raising=False)
    assert jobs.default_max_running(2) == 2 and jobs.default_max_running(16) == 8
    assert jobs.default_threads(2, cores=2) == 1 and jobs.default_threads(2, cores=16) == 7
    monkeypatch.setenv("CNNDEMO_MAX_JOBS", "3")
    assert jobs.default_max_running(16) == 3
    assert jobs.format_duration(75.4) == "1:15" and jobs.format_duration(None) == "–"
