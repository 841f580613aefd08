"""The servers behind each variant, each reached through its own latency relay.

gunicorn runs with infra/gunicorn.conf.py (gthread, TLS + HTTP/2 via ALPN) and is
started and stopped (by process group) with harness.processes.start, as in the e2e suite.
Caddy (d) and Apache (f) are fronts: TLS + HTTP/2 to the browser, HTTP/1.1 to
gunicorn (whose 103 they pass on), /static served from disk by the front itself.

Every server also logs when it finished each response, with sub-millisecond
precision, so the report can set each hinted file against its page: gunicorn through
the app's own log (``BENCH_PAGELOAD_TIMES``, :class:`bench.pageload.app.TimesLog`),
Caddy through its JSON log's ``ts`` (written once the response is done), Apache
through ``%{end:usec}t``.

c and g also load a stylesheet from a second origin, ``https://localhost:PORT``: the
same app (mode ``xorigin``) in its own gunicorn with the same test certificate, behind
its own relay with the same RTT. The relay delays data, not the TCP handshake: a new
connection to it costs the TLS handshake's round trip, not TCP's.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.fronts import caddy_binary
from harness.processes import REPO, MissingComponent, free_port, start
from harness.relay import Relay
from harness.tls import Tls

from .app import CSS, JS, XCSS

__all__ = ["VARIANTS", "XORIGIN_KEYS", "Variant", "running_variants"]

#: key -> (label, path); in the order of the table.
VARIANTS: dict[str, tuple[str, str]] = {
    "a": ("a no Firehose", "/"),
    "b": ("b Link header only", "/"),
    "c": ("c 103 gunicorn", "/"),
    "d": ("d 103 via Caddy", "/"),
    "e": ("e limit (no subresources)", "/limit"),
    "f": ("f 103 via Apache", "/"),
    "g": ("g x-origin + preconnect", "/"),
    "h": ("h x-origin, no preconnect", "/"),
}
XORIGIN_KEYS = frozenset("gh")  # variants whose page loads XCSS from the second origin
APACHE = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
FILES = (CSS, JS)
_GUNICORN_LINE = re.compile(r'"[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
_TIMES_LINE = re.compile(r"^(?P<ts>\d+\.\d+) (?P<status>\d{3}) (?P<target>\S+)$")  # app.TimesLog
_APACHE_LINE = re.compile(r'^(?P<usec>\d+) \S+ "[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


@dataclass
class Variant:
    key: str
    label: str
    url: str  # through the relay, without the nonce
    logs: list[Path] = field(default_factory=list)  # access logs that may hold its downloads
    times: Path | None = None  # the log of the server that served its page and files, with end times
    path: str = "/"
    xorigin: str = ""  # the second origin the page loads XCSS from, if any
    xorigin_log: Path | None = None  # the second origin's access log

    def downloads(self, nonce: str) -> dict[str, int]:
        """How many times each hinted file of the navigation *nonce* was served (status 200)."""
        served = [target for log in self.logs if log.exists() for target in _served(log)]
        found = {name: served.count(f"/static/{name}?n={nonce}") for name in FILES}
        if self.xorigin_log is not None and self.xorigin_log.exists():
            found[XCSS] = list(_served(self.xorigin_log)).count(f"/static/{XCSS}?n={nonce}")
        return found

    def finished(self, nonce: str) -> dict[str, float | None]:
        """Per hinted file of the navigation *nonce*: when the server finished sending it,
        minus when it finished sending the page, in ms (negative: done before the page).
        None when the file (or the page) was not served."""
        ends: dict[str, float] = {}
        for ts, status, target in _timed(self.times) if self.times and self.times.exists() else ():
            if status == 200:
                ends[target] = min(ts, ends.get(target, ts))
        page = ends.get(f"{self.path}?n={nonce}")
        found: dict[str, float | None] = {}
        for name in FILES:
            end = ends.get(f"/static/{name}?n={nonce}")
            found[name] = None if end is None or page is None else round((end - page) * 1000, 2)
        return found


def _timed(log: Path) -> Iterator[tuple[float, int, str]]:
    """(unix time the response was finished, status, target) from the app's times log,
    Caddy's JSON log or Apache's log (formats written by this module)."""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            yield float(entry["ts"]), int(entry.get("status", 0)), str(entry["request"]["uri"])
        elif match := _TIMES_LINE.match(line):
            yield float(match["ts"]), int(match["status"]), match["target"]
        elif match := _APACHE_LINE.match(line):
            yield int(match["usec"]) / 1e6, int(match["status"]), match["target"]


def _served(log: Path) -> Iterator[str]:
    """Request targets answered 200, from gunicorn's access log (format of
    infra/gunicorn.conf.py: ``%(h)s "%(r)s" %(s)s %(B)s``) or Caddy's JSON log."""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("status") == 200:
                yield str(entry["request"]["uri"])
        elif (match := _GUNICORN_LINE.search(line)) and match["status"] == "200":
            yield match["target"]


