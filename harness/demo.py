"""The demo app (apps/demo) under gunicorn, started the one way it starts
(infra/run-app.sh), alone or behind a front, and the files it serves.

* :func:`running_hints_server`: gunicorn alone, TLS + HTTP/2 (``--http-protocols
  h2,h1``), sending its own 103s;
* :func:`running_push_stack`: gunicorn over HTTP/1.1 behind nginx 1.22 with
  ``http2_push_preload on``;
* :func:`running_front`: gunicorn over HTTP/1.1 behind Caddy, Apache or h2o
  (``harness.fronts``), with ``FLASK_FIREHOSE_EARLY_HINTS_HTTP1=true`` so that it
  sends its 103 to the front, and learning off (``FLASK_FIREHOSE_LEARN=false``):
  every 103 then holds exactly the view's declared hints, whatever ran before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .fronts import RUNNERS, Served, read_access_log, running_nginx
from .processes import REPO, Running, free_port, start
from .tls import Tls

__all__ = [
    "SLOW_SECONDS",
    "STATIC",
    "Front",
    "HintsServer",
    "PushStack",
    "running_demo",
    "running_front",
    "running_hints_server",
    "running_push_stack",
    "static_file",
]

#: The demo's static folder.
STATIC = REPO / "apps" / "demo" / "demo" / "static"
#: How long the demo's /report view sleeps behind every front.
SLOW_SECONDS = 0.5
_RUN_APP = ["sh", str(REPO / "infra/run-app.sh")]


def static_file(url_path: str) -> bytes:
    """The bytes on disk behind a demo ``/static/...?v=...`` URL."""
    path = url_path.split("?", 1)[0]
    if not path.startswith("/static/"):
        raise ValueError(f"not a static URL: {url_path!r}")
    return (STATIC / path.removeprefix("/static/")).read_bytes()


@dataclass(frozen=True)
class HintsServer:
    """gunicorn serving the demo straight to clients over TLS + HTTP/2."""

    port: int
    app: Running
    access_log: Path
    slow_seconds: float

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


@contextmanager
def running_hints_server(tls: Tls, run: Path, slow: float = SLOW_SECONDS) -> Iterator[HintsServer]:
    """gunicorn 25+ with ``--http-protocols h2,h1`` and TLS, one worker (so the
    in-process learned hints are one store), the demo's slow view at *slow* s."""
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "FIREHOSE_ACCESS_LOG": str(run / "access.log"),
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_SLOW_SECONDS": str(slow),
    }
    with start(_RUN_APP, port, run / "app.log", env) as app:
        yield HintsServer(port, app, run / "access.log", slow)


@dataclass(frozen=True)
class PushStack:
    """The demo behind nginx: where to reach it and what backs it."""

    port: int
    app: Running
    nginx: Running
    data_dir: Path

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cdn_origin(self) -> str:
        # Same server, other host name: a different origin for the browser.
        return f"https://localhost:{self.port}"


@contextmanager
def running_push_stack(tls: Tls, run: Path) -> Iterator[PushStack]:
    """gunicorn serving the demo over HTTP/1.1, behind nginx with
    ``http2_push_preload on`` (infra/nginx/push.conf.template) over TLS + HTTP/2.
    The demo's "CDN" origin is nginx again, by the name ``localhost``."""
    app_port, nginx_port = free_port(), free_port()
    with ExitStack() as stack:
        app_env = {
            "FIREHOSE_APP_BIND": f"127.0.0.1:{app_port}",
            "FLASK_DEMO_DATA_DIR": str(run / "data"),
            "FLASK_DEMO_CDN_ORIGIN": f"https://localhost:{nginx_port}",
        }
        app = stack.enter_context(start(_RUN_APP, app_port, run / "app.log", app_env))
        nginx = stack.enter_context(running_nginx(tls, run, app_port, port=nginx_port))
        yield PushStack(nginx.port, app, nginx, run / "data")


@dataclass(frozen=True)
class Front:
    """A front server (TLS + HTTP/2 on 127.0.0.1) and the demo app behind it."""

    name: str
    port: int
    server: Running
    app: Running
    access_log: Path  # the front's own
    app_access_log: Path  # gunicorn's
    slow_seconds: float = SLOW_SECONDS

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def requests(self) -> list[Served]:
        return read_access_log(self.access_log)

    def app_requests(self) -> list[Served]:
        return read_access_log(self.app_access_log)


@contextmanager
def running_demo(run: Path, env: Mapping[str, str] | None = None) -> Iterator[tuple[Running, Path]]:
    """The demo under gunicorn on a free port, plain HTTP/1.1, for a front to
    proxy to; yields it and its access log."""
    port = free_port()
    log = run / "app-access.log"
    app_env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_WORKERS": "1",
        "FIREHOSE_ACCESS_LOG": str(log),
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_SLOW_SECONDS": str(SLOW_SECONDS),
        # The front speaks HTTP/1.1 to the app: the 103 must go out over it.
        "FLASK_FIREHOSE_EARLY_HINTS_HTTP1": "true",
        # Declared hints only, so each 103 is the same whatever ran before.
        "FLASK_FIREHOSE_LEARN": "false",
        **(env or {}),
    }
    with start(_RUN_APP, port, run / "app.log", app_env) as app:
        yield app, log


@contextmanager
def running_front(name: str, tls: Tls, run: Path) -> Iterator[Front]:
    """The demo behind the front *name* (``caddy``, ``apache`` or ``h2o``)."""
    runner = RUNNERS[name]
    with ExitStack() as stack:
        app, app_log = stack.enter_context(running_demo(run))
        server = stack.enter_context(runner(tls, run, app.port, STATIC))
        yield Front(name, server.port, server, app, run / "access.log", app_log)
