"""Write the HAProxy config for N Streamlit workers from deploy/haproxy.cfg.in.

    python scripts/haproxy_config.py --port 8501 --worker-ports 8601,8602 [--bind '*'] > haproxy.cfg
"""
import argparse
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg.in"


def render(port: int, worker_ports: list[int], bind: str = "*",
           template: Path = TEMPLATE) -> str:
    """The config text: one `server wK` line per worker, each with its own cookie value."""
    if not worker_ports:
        raise ValueError("at least one worker port is needed")
    servers = "\n".join(f"    server w{k} 127.0.0.1:{p} cookie w{k}"
                        for k, p in enumerate(worker_ports, start=1))
    text = template.read_text()
    for name, value in (("@WORKERS@", str(len(worker_ports))), ("@BIND@", bind),
                        ("@PORT@", str(port)), ("@SERVERS@", servers)):
        text = text.replace(name, value)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8501, help="the public port")
    ap.add_argument("--bind", default="*", help="the public address (default: all)")
    ap.add_argument("--worker-ports", required=True,
                    help="comma-separated local ports of the Streamlit workers")
    a = ap.parse_args()
    print(render(a.port, [int(p) for p in a.worker_ports.split(",")], a.bind), end="")


if __name__ == "__main__":
    main()
