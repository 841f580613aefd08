"""The servers behind the image-LCP page (``--page lcp``), and what their logs say.

One gunicorn (infra/gunicorn.conf.py: gthread, one worker) per mode of
:mod:`bench.pageload.lcp_app`: serving TLS + HTTP/2 itself (front ``gunicorn``), or
plain HTTP/1.1 behind Caddy (front ``caddy``: TLS + HTTP/2 to the browser, the 103
passed on, ``/static`` served from disk by Caddy, the client's address in
``X-Forwarded-For``). In front of that a :class:`~bench.pageload.gate.Gate` (so the
bound variant can close its connections between two navigations), and in front of
the gate one latency relay per network (RTT alone, RTT and a bandwidth cap). The
browser reaches every server by the name :data:`HOST` (Chromium maps it to a
loopback address; the test certificate names it), so the learned variant's warm-up
visits can reach the same origin from other loopback addresses.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

from harness.fronts import caddy_binary
from harness.processes import REPO, free_port, start
from harness.relay import Relay
from harness.tls import Tls, spki_sha256

from .gate import Gate
from .lcp_app import HERO, LCP_JS

__all__ = [
    "FRONTS",
    "HOST",
    "SERVES",
    "Network",
    "Server",
    "count_downloads",
    "log_lines",
    "make_tls",
    "running_servers",
]

HOST = "lcp.test"
FRONTS = ("gunicorn", "caddy")
#: variant -> the mode of the server that serves it; bound is lcp-nojs's server with the image cached.
SERVES = {
    "none": "none",
    "today": "today",
    "lcp": "lcp",
    "lcp-nojs": "lcp-nojs",
    "learned": "learned",
    "bound": "lcp-nojs",
}
_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
_PATHS = {
    "css": "/lcp.css",  # the learned mode's is /static/lcp.css
    "js": f"/static/{LCP_JS}",
    "img": f"/static/{HERO}",
}


@dataclass(frozen=True)
class Network:
    name: str  # "rtt100" or "rtt100-10mbps"
    rtt_ms: float
    mbps: float | None

    @property
    def label(self) -> str:
        return f"RTT {self.rtt_ms:g} ms" + (f", {self.mbps:g} Mbit/s" if self.mbps else "")


@dataclass
class Server:
    mode: str
    port: int  # the port the browser's connections reach on 127.0.0.1 (Caddy's, or gunicorn's)
    log: Path  # gunicorn's access log
    gate: Gate
    relays: dict[str, int] = field(default_factory=dict)  # network name -> relay port
    logs: list[Path] = field(default_factory=list)  # the logs its downloads are counted from (the front's)
    files_log: Path | None = None  # the one that logs the static files (the learned variant's downloads)

    def url(self, network: Network) -> str:
        return f"https://{HOST}:{self.relays[network.name]}"


def make_tls(folder: Path) -> Tls:
    """A new CA and a certificate for :data:`HOST`, 127.0.0.1 and localhost, as
    harness.tls.make_tls writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "chain.pem"))
    chain = folder / "chain.pem"
    return Tls(str(folder / "ca.pem"), str(chain), str(folder / "key.pem"), spki_sha256(chain))


# As bench/pageload/stack.py's Caddy, for HOST; /static from disk, the rest proxied.
_CADDYFILE = """\
{{
\tadmin off
\tpersist_config off
\tauto_https off
\tstorage file_system {run}/caddy-data-{mode}
\tservers {{
\t\tprotocols h1 h2
\t}}
}}
https://{host}:{port} {{
\tbind 127.0.0.1
\ttls {cert} {key}
\tlog {{
\t\toutput file {log}
\t\tformat json
\t}}
\thandle /static/* {{
\t\troot * {site}
\t\theader Cache-Control "public, max-age=3600"
\t\tfile_server
\t}}
\thandle {{
\t\treverse_proxy 127.0.0.1:{upstream}
\t}}
}}
"""


