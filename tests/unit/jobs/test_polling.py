"""Many sessions polling one manager at once: consistent frozen snapshots, a bounded live
curve, and a job whose process dies while others run and pollers poll."""
import dataclasses
import os
import signal
import threading
import time

import pytest

from cnndemo.jobs import manager as jobs
from cnndemo.jobs.progress import Decimated
from tests.unit.jobs.test_jobs import long_run, tiny

RANK = {jobs.QUEUED: 0, jobs.RUNNING: 1}


def check(view: jobs.Job, before: jobs.Job | None, cap: int) -> list[str]:
    """What would be inconsistent in one snapshot, or between it and the previous one."""
    bad, run = [], view.runs[0]
    if len(run.batches) > cap + cap // 2 + 1:
        bad.append(f"{len(run.batches)} live points kept, cap {cap}")
    seen = [b["seen"] for b in run.batches]
    if seen != sorted(set(seen)):
        bad.append("live points out of order")
    if [e["epoch"] for e in run.epochs] != list(range(1, len(run.epochs) + 1)):
        bad.append("epochs not numbered 1..n")
    if not 0.0 <= view.fraction <= 1.0:
        bad.append(f"fraction {view.fraction}")
    if before is not None:
        if RANK.get(view.state, 2) < RANK.get(before.state, 2):
            bad.append(f"state went back: {before.state} -> {view.state}")
        if before.done and view is not before:
            bad.append("a finished job's snapshot changed")
        if len(run.epochs) < len(before.runs[0].epochs) or run.n_points < before.runs[0].n_points:
            bad.append("history shrank")
        if view.fraction < before.fraction - 1e-9:
            bad.append("fraction went back")
    return bad


def test_eight_pollers_see_what_a_serial_poll_sees_while_a_job_dies(tmp_path):
    cap = 6
    m = jobs.JobManager(max_running=2, threads=1, workdir=str(tmp_path), max_points=cap)
    try:
        ok_id = m.submit([jobs.Run("tiny", tiny(epochs=3))], owner="a")
        doomed = m.submit([jobs.Run("long", long_run())], owner="b")
        problems, finals = [], [None] * 8

        def poll(k):
            last = {}
            while True:
                views = {i: m.get(i) for i in (ok_id, doomed)}
                for i, v in views.items():
                    problems.extend(check(v, last.get(i), cap))
                last = views
                if all(v.done for v in views.values()):
                    finals[k] = views
                    return
                time.sleep(0.002)  # a busy class, but leave the 2 cores to the jobs

        pollers = [threading.Thread(target=poll, args=(k,)) for k in range(8)]
        for t in pollers:
            t.start()
        victim = m.wait(doomed, 60, until=lambda j: j.runs[0].n_points > 2 * cap)
        assert victim.state == jobs.RUNNING
        os.kill(victim.pid, signal.SIGKILL)
        for t in pollers:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in pollers)
        assert problems == []
        serial = {i: m.get(i) for i in (ok_id, doomed)}
        assert serial[ok_id].state == jobs.DONE, serial[ok_id].error
        assert serial[doomed].state == jobs.CRASHED
        assert "ended unexpectedly" in serial[doomed].error
        # every poller ended on the very snapshot a serial poll returns: nothing copied per poll
        assert all(f[i] is serial[i] for f in finals for i in serial)
        assert len(serial[ok_id].runs[0].epochs) == 3
        # the crashed job kept its bounded live curve up to the kill
        run = serial[doomed].runs[0]
        assert run.n_points > 2 * cap and 0 < len(run.batches) <= cap + cap // 2 + 1
        # and the manager keeps serving: the next job runs to the end
        again = m.submit([jobs.Run("again", tiny(epochs=1))], owner="a")
        assert m.wait(again, 60).state == jobs.DONE
    finally:
        m.shutdown()


def test_snapshots_are_frozen():
    view = jobs.Job(id="j", owner="o", name="n", runs=(jobs.RunProgress("r", cfg=None),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.state = jobs.DONE
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.runs[0].batches = ()
    assert isinstance(view.runs, tuple) and isinstance(view.runs[0].batches, tuple)


def test_the_live_curve_stays_bounded_and_spans_the_whole_run():
    series = Decimated(cap=50)
    for n in range(100_000):
        series.add(n, {"seen": n})
    kept = [p["seen"] for _, p in series.items()]
    assert len(kept) <= 51
    assert kept == sorted(set(kept)) and kept[0] == 0 and kept[-1] == 99_999  # start and newest
    gaps = {b - a for a, b in zip(kept[:-2], kept[1:-1])}
    assert gaps == {series.stride}  # evenly spaced over the whole run
    assert series.stride * len(kept) > 50_000


def test_job_states_are_an_enum_and_messages_are_dataclasses():
    assert isinstance(jobs.DONE, jobs.JobState) and jobs.DONE == "done"
    assert {jobs.DONE, jobs.STOPPED, jobs.FAILED, jobs.DIVERGED, jobs.CRASHED} == jobs.FINISHED
    assert not jobs.RUNNING.finished and jobs.CRASHED.finished
    end = jobs.RunEnd(run=0, state=jobs.DONE, history=None)
    assert dataclasses.is_dataclass(end) and end.weights is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        end.state = jobs.FAILED
