"""Bench for classroom mode: how long a following student waits for the teacher's next step.

- follow_latency_ms_p95 (and _p50, _max): from the teacher's click on Next to a student's
  page showing the new step, over every student and every move, with
  CNNDEMO_BENCH_STUDENTS (default 30) students following one `streamlit run app.py` server
  (CNNDEMO_BENCH_WORKERS=N: `run.sh --workers N`'s workers behind HAProxy instead).
  Target: 2,000 ms or less.
- follow_browser_ms_p95: the same for the students that are real Chromium tabs.

The teacher and CNNDEMO_BENCH_BROWSERS (default 2) students are real Chromium tabs; the other
students are `bench.wsclient` sessions: the browser's own websocket protocol, polling the
follow fragment every second as the frontend does, without drawing the page (30 Chromium tabs
on two cores measure Chromium, not the app). Needs Debian's chromium and playwright.
"""
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import wsclient

ROOT = Path(__file__).resolve().parents[1]
MOVES = 5  # steps 1 -> 6: convolution and pooling, the lesson's opening


def _server(env) -> tuple[subprocess.Popen, str]:
    from tests.conftest import _free_port

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    workers = int(env.get("CNNDEMO_BENCH_WORKERS", "1"))
    if workers > 1:  # run.sh --workers N: N servers behind HAProxy sharing the class store
        cmd = [sys.executable, "scripts/serve.py", "--workers", str(workers), "--port", str(port),
               "--address", "127.0.0.1"]
    else:
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            env=env)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy")


class _Tabs:
    """Protocol students (bench.wsclient) on one event loop in a thread of their own."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def call(self, coro, timeout: float = 180):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _join(url: str, code: str, name: str) -> wsclient.Session:
    """What a student does in a browser: open the class page, type the code and a name, join."""
    s = wsclient.Session(url, "class")
    await s.open()
    await s.rerun([s.text(s.widget_id("classroom_code_in_page"), code),
                   s.text(s.widget_id("classroom_name_in_page"), name),
                   s.trigger(s.submit_button("classroom_join_page"))])
    deadline = time.time() + 120
    while s.seen("Step 1 of") is None:
        if time.time() > deadline:
            raise RuntimeError(f"{name} did not reach step 1: {s.errors[:2]}")
        await asyncio.sleep(0.1)
    return s


def _arrivals(tabs: list, needle: str, t0: float, timeout: float = 120) -> list[float]:
    deadline = time.time() + timeout
    while True:
        seen = [s.seen(needle, t0) for s in tabs]
        if all(t is not None for t in seen) or time.time() > deadline:
            break
        time.sleep(0.05)
    missing = sum(t is None for t in seen)
    if missing:
        raise RuntimeError(f"{missing} of {len(tabs)} students never showed {needle!r}")
    return [(t - t0) * 1000 for t in seen]


def _pct(xs: list[float], q: float) -> int:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))])


def run() -> dict:
    # the server gets this process's environment as it was before the test helpers below are
    # imported: tests/conftest.py points CNNDEMO_DATA_DIR at an empty folder of its own
    outer = dict(os.environ)
    from playwright.sync_api import sync_playwright

    from tests.browser import test_classroom as T
    from tests.conftest import CHROMIUM_ARGS

    n = int(os.environ.get("CNNDEMO_BENCH_STUDENTS", "30"))
    n_browsers = min(n, int(os.environ.get("CNNDEMO_BENCH_BROWSERS", "2")))
    env = dict(outer, CNNDEMO_TEACHER_KEY=T.KEY, CNNDEMO_OFFLINE="1",
               CNNDEMO_RUNS_DIR=tempfile.mkdtemp(prefix="cnndemo-bench-class-"))
    proc, url = _server(env)
    tabs = _Tabs()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=CHROMIUM_ARGS)
            teacher, code = T.start_lesson(browser, url)
            browsers = [T.join(browser, url, code, f"Bench {i + 1}",
                               viewport={"width": 800, "height": 600}) for i in range(n_browsers)]
            ws = [tabs.call(_join(url, code, f"Bench {i + 1}"))
                  for i in range(n_browsers, n)]
            ms_browser, ms_ws = [], []
            for step in range(2, 2 + MOVES):
                t0 = time.time()
                ms_browser += T.advance(teacher, browsers, step)
                ms_ws += _arrivals(ws, f"Step {step} of", t0)
            errors = [e for s in ws for e in s.errors]
            for s in ws:
                tabs.call(s.close())
            browser.close()
    finally:
        tabs.stop()
        proc.terminate()
        proc.wait(timeout=30)
    ms = ms_browser + ms_ws
    return {"follow_latency_ms_p50": _pct(ms, 0.5), "follow_latency_ms_p95": _pct(ms, 0.95),
            "follow_latency_ms_max": round(max(ms)), "follow_sessions": n,
            "follow_workers": int(env.get("CNNDEMO_BENCH_WORKERS", "1")),
            "follow_browser_ms_p95": _pct(ms_browser, 0.95) if ms_browser else None,
            "follow_moves": MOVES, "follow_errors": len(errors),
            **({"follow_error_samples": errors[:3]} if errors else {})}
