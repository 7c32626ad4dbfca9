"""Write the HAProxy config for N Streamlit workers from deploy/haproxy.cfg.in.

    python scripts/haproxy_config.py --port 8501 --workers 8601,8602 [--bind '*'] > haproxy.cfg

A worker is a local port (`8601`) or, for replicas on other machines, `host:port`.
"""
import argparse
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg.in"


def render(port: int, workers: list, bind: str = "*", cookie: str = "SERVERID",
           template: Path = TEMPLATE) -> str:
    """The config text: one `server wK` line per worker, each with its own cookie value."""
    if not workers:
        raise ValueError("at least one worker is needed")
    addrs = [w if ":" in str(w) else f"127.0.0.1:{w}" for w in workers]
    servers = "\n".join(f"    server w{k} {a} cookie w{k}" for k, a in enumerate(addrs, start=1))
    text = template.read_text()
    for name, value in (("@WORKERS@", str(len(workers))), ("@BIND@", bind),
                        ("@PORT@", str(port)), ("@COOKIE@", cookie),
                        ("@SERVERS@", servers)):
        text = text.replace(name, value)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8501, help="the public port")
    ap.add_argument("--bind", default="*", help="the public address (default: all)")
    ap.add_argument("--workers", required=True,
                    help="comma-separated workers: local ports, or host:port")
    ap.add_argument("--cookie", default="SERVERID",
                    help="the stickiness cookie's name (a front proxy needs a name of its own)")
    a = ap.parse_args()
    print(render(a.port, a.workers.split(","), a.bind, a.cookie), end="")


if __name__ == "__main__":
    main()
