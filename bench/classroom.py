"""What a student waits for, measured over Streamlit's agent API on a real server.

`python -m cnndemo bench` starts `streamlit run app.py` on 127.0.0.1 with the agent API on
(every request is a real script run in the server, as a browser's would be, fragments
included) and measures:

- `<page>_rerun_ms_p50`: one student alone on a page changing one control at a time
  (a seeded random legal change, as the classroom tool makes), median ms from request to
  finished rerun, plus `<page>_page_kb`, the size of the page's element tree;
- `classroom_*`: N students open the lesson pages at once (`classroom_open_*`), then each
  makes a fixed number of changes with a short think time between them: p50/p95 ms and the
  number of errors (failed requests and exceptions shown on a page). Bounded: a student
  stops after its changes or a fixed time after its page opened, whichever comes first.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("draw", "convolution", "pooling", "shapes", "losses", "gradients", "training")
SKIP_KEYS = {"lang", "model_path", "training_start", "training_stop"}
SKIP_TYPES = {"text_area", "text_input", "file_uploader", "chat_input", "data_editor"}


class Server:
    """A client of one server's agent API (`pid`: the server process, for its CPU time)."""

    def __init__(self, url: str, pid: int | None = None):
        self.url, self.pid = url, pid

    def cpu_s(self) -> float | None:
        """CPU seconds the server process has used so far (Linux), None if unknown.
        On a shared machine a rerun's CPU time is steadier than its wall time."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, TypeError, ValueError, IndexError):
            return None

    def interact(self, body: dict, timeout: float = 120) -> tuple[dict, float, int]:
        data = json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_stcore/agent/interact", data=data,
                                     headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw), (time.perf_counter() - t0) * 1000, len(raw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(timeout: float = 120):
    """`streamlit run app.py` with the agent API on a free local port; stopped on exit."""
    tmp = tempfile.mkdtemp(prefix="cnndemo-bench-")
    port = _free_port()
    env = dict(os.environ, CNNDEMO_USER_CHECKPOINTS=os.path.join(tmp, "ckpts"))
    env.setdefault("CNNDEMO_OFFLINE", "1")
    with open(os.path.join(tmp, "server.log"), "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.enableAgentApi", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", proc.pid)
        try:
            deadline = time.time() + timeout
            while time.time() < deadline:
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(server.url + "/_stcore/health", timeout=2).read() == b"ok":
                        break
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited; see {log.name}")
                time.sleep(0.3)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _walk(tree):
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            yield n
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)


def exceptions(tree) -> list[str]:
    return [str(n.get("props", {}).get("message", ""))[:120]
            for n in _walk(tree) if n.get("type") == "exception"]


def random_action(snap: dict, rng: random.Random) -> dict | None:
    """A legal change of one control on the page, as an interact body (no session id)."""
    nodes = {n["key"]: n for n in _walk(snap.get("tree")) if n.get("key")}
    choices = [a for a in snap.get("actions", [])
               if a["key"] not in SKIP_KEYS and a["type"] not in SKIP_TYPES]
    rng.shuffle(choices)
    for a in choices:
        if a["kind"] == "trigger":
            return {"trigger": {"key": a["key"]}}
        node = nodes.get(a["key"], {})
        props = node.get("props", {})
        options = props.get("options") or props.get("tabs")
        if options and a["type"] in ("multiselect", "pills", "segmented_control") and \
                isinstance(node.get("value"), list):  # a multiple choice: a list of options
            return {"widget_state": {a["key"]: rng.sample(options, rng.randint(1, min(3, len(options))))}}
        if options:
            return {"widget_state": {a["key"]: rng.choice(options)}}
        if a["type"] in ("checkbox", "toggle"):
            return {"widget_state": {a["key"]: not nodes.get(a["key"], {}).get("value", False)}}
        lo, hi = props.get("min_value"), props.get("max_value")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
            step = props.get("step") or 1
            n = int(min((hi - lo) / step, 20))
            v = lo + step * rng.randint(0, max(n, 0))
            whole = isinstance(lo, int) and isinstance(step, int)
            return {"widget_state": {a["key"]: int(v) if whole else float(v)}}
        if a["type"] == "number_input" and isinstance(node.get("value"), (int, float)):
            step = props.get("step") or 1
            return {"widget_state": {a["key"]: node["value"] + step * rng.choice((-1, 1))}}
    return None


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def student(server: Server, page: str, actions: int, think: float, seed: int,
            seconds: float, times: list, errors: list, sizes: list | None = None,
            cpu: list | None = None, opens: list | None = None) -> None:
    """One student: open `page`, then make `actions` changes, for at most `seconds`
    after the page opened."""
    rng = random.Random(seed)
    try:
        snap, ms, size = server.interact({"page": page})
    except (OSError, urllib.error.URLError) as e:
        errors.append(f"{page} open: {e}")
        return
    if opens is not None:
        opens.append(ms)
    stop_at = time.time() + seconds
    sid = snap["session_id"]
    for _ in range(actions):
        if time.time() >= stop_at:
            return
        if think:
            time.sleep(min(rng.expovariate(1 / think), 3 * think))
        body = random_action(snap, rng)
        if body is None:
            return
        c0 = server.cpu_s() if cpu is not None else None
        try:
            snap, ms, size = server.interact({"session_id": sid, **body})
        except urllib.error.HTTPError as e:
            errors.append(f"{page} {json.dumps(body)[:80]}: HTTP {e.code}")
            try:  # pick up the page as it is now and go on
                snap, _, _ = server.interact({"session_id": sid})
            except OSError:
                return
            continue
        except OSError as e:
            errors.append(f"{page} {json.dumps(body)[:80]}: {e}")
            continue
        times.append(ms)
        if sizes is not None:
            sizes.append(size)
        if c0 is not None and (c1 := server.cpu_s()) is not None:
            cpu.append((c1 - c0) * 1000)
        errors.extend(f"{page}: {m}" for m in exceptions(snap.get("tree")))


def page_costs(server: Server, pages=PAGES, actions: int = 12, seed: int = 1):
    """Yield one dict per page: a lone student's median rerun (wall and server CPU ms)
    and page size."""
    for page in pages:
        times, errors, sizes, cpu = [], [], [], []
        student(server, page, actions, 0.0, seed, 120, times, errors, sizes, cpu)
        yield {f"{page}_rerun_ms_p50": pct(times, 0.5),
               f"{page}_rerun_cpu_ms_p50": pct(cpu, 0.5),
               f"{page}_page_kb": round(pct(sizes, 0.5) / 1024, 1) if sizes else None,
               **({f"{page}_errors": errors[:3]} if errors else {})}


def classroom(server: Server, students: int = 30, actions: int = 4, think: float = 1.0,
              seconds: float = 40, seed: int = 1) -> dict:
    """`students` open the lesson pages at once (`classroom_open_*`), then make `actions`
    changes each (`classroom_p50_ms`...), for at most `seconds` after their page opened."""
    lesson_pages = [p for p in PAGES if p != "training"]
    times: list[float] = []
    opens: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=student, daemon=True,
                                args=(server, lesson_pages[i % len(lesson_pages)], actions,
                                      think, seed * 1000 + i, seconds, times, errors),
                                kwargs={"opens": opens})
               for i in range(students)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    deadline = time.time() + 120 + seconds + 130  # open, changes, the last request's timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.time()))
    return {"classroom_students": students,
            "classroom_open_p50_ms": pct(opens, 0.5), "classroom_open_p95_ms": pct(opens, 0.95),
            "classroom_actions": len(times),
            "classroom_p50_ms": pct(times, 0.5), "classroom_p95_ms": pct(times, 0.95),
            "classroom_errors": len(errors), "classroom_wall_s": round(time.perf_counter() - t0, 1),
            **({"classroom_error_samples": errors[:3]} if errors else {})}


def load_average() -> float | None:
    with contextlib.suppress(OSError, AttributeError):
        return round(os.getloadavg()[0], 2)
    return None


def run(students: int = 30, actions: int = 3, page_actions: int = 8, seconds: float = 30):
    """Yield the figures one by one, as soon as each is known (the load average first:
    on a shared machine it says how far to trust the rest)."""
    with serve() as server:
        for page in PAGES:  # warm-up: imports, models, data sets, caches
            server.interact({"page": page})
        yield {"load_average_1min": load_average()}
        yield from page_costs(server, actions=page_actions)
        yield classroom(server, students=students, actions=actions, seconds=seconds)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--actions", type=int, default=4)
    ap.add_argument("--pages", nargs="*", default=list(PAGES))
    ap.add_argument("--page-actions", type=int, default=12)
    ap.add_argument("--no-class", action="store_true")
    a = ap.parse_args()
    with serve() as srv:
        for p in PAGES:
            srv.interact({"page": p})
        print(json.dumps({"load_average_1min": load_average()}), flush=True)
        for fig in page_costs(srv, a.pages, a.page_actions):
            print(json.dumps(fig), flush=True)
        if not a.no_class:
            print(json.dumps(classroom(srv, a.students, a.actions)), flush=True)