_CADDYFILE = """\
{{
	admin off
	persist_config off
	auto_https off
	storage file_system {run}/caddy-data
	servers {{
		protocols h1 h2
	}}
}}
https://127.0.0.1:{port} {{
	bind 127.0.0.1
	tls {cert} {key}
	log {{
		output file {log}
		format json
	}}
	handle /static/* {{
		root * {site}
		header Cache-Control "public, max-age=3600"
		file_server
	}}
	handle {{
		reverse_proxy 127.0.0.1:{upstream}
	}}
}}
"""


# Apache 2.4 as in infra/apache/httpd.conf.template (mod_http2 + mod_proxy_http,
# H2EarlyHints on, H2Push on), plus: /static from disk with long caching (Alias +
# mod_headers, like Caddy in d) and a log with each response's end time in microseconds.
_HTTPD_CONF = """\
ServerRoot {run}
ServerName 127.0.0.1
PidFile {run}/httpd.pid
Mutex file:{run} default
DefaultRuntimeDir {run}
ErrorLog {run}/apache-error.log
LogLevel warn
User {user}
Group {user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule http2_module {modules}/mod_http2.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_http_module {modules}/mod_proxy_http.so
LoadModule headers_module {modules}/mod_headers.so
LoadModule alias_module {modules}/mod_alias.so
LoadModule mime_module {modules}/mod_mime.so
TypesConfig /dev/null
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
LogFormat "%{{end:usec}}t %h \\"%r\\" %>s %B %H" bench
CustomLog {log} bench
Listen 127.0.0.1:{port} https
SSLSessionCache shmcb:{run}/ssl_scache(512000)
<VirtualHost 127.0.0.1:{port}>
    SSLEngine on
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
    Protocols h2 http/1.1
    H2EarlyHints on
    H2Push on
    AddType text/css .css
    AddType text/javascript .js
    Alias "/static/" "{site}/static/"
    <Directory "{site}/static">
        Require all granted
        Header set Cache-Control "public, max-age=3600"
    </Directory>
    ProxyPass "/static/" "!"
    ProxyPass "/" "http://127.0.0.1:{upstream}/"
    ProxyPassReverse "/" "http://127.0.0.1:{upstream}/"
    ProxyPreserveHost on
    RequestHeader set X-Forwarded-Proto "https"
</VirtualHost>
"""