@contextmanager
def running_servers(
    modes: list[str], run: Path, static: Path, tls: Tls, think: float, networks: list[Network], front: str = "gunicorn"
) -> Iterator[dict[str, Server]]:
    """Start a gunicorn (and Caddy), a gate and one relay per network for each of
    *modes*; stop all on exit. *static* is a folder named ``static``."""
    if front not in FRONTS:
        raise ValueError(f"front must be one of {FRONTS}, not {front!r}")
    caddy = caddy_binary() if front == "caddy" else None
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for mode in modes:
            port, log = free_port(), run / f"access-lcp-{mode}.log"
            env = {
                "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
                "FIREHOSE_TLS_CERT": "" if caddy else tls.cert_file,
                "FIREHOSE_TLS_KEY": "" if caddy else tls.key_file,
                "FIREHOSE_WORKERS": "1",
                "FIREHOSE_ACCESS_LOG": str(log),
                "BENCH_LCP_MODE": mode,
                "BENCH_LCP_THINK": str(think),
                "BENCH_LCP_STATIC": str(static),
                "BENCH_LCP_PROXIED": "1" if caddy else "",
            }
            command = [
                sys.executable,
                *("-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")),
                "bench.pageload.lcp_app:create_app()",
            ]
            stack.enter_context(start(command, port, run / f"gunicorn-lcp-{mode}.log", env))
            logs, files_log, upstream = [log], log, port
            if caddy is not None:
                upstream, files_log = free_port(), run / f"access-caddy-{mode}.log"
                caddyfile = run / f"Caddyfile-{mode}"
                caddyfile.write_text(
                    _CADDYFILE.format(
                        run=run,
                        mode=mode,
                        host=HOST,
                        port=upstream,
                        cert=tls.cert_file,
                        key=tls.key_file,
                        log=files_log,
                        site=static.parent,
                        upstream=port,
                    )
                )
                env = {"HOME": str(run), "XDG_DATA_HOME": str(run / "xdg"), "XDG_CONFIG_HOME": str(run / "xdg")}
                command = [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
                stack.enter_context(start(command, upstream, run / f"caddy-{mode}.log", env))
                logs = [files_log]  # Caddy logs what it proxies too: one count per request
            gate = stack.enter_context(Gate(("127.0.0.1", upstream)))
            server = Server(mode, upstream, log, gate, logs=logs, files_log=files_log)
            for network in networks:
                bits = network.mbps * 1e6 if network.mbps else None
                relay = stack.enter_context(
                    Relay(("127.0.0.1", gate.port), network.rtt_ms / 1000, bits_per_second=bits)
                )
                server.relays[network.name] = relay.port
            servers[mode] = server
        yield servers


def log_lines(log: Path | None) -> list[tuple[str, str, int]]:
    """(method, target, status) of each response in a gunicorn access log
    (infra/gunicorn.conf.py's format) or Caddy's JSON log, in order."""
    if log is None or not log.exists():
        return []
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if "request" not in entry:
                continue
            found.append((str(entry["request"]["method"]), str(entry["request"]["uri"]), int(entry.get("status", 0))))
        elif match := _LINE.search(line):
            found.append((match["method"], match["target"], int(match["status"])))
    return found


def count_downloads(lines: list[tuple[str, str, int]], nonce: str | None, image_key: str | None) -> dict[str, int]:
    """How many times each file was sent (200) in *lines*: of the navigation *nonce*
    (the image under *image_key*), or, with no nonce (stable URLs), every send."""
    found = dict.fromkeys(_PATHS, 0)
    for method, target, status in lines:
        if method != "GET" or status != 200:
            continue
        parts = urlsplit(target)
        n = parse_qs(parts.query).get("n", [None])[0]
        for name, path in _PATHS.items():
            if parts.path != path and not (name == "css" and parts.path == f"/static{path}"):
                continue
            if nonce is None or n == (image_key if name == "img" else nonce):
                found[name] += 1
    return found
