"""`run.sh --workers 2`: two Streamlit workers behind a real HAProxy, used from real browsers.

The fixture starts run.sh in its own process group on a free localhost port. Everything goes
through the proxy: page loads, the WebSocket, st.image media, and the sticky SERVERID cookie.
"""
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.test_draw import METRIC, canvas, stroke
from tests.conftest import ROOT, _free_port, wait_for_app

pytestmark = pytest.mark.browser
BAR = "[data-testid='stProgress'] [role='progressbar']"
SECRET = secrets.token_hex(16)


def _need_haproxy() -> None:
    if shutil.which("haproxy") is None:
        why = "Debian's haproxy is not installed (as root: bash scripts/setup.sh test)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def start_run_sh(tmp: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    """`bash run.sh --workers 2` in its own process group; returns once the proxy is ready."""
    _need_haproxy()
    port = _free_port()
    log = tmp / f"run-sh-{port}.log"
    env = dict(os.environ, CNNDEMO_OFFLINE="1", CNNDEMO_USER_CHECKPOINTS=str(tmp / "checkpoints"),
               STREAMLIT_SERVER_COOKIE_SECRET=SECRET)  # so no secret file lands in runs/
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["bash", "run.sh", "--workers", "2", "--port", str(port), "--address", "127.0.0.1",
             "--server.fileWatcherType", "none", *extra],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 240
    while "ready: open" not in log.read_text():
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            pytest.fail(f"run.sh --workers 2 did not get ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}", log


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, group: bool = False) -> int:
    if proc.poll() is None:
        (os.killpg if group else os.kill)(proc.pid, sig)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return -9


@pytest.fixture(scope="module")
def proxy():
    tmp = Path(tempfile.mkdtemp(prefix="cnndemo-proxy-test-"))
    proc, url, _log = start_run_sh(tmp)
    yield url
    stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)


def server_id(context) -> str:
    ids = [c["value"] for c in context.cookies() if c["name"] == "SERVERID"]
    assert len(ids) == 1, f"no single SERVERID cookie: {context.cookies()}"
    return ids[0]


def draw_a_one(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/draw")
    wait_for_app(page)
    stroke(page, canvas(page), [(150, 40), (140, 240)])
    expect(page.locator(METRIC)).to_have_text("1", timeout=90_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_pages_canvas_and_image_through_the_proxy(proxy, _browser):
    context = _browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(proxy)
        wait_for_app(page)
        page.locator("h1").first.wait_for()
        assert server_id(context) in ("w1", "w2")
        draw_a_one(page, proxy)
        # "What the model sees": an st.image, served as /media/... by the worker that made it
        img = page.locator("[data-testid='stImage'] img").first
        img.wait_for()
        assert "/media/" in img.get_attribute("src")
        page.wait_for_function("el => el.complete && el.naturalWidth === 224",
                               arg=img.element_handle())
    finally:
        context.close()


def test_two_browsers_land_on_different_workers_and_both_predict(proxy, _browser):
    contexts = [_browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    try:
        pages = []
        for ctx in contexts:  # one after the other: the first holds its WebSocket open
            page = ctx.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{proxy}/draw")
            wait_for_app(page)
            pages.append(page)
        landed = [server_id(c) for c in contexts]
        assert sorted(landed) == ["w1", "w2"]
        for page in pages:
            draw_a_one(page, proxy)
        assert [server_id(c) for c in contexts] == landed  # each stayed on its worker
    finally:
        for ctx in contexts:
            ctx.close()


def progress(page) -> list[int]:
    return [int(float(v)) for v in page.eval_on_selector_all(
        BAR, "els => els.map(e => e.getAttribute('aria-valuenow'))") if v is not None]


def test_training_job_is_the_same_job_after_a_reload(proxy, browser_page):
    from tests.browser.test_training import pick, set_number

    page = browser_page
    page.goto(proxy)
    wait_for_app(page)
    page.goto(f"{proxy}/training")
    wait_for_app(page)
    worker = server_id(page.context)
    pick(page, "Architecture", "MLP 784-1024-10 (tanh)")
    set_number(page, "Batch size", 16)
    set_number(page, "Epochs", 2)
    page.get_by_role("button", name="Start training").click()
    page.locator(BAR).first.wait_for(timeout=90_000)
    result = page.locator("[data-testid='stMetric']").filter(has_text="Test accuracy")
    before = 0
    for _ in range(600):  # until it has visibly moved, or finished
        before = max(progress(page) or [0])
        if before > 0 or result.count():
            break
        page.wait_for_timeout(200)
    page.reload()
    wait_for_app(page)
    assert server_id(page.context) == worker, "the reload went to the other worker"
    after: list[int] = []
    for _ in range(900):  # the job's bar, or its result; other metrics can come a moment before
        after = progress(page) or [100] * bool(result.count())
        if after:
            break
        page.wait_for_timeout(200)
    assert after and max(after) >= before, f"a new or no job after the reload: {before} -> {after}"
    result.first.wait_for(timeout=180_000)
    wait_for_app(page)
    acc = result.first.inner_text().split()[-1]
    assert acc.endswith("%")
    page.reload()
    wait_for_app(page)
    result.first.wait_for(timeout=60_000)
    assert result.first.inner_text().split()[-1] == acc
    assert page.get_by_role("button", name="Start training").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0


def _tree(root: int) -> dict[int, str]:
    """Every live process below `root` (and in its children's process groups): pid -> cmdline."""
    procs = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                procs[int(d.name)] = (int(fields[1]), int(fields[2]), cmd)  # ppid, pgid
    found, grow = {root}, True
    while grow:
        new = {p for p, (ppid, pgid, _) in procs.items()
               if p not in found and (ppid in found or pgid in found)}
        found |= new
        grow = bool(new)
    return {p: procs[p][2] for p in found if p in procs}


def _start_a_job(url: str) -> None:
    """A student's training run, through the proxy with a cookie jar like a browser's."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def interact(body):
        req = urllib.request.Request(f"{url}/_stcore/agent/interact", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with opener.open(req, timeout=180) as r:
            return json.load(r)

    sid = interact({"page": "training"})["session_id"]
    interact({"session_id": sid, "trigger": {"key": "training_start"}})


@pytest.mark.parametrize("how", ["SIGTERM to run.sh", "Ctrl-C to its process group"])
def test_stopping_run_sh_leaves_no_processes(how, tmp_path):
    proc, url, log = start_run_sh(tmp_path, "--server.enableAgentApi", "true")
    try:
        _start_a_job(url)
        deadline = time.time() + 120
        while True:  # the job's process: a grandchild of run.sh
            tree = _tree(proc.pid)
            if any("multiprocessing" in c for c in tree.values()):
                break
            assert time.time() < deadline, f"no job process appeared: {tree}"
            time.sleep(0.5)
        assert any("haproxy" in c for c in tree.values())
        workers = [p for p, c in tree.items() if "streamlit run app.py" in c]
        assert len(workers) == 2
        for pid in workers:  # one cookie secret, in the environment and not on the command line
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"STREAMLIT_SERVER_COOKIE_SECRET={SECRET}".encode() in environ
            assert SECRET not in tree[pid]
    finally:
        if how.startswith("SIGTERM"):
            code = stop(proc, signal.SIGTERM)
        else:
            code = stop(proc, signal.SIGINT, group=True)
    assert code == 0, log.read_text()[-3000:]
    alive = {}
    for pid, cmd in tree.items():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip() == cmd:
                alive[pid] = cmd
        except OSError:
            pass
    assert alive == {}, f"left behind after {how}: {alive}"
    assert "stopped" in log.read_text()
