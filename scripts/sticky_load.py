"""Run a classroom load tool against `run.sh --workers N`, each simulated student with its own
cookie jar, as each browser has: HAProxy's SERVERID cookie then pins a student to one worker.

    .venv/bin/python scripts/sticky_load.py PATH/TO/classroom_load.py --url http://127.0.0.1:8501 \
        [--students 30 --seconds 45 --jobs 0 ...]

The tool's own HTTP client keeps no cookies, so through the proxy a student's second request
could reach a worker that has never seen its session. Requests without a session (the tool's
warm-up, a student's first page) still go wherever HAProxy's balancing sends them, so the
warm-up is first run here once per worker, at the same time (`--warm N`, default 2).
"""
import collections
import http.cookiejar
import importlib.util
import json
import sys
import threading
import time
import urllib.request

_local = threading.local()
_workers: dict[str, str] = {}  # thread name -> the worker HAProxy pinned it to


def _opener():
    if not hasattr(_local, "opener"):
        _local.jar = http.cookiejar.CookieJar()
        _local.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(_local.jar))
    return _local.opener


def interact(self, body, timeout=180):
    req = urllib.request.Request(self.url + "/_stcore/agent/interact",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with _opener().open(req, timeout=timeout) as r:
        snap = json.load(r)
    for c in _local.jar:
        if c.name == "SERVERID":
            _workers[threading.current_thread().name] = c.value
    return snap, (time.perf_counter() - t0) * 1000


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path, args = sys.argv[1], sys.argv[2:]
    warm = 2
    if "--warm" in args:
        i = args.index("--warm")
        warm, args = int(args[i + 1]), args[:i] + args[i + 2:]
    spec = importlib.util.spec_from_file_location("classroom_load", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.App.interact = interact
    url = args[args.index("--url") + 1].rstrip("/")
    app = tool.App(0)
    app.url = url
    for page in tool.PAGES + ["training"]:
        # at the same time, so that HAProxy's least-connections sends them to different workers
        threads = [threading.Thread(target=app.interact, args=({"page": page},))
                   for _ in range(warm)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sys.argv = [path, *args]
    _workers.clear()
    tool.main()
    per_worker = collections.Counter(v for t, v in _workers.items() if t != "MainThread")
    print(json.dumps({"students_per_worker": dict(sorted(per_worker.items()))}), file=sys.stderr)


if __name__ == "__main__":
    main()
