"""N Streamlit workers behind HAProxy, started and stopped as one: what `run.sh --workers N` runs.

    .venv/bin/python scripts/serve.py --workers 4 [--port 8501] [--address 0.0.0.0] [streamlit options]

Each worker is `streamlit run app.py` on a free 127.0.0.1 port; HAProxy listens on the public
port once every worker is healthy, pins each browser to its worker with a cookie and checks
`/_stcore/health`. The workers share the cookie secret (one file in the runs folder, 0600), the
checkpoints folder and the runs folder, because they run from the same directory with the same
environment.

Stopping this process (Ctrl-C, SIGTERM, SIGHUP) stops every worker, its training jobs and the
proxy. Each child runs in its own process group, which is swept after it exits, and each gets
SIGTERM from the kernel if this process dies without cleaning up (PR_SET_PDEATHSIG).
"""
import argparse
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import haproxy_config

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 15.0
READY_TIMEOUT_S = 300.0
# A worker's own banner names its private port, which students must not use.
HIDDEN = ("You can now view your Streamlit app", "URL: http")


def say(msg: str) -> None:
    print(f"[run.sh] {msg}", flush=True)


def free_ports(n: int) -> list[int]:
    """n distinct ports the kernel says are free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cookie_secret(path: Path) -> str:
    """The class's shared cookie secret: read from `path`, or made once there with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        secret = path.read_text().strip()
        if secret:
            return secret
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


def split_options(extra: list[str]) -> tuple[dict, list[str]]:
    """Take Streamlit's port, address and cookie secret out of `extra`: they belong to the proxy."""
    taken, rest, i = {}, [], 0
    names = {"--server.port": "port", "--server.address": "address",
             "--server.cookieSecret": "secret"}
    while i < len(extra):
        name, eq, value = extra[i].partition("=")
        if name in names:
            if not eq:
                if i + 1 >= len(extra):
                    sys.exit(f"run.sh: {name} needs a value")
                value, i = extra[i + 1], i + 1
            taken[names[name]] = value
        else:
            rest.append(extra[i])
        i += 1
    return taken, rest


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(name: str, cmd: list[str], env: dict) -> subprocess.Popen:
    """Start a child in its own process group; a thread prefixes its output with its name."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_die_with_parent)

    def pump():
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            if not any(m in line for m in HIDDEN):
                sys.stdout.write(f"[{name}] {line}")
                sys.stdout.flush()

    threading.Thread(target=pump, daemon=True).start()
    return proc


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def check(children: dict[str, subprocess.Popen]) -> int:
    """1 (and a message) when a child has exited on its own, else 0."""
    for name, proc in children.items():
        if proc.poll() is not None:
            say(f"{name} exited with code {proc.returncode}: stopping all")
            return 1
    return 0


def stop_all(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every child, wait, then SIGKILL whatever is left in each child's process group."""
    for proc in children.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in children.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers: training jobs, forkserver
        if proc.poll() is None:
            proc.wait()


def wait_ready(children, ports, stopping) -> int:
    """0 once every worker answers its health check; 1 if one exits or none is up in time."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stopping.wait(0.5):
        if check(children):
            return 1
        if all(healthy(p) for p in ports):
            return 0
        if time.monotonic() > deadline:
            say(f"the workers were not healthy after {READY_TIMEOUT_S:.0f} s: stopping")
            return 1
    return 0


def wait_proxy(host: str, port: int, children, stopping) -> int:
    """0 once HAProxy answers a health check on the public port (it checks a worker)."""
    deadline = time.monotonic() + 60
    while not stopping.wait(0.2):
        if check(children):
            return 1
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return 0
        except OSError:
            pass
        if time.monotonic() > deadline:
            say(f"HAProxy did not answer on {host}:{port} within 60 s: stopping")
            return 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="N Streamlit workers behind HAProxy.")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=None, help="the public port (default 8501)")
    ap.add_argument("--address", default=None, help="the public address (default: all)")
    a, extra = ap.parse_known_args()
    if a.workers < 1:
        sys.exit("run.sh: --workers must be at least 1")
    taken, extra = split_options([x for x in extra if x != "--"])
    port = a.port or int(taken.get("port", 8501))
    bind = a.address or taken.get("address", "*")
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        sys.exit("run.sh: --workers needs HAProxy, which is not installed. As root run "
                 "`apt-get install haproxy` (or `bash scripts/setup.sh app --proxy`).")

    secret_file = RUNS / "cookie_secret"
    if taken.get("secret"):
        secret, origin = taken["secret"], "from --server.cookieSecret"
    elif os.environ.get(SECRET_ENV):
        secret, origin = os.environ[SECRET_ENV], f"from ${SECRET_ENV}"
    else:
        secret, origin = cookie_secret(secret_file), f"in {secret_file}"
    # The secret travels in the environment, not on the command line, where `ps` would show it.
    env = dict(os.environ, **{SECRET_ENV: secret})
    tmp = Path(tempfile.mkdtemp(prefix="cnndemo-proxy-"))
    ports = free_ports(a.workers)
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(haproxy_config.render(port, ports, bind))

    children: dict[str, subprocess.Popen] = {}
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stopping.set())
    code = 0
    try:
        for k, p in enumerate(ports, start=1):
            children[f"w{k}"] = start(f"w{k}", [
                sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                "--server.address", "127.0.0.1", "--server.port", str(p),
                "--browser.gatherUsageStats", "false", *extra], env)
        say(f"starting {a.workers} workers on 127.0.0.1:{','.join(map(str, ports))}")
        code = wait_ready(children, ports, stopping)
        if not code and not stopping.is_set():
            children["haproxy"] = start("haproxy", [haproxy, "-db", "-f", str(cfg)], env)
            host = "localhost" if bind in ("*", "0.0.0.0", "") else bind
            code = wait_proxy("127.0.0.1" if host == "localhost" else host, port, children,
                              stopping)
        if not code and not stopping.is_set():
            say(f"HAProxy on {bind}:{port} in front of {a.workers} workers; "
                f"cookie secret {origin}")
            say(f"ready: open http://{host}:{port}")
        while not code and not stopping.wait(0.5):
            code = check(children)
    finally:
        say("stopping workers and proxy")
        stop_all(children)
        shutil.rmtree(tmp, ignore_errors=True)
        say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
