"""Bench for classroom mode: how long a following student waits for the teacher's next step.

- follow_latency_ms_p95 (and _p50, _max): from the teacher's click on Next to a student's
  page showing the new step, over every student and every move, with
  CNNDEMO_BENCH_STUDENTS (default 30) students connected in real Chromium pages on one
  `streamlit run app.py` server. Target: 2,000 ms or less.
Needs Debian's chromium and playwright (requirements-test.txt).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOVES = 5  # steps 1 -> 6: convolution and pooling, the lesson's opening


def _server(env) -> tuple[subprocess.Popen, str]:
    from tests.conftest import _free_port

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy")


def run() -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import test_classroom as T
    from tests.conftest import CHROMIUM_ARGS

    n = int(os.environ.get("CNNDEMO_BENCH_STUDENTS", "30"))
    env = dict(os.environ, CNNDEMO_TEACHER_KEY=T.KEY, CNNDEMO_OFFLINE="1",
               CNNDEMO_RUNS_DIR=tempfile.mkdtemp(prefix="cnndemo-bench-class-"))
    proc, url = _server(env)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=CHROMIUM_ARGS)
            teacher, code = T.start_lesson(browser, url)
            students = [T.join(browser, url, code, f"Bench {i + 1}",
                               viewport={"width": 800, "height": 600}) for i in range(n)]
            ms = []
            for step in range(2, 2 + MOVES):
                ms += T.advance(teacher, students, step)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ms.sort()
    return {"follow_latency_ms_p50": round(ms[len(ms) // 2]),
            "follow_latency_ms_p95": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))]),
            "follow_latency_ms_max": round(ms[-1]), "follow_sessions": n,
            "follow_moves": MOVES}
