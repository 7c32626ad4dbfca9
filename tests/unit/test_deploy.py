"""The HAProxy config that run.sh generates, and the shared cookie secret (scripts/)."""
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import haproxy_config
import serve


def test_config_has_one_sticky_checked_server_per_worker(tmp_path):
    text = haproxy_config.render(8501, [9001, 9002, "10.0.0.7:8501"], bind="127.0.0.1")
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert servers == [["server", "w1", "127.0.0.1:9001", "cookie", "w1"],
                       ["server", "w2", "127.0.0.1:9002", "cookie", "w2"],
                       ["server", "w3", "10.0.0.7:8501", "cookie", "w3"]]
    assert "bind 127.0.0.1:8501" in text
    assert "cookie SERVERID insert indirect nocache" in text
    assert "option httpchk GET /_stcore/health" in text
    assert "timeout tunnel 8h" in text
    assert "option persist" in text and "timeout check 10s" in text
    assert "@" not in text.replace("# ", "")
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed: the config's syntax was not checked by HAProxy")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_cookie_secret_is_made_once_with_mode_0600(tmp_path):
    path = tmp_path / "runs" / "cookie_secret"
    first = serve.cookie_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert serve.cookie_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_port_address_and_secret_go_to_the_proxy_the_rest_to_streamlit():
    taken, rest = serve.split_options(["--server.port", "8080", "--server.address=0.0.0.0",
                                       "--server.cookieSecret", "s3", "--theme.base", "dark"])
    assert taken == {"port": "8080", "address": "0.0.0.0", "secret": "s3"}
    assert rest == ["--theme.base", "dark"]
