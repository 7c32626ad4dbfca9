"""The job cap is shared by server processes: two managers in two processes, one slot dir."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cnndemo.jobs import manager as jobs
from cnndemo.jobs.slots import Slots
from tests.unit.jobs.test_jobs import tiny

ROOT = Path(__file__).resolve().parents[3]

# another server process: its own manager on the same slot dir, holding the only slot with a
# long job until it is killed
OTHER = """
import json, sys
from cnndemo.jobs import manager as jobs
from tests.unit.jobs.test_jobs import long_run
m = jobs.JobManager(max_running=1, threads=1, workdir=sys.argv[2], slot_dir=sys.argv[1])
job_id = m.submit([jobs.Run("long", long_run())], owner="other")
job = m.wait(job_id, 120, until=lambda j: j.runs[0].n_points > 0)
print(json.dumps({"state": str(job.state), "pid": job.pid}), flush=True)
sys.stdin.read()
"""


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] == "Z"  # a zombie has ended
    except FileNotFoundError:
        return True


def test_a_slot_is_released_when_its_holder_closes_it(tmp_path):
    a, b = Slots(tmp_path, 2), Slots(tmp_path, 2)
    s1, s2 = a.try_acquire(), b.try_acquire()
    assert {s1.index, s2.index} == {0, 1}
    assert a.try_acquire() is None and b.in_use() == 2
    s1.release()
    assert b.in_use() == 1 and b.try_acquire().index == s1.index


def test_two_server_processes_share_one_cap_and_a_dead_one_frees_its_slot(tmp_path):
    slot_dir = tmp_path / "slots"
    other = subprocess.Popen([sys.executable, "-c", OTHER, str(slot_dir), str(tmp_path / "other")],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    m = jobs.JobManager(max_running=1, threads=1, workdir=str(tmp_path / "me"), slot_dir=slot_dir)
    try:
        line = other.stdout.readline()
        assert line, "the other server process did not start its job"
        theirs = json.loads(line)
        assert theirs["state"] == "running"
        mine = m.submit([jobs.Run("tiny", tiny(epochs=1))], owner="me")
        # the other process holds the machine's only slot: this job waits in the queue
        job = m.wait(mine, 3.0, until=lambda j: j.state != jobs.QUEUED)
        assert job.state == jobs.QUEUED and job.queue_position == 1
        assert m.slots.in_use() == 1 and m.running_count() == 0
        other.kill()  # the other server dies without cleaning up: the kernel frees its slot
        other.wait(timeout=10)
        job = m.wait(mine, 90)
        assert job.state == jobs.DONE, job.error
        # and its orphaned training process notices that nobody reads it, and ends
        t0 = time.time()
        while not gone(theirs["pid"]) and time.time() - t0 < 30:
            time.sleep(0.1)
        assert gone(theirs["pid"])
    finally:
        other.kill()
        other.wait(timeout=10)
        m.shutdown()
