"""Serve the demo over HTTPS and HTTP/2 with gunicorn: ``python -m demo.serve``.

Makes a local certificate on first run, takes ``--port`` (or ``$PORT``, else a
free port), prints the URL and a ``curl`` command that shows what the server
sends, then hands over to ``infra/run-app.sh``, the same entrypoint the e2e
suite and docker-compose use.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from .devcert import ensure_cert

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 0), help="default: a free port")
    parser.add_argument("--data", type=Path, default=REPO / "var" / "demo", help="certificates and sessions")
    args = parser.parse_args(argv)
    entrypoint = REPO / "infra" / "run-app.sh"
    if not entrypoint.exists():
        sys.exit(f"{entrypoint} not found: run the demo from a checkout of the repository")
    port = args.port or _free_port()
    cert = ensure_cert(args.data / "certs")
    url = f"https://127.0.0.1:{port}/"
    print(f"Flask-Firehose demo: {url}", flush=True)
    curl = f"curl -s --http2 --cacert {cert.ca} -H 'Sec-Fetch-Mode: navigate' -D - -o /dev/null {url}report"
    print(f"See the 103 it sends: {curl}", flush=True)
    env = {
        **os.environ,
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": str(cert.chain),
        "FIREHOSE_TLS_KEY": str(cert.key),
        "FIREHOSE_ACCESS_LOG": os.environ.get("FIREHOSE_ACCESS_LOG", "-"),
        "FIREHOSE_PYTHON": sys.executable,
        "FLASK_DEMO_DATA_DIR": str(args.data),
    }
    os.execve("/bin/sh", ["sh", str(entrypoint)], env)


if __name__ == "__main__":
    main()