@contextmanager
def running_variants(
    keys: list[str], run: Path, site: Path, tls: Tls, think: float, rtt: float, bits_per_second: float | None
) -> Iterator[list[Variant]]:
    """Start what *keys* need; yield the variants; stop everything on exit.

    *site* holds ``static/``, and ``xorigin/static/`` the second origin's files (g, h).
    a and e share one server (Firehose off).
    """
    modes = {
        "a": "none",
        "e": "none",
        "b": "final",
        "c": "hints",
        "d": "proxy",
        "f": "proxy",
        "g": "preconnect",
        "h": "xhints",
    }
    caddy = None
    if "d" in keys:
        try:
            caddy = caddy_binary()
        except MissingComponent as missing:
            raise RuntimeError(f"{missing} (or leave variant d out)") from None
    if "f" in keys and not (Path(APACHE).exists() and Path(APACHE_MODULES, "mod_http2.so").exists()):
        raise RuntimeError("Apache with mod_http2 is missing: install the Debian package 'apache2' (or leave f out)")
    with ExitStack() as stack:
        servers: dict[str, tuple[int, Path]] = {}  # mode -> (port clients use, access log)
        timed: dict[str, Path] = {}  # mode or front -> its log with end times
        relays: dict[int, Relay] = {}
        xorigin, xorigin_log = "", None
        if XORIGIN_KEYS & set(keys):  # first: the pages of g and h name it
            port, xorigin_log = free_port(), run / "access-xorigin.log"
            env = {
                "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
                "FIREHOSE_TLS_CERT": tls.cert_file,
                "FIREHOSE_TLS_KEY": tls.key_file,
                "FIREHOSE_WORKERS": "1",
                "FIREHOSE_ACCESS_LOG": str(xorigin_log),
                "BENCH_PAGELOAD_MODE": "xorigin",
                "BENCH_PAGELOAD_THINK": "0",
                "BENCH_PAGELOAD_STATIC": str(site / "xorigin/static"),
            }
            command = [
                sys.executable,
                *("-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")),
                "bench.pageload.app:create_app()",
            ]
            stack.enter_context(start(command, port, run / "gunicorn-xorigin.log", env))
            relays[port] = stack.enter_context(Relay(("127.0.0.1", port), rtt, bits_per_second=bits_per_second))
            # localhost, not 127.0.0.1: another origin (and another connection) for the browser.
            xorigin = f"https://localhost:{relays[port].port}"
        for mode in dict.fromkeys(modes[key] for key in keys):
            port, log = free_port(), run / f"access-{mode}.log"
            times = run / f"times-{mode}.log"
            env = {
                "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
                "FIREHOSE_TLS_CERT": "" if mode == "proxy" else tls.cert_file,
                "FIREHOSE_TLS_KEY": "" if mode == "proxy" else tls.key_file,
                "FIREHOSE_WORKERS": "1",
                "FIREHOSE_ACCESS_LOG": str(log),
                "BENCH_PAGELOAD_MODE": mode,
                "BENCH_PAGELOAD_THINK": str(think),
                "BENCH_PAGELOAD_STATIC": str(site / "static"),
                "BENCH_PAGELOAD_TIMES": str(times),
                "BENCH_PAGELOAD_XORIGIN": xorigin if mode in ("xhints", "preconnect") else "",
            }
            command = [
                sys.executable,
                *("-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")),
                "bench.pageload.app:create_app()",
            ]
            stack.enter_context(start(command, port, run / f"gunicorn-{mode}.log", env))
            servers[mode] = (port, log)
            timed[mode] = times
        if caddy is not None:
            app_port = servers["proxy"][0]
            port, log = free_port(), run / "access-caddy.log"
            caddyfile = run / "Caddyfile"
            caddyfile.write_text(
                _CADDYFILE.format(
                    run=run, port=port, cert=tls.cert_file, key=tls.key_file, log=log, site=site, upstream=app_port
                )
            )
            env = {"HOME": str(run), "XDG_DATA_HOME": str(run / "xdg"), "XDG_CONFIG_HOME": str(run / "xdg")}
            command = [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
            stack.enter_context(start(command, port, run / "caddy.log", env))
            servers["caddy"] = (port, log)
            timed["caddy"] = log
        if "f" in keys:
            app_port = servers["proxy"][0]
            port, log = free_port(), run / "access-apache.log"
            if os.geteuid() == 0:  # Apache's children run as www-data: let them read the site
                run.chmod(0o755)
                site.chmod(0o755)
            conf = run / "httpd.conf"
            conf.write_text(
                _HTTPD_CONF.format(
                    run=run,
                    modules=APACHE_MODULES,
                    user="www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name,
                    log=log,
                    port=port,
                    cert=tls.cert_file,
                    key=tls.key_file,
                    site=site,
                    upstream=app_port,
                )
            )
            stack.enter_context(start([APACHE, "-f", str(conf), "-DFOREGROUND"], port, run / "apache.log"))
            servers["apache"] = (port, log)
            timed["apache"] = log
        variants = []
        fronts = {"d": "caddy", "f": "apache"}
        for key in keys:
            port, log = servers[fronts.get(key, modes[key])]
            logs = [servers[modes[key]][1], log] if key in fronts else [log]
            if port not in relays:
                relays[port] = stack.enter_context(Relay(("127.0.0.1", port), rtt, bits_per_second=bits_per_second))
            label, path = VARIANTS[key]
            url = f"https://127.0.0.1:{relays[port].port}{path}"
            variant = Variant(key, label, url, logs, timed[fronts.get(key, modes[key])], path)
            if key in XORIGIN_KEYS:
                variant.xorigin, variant.xorigin_log = xorigin, xorigin_log
            variants.append(variant)
        yield variants
