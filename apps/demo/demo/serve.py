"""Serve the demo over HTTPS and HTTP/2 with gunicorn: ``python -m demo.serve``.

Makes a local certificate on first run, takes ``--port`` (or ``$PORT``, else a
free port), and runs ``infra/run-app.sh``, the same entrypoint the e2e suite
and docker-compose use. Sessions and learned hints go to Redis: the one
``FLASK_DEMO_REDIS_URL`` names, else a ``redis-server`` started here on a free
loopback port (Debian package ``redis-server``; ``--no-redis`` to do without),
stopped with the demo. The URL and a ``curl`` command that shows the 103 are
printed once the server answers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from .devcert import ensure_cert

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_for(port: int, process: subprocess.Popen[bytes], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not _answers(port):
        if process.poll() is not None:
            sys.exit(f"{what} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not answer on port {port} within {seconds:.0f} s")
        time.sleep(0.05)


@contextmanager
def _started(command: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run *command* in its own process group; stop that group on the way out."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _redis(stack: ExitStack, data: Path, wanted: bool) -> str | None:
    """The Redis URL the demo uses: given, started here, or none."""
    given = os.environ.get("FLASK_DEMO_REDIS_URL")
    if given or not wanted:
        return given or None
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        print("No redis-server found: each worker learns alone (apt-get install redis-server to share).", flush=True)
        return None
    port = _free_port()
    (data / "redis").mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--daemonize", "no", "--dir", str(data / "redis"), "--logfile", str(data / "redis" / "redis.log")]
    process = stack.enter_context(_started(command))
    _wait_for(port, process, "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 0), help="default: a free port")
    parser.add_argument("--data", type=Path, default=REPO / "var" / "demo", help="certificates and sessions")
    parser.add_argument("--no-redis", action="store_true", help="sessions on disk, hints learned per worker")
    args = parser.parse_args(argv)
    entrypoint = REPO / "infra" / "run-app.sh"
    if not entrypoint.exists():
        sys.exit(f"{entrypoint} not found: run the demo from a checkout of the repository")
    port = args.port or _free_port()
    cert = ensure_cert(args.data / "certs")
    # SIGTERM ends the demo as Ctrl-C does, so everything started here stops.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with ExitStack() as stack:
        redis_url = _redis(stack, args.data, wanted=not args.no_redis)
        env = {
            **os.environ,
            "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
            "FIREHOSE_TLS_CERT": str(cert.chain),
            "FIREHOSE_TLS_KEY": str(cert.key),
            "FIREHOSE_ACCESS_LOG": os.environ.get("FIREHOSE_ACCESS_LOG", "-"),
            "FIREHOSE_PYTHON": sys.executable,
            "FLASK_DEMO_DATA_DIR": str(args.data),
        }
        if redis_url:
            env["FLASK_DEMO_REDIS_URL"] = redis_url
        app = stack.enter_context(_started(["/bin/sh", str(entrypoint)], env))
        _wait_for(port, app, "gunicorn")
        url = f"https://127.0.0.1:{port}/"
        print(f"Flask-Firehose demo: {url}", flush=True)
        print(f"Sessions and learned hints: {redis_url or 'on disk and per worker'}", flush=True)
        curl = f"curl -s --http2 --cacert {cert.ca} -H 'Sec-Fetch-Mode: navigate' -D - -o /dev/null {url}report"
        print(f"See the 103 it sends: {curl}", flush=True)
        with suppress(KeyboardInterrupt):
            app.wait()


if __name__ == "__main__":
    main()
