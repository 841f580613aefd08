"""Measure the demo's slow page in Chromium with 103 Early Hints on and off.

Run from the repository root::

    .venv/bin/python apps/demo/tools/measure_demo.py            # behind Caddy, RTT 100 ms, 10 Mbit/s
    .venv/bin/python apps/demo/tools/measure_demo.py --front gunicorn --navigations 14

Starts the demo twice with ``python -m demo.serve`` (the same command as
``make demo``), once as it is and once with ``FLASK_FIREHOSE_EARLY_HINTS=false``,
each with its own Redis and certificate, each reached through a latency relay
(``harness.relay.Relay``: added RTT and a bandwidth cap in each direction). Headless
Chromium (Debian's, through Playwright) trusts both certificates by their key
(``--ignore-certificate-errors-spki-list``: over a certificate error Chromium
would not reuse hinted files) and loads the page in a fresh context (empty
cache) each time, the two servers taking turns. A few navigations per server
first, not counted, let the app learn the page's hints.

Prints, per server: when the HTML was received (median), median first
contentful paint and load event (ms after the navigation started) with their range; in how many navigations every static
file of the page was fetched because of the 103 (Resource Timing
``initiatorType`` 'early-hints'); and in how many a static file was downloaded
twice (counted in the servers' access logs). Everything it starts is stopped,
by process group, on the way out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for harness/, when run as a script

from harness.chromium import launch_chromium  # noqa: E402
from harness.processes import find_binary, stop_group  # noqa: E402
from harness.relay import Relay  # noqa: E402
from harness.tls import spki_sha256  # noqa: E402

URL_LINE = "Flask-Firehose demo: "
MEASURE_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    fcp: fcp ? fcp.startTime : null,
    html: nav.responseEnd,
    load: nav.loadEventEnd,
    protocol: nav.nextHopProtocol,
    resources: performance.getEntriesByType('resource').map((e) => [e.name, e.initiatorType]),
  };
}"""


_GUNICORN_LINE = re.compile(r'"GET (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


#: The demo panel's own script: loaded after the page on purpose, never hinted,
#: so it is left out of what is measured.
PANEL_SCRIPT = "/static/js/panel.js"


def served(logs: list[Path]) -> list[str]:
    """Static files answered 200, in Caddy's JSON access log or gunicorn's
    (``%(h)s "%(r)s" %(s)s %(B)s``, infra/gunicorn.conf.py)."""
    targets = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if line.startswith("{"):
                entry = json.loads(line)
                target, status = str(entry.get("request", {}).get("uri", "")), int(entry.get("status", 0))
            elif match := _GUNICORN_LINE.search(line):
                target, status = match["target"], int(match["status"])
            else:
                continue
            if status == 200 and target.startswith("/static/") and not target.startswith(PANEL_SCRIPT):
                targets.append(target)
    return targets


@dataclass
class Server:
    """One running demo (``python -m demo.serve``) and what was measured on it."""

    label: str
    url: str  # through the relay
    spki: str
    logs: list[Path]
    html: list[float] = field(default_factory=list)
    fcp: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    all_hinted: int = 0
    twice: int = 0


@contextmanager
def demo(front: str, data: Path, env: dict[str, str], seconds: float = 60.0) -> Iterator[str]:
    """Run ``python -m demo.serve``; yield its URL once it prints it (it answers then)."""
    data.mkdir(parents=True, exist_ok=True)
    log = data / "serve.log"
    command = [sys.executable, "-m", "demo.serve", "--front", front, "--data", str(data)]
    environment = {**os.environ, "FIREHOSE_ACCESS_LOG": str(data / "gunicorn-access.log"), **env}
    environment.pop("PORT", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=REPO, start_new_session=True
        )
    try:
        deadline = time.monotonic() + seconds
        while True:
            lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith(URL_LINE)]
            if lines:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield lines[0].removeprefix(URL_LINE).strip()
    finally:
        # serve.py stops what it started (gunicorn, Caddy, Redis) when it gets SIGTERM.
        stop_group(process, timeout=20)


def navigate(browser: Any, server: Server, path: str, record: bool) -> None:
    """Load *path* in a fresh browser context; record the figures if *record*."""
    before = len(served(server.logs))
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(server.url + path, wait_until="load")
        if response is None or response.status != 200:
            raise RuntimeError(f"{server.url + path}: {response.status if response else 'no response'}")
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0", timeout=10_000)
        page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=10_000)
        figures = page.evaluate(MEASURE_JS)
    finally:
        context.close()
    if figures["protocol"] != "h2":
        raise RuntimeError(f"{server.label}: the page came over {figures['protocol']!r}, not HTTP/2")
    if not record:
        return
    server.html.append(float(figures["html"]))
    server.fcp.append(float(figures["fcp"]))
    server.load.append(float(figures["load"]))
    # A file the page uses twice (the logo as <img> and as the icon) has two entries.
    kinds: dict[str, set[str]] = {}
    for name, kind in figures["resources"]:
        if "/static/" in name and PANEL_SCRIPT not in name:
            kinds.setdefault(name, set()).add(kind)
    server.all_hinted += bool(kinds) and all("early-hints" in found for found in kinds.values())
    time.sleep(0.3)  # servers log a response once it is written
    downloads = served(server.logs)[before:]
    server.twice += len(set(downloads)) < len(downloads)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.0f} [{min(values):.0f}-{max(values):.0f}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--front", choices=("caddy", "gunicorn"), default="caddy")
    parser.add_argument("--path", default="/report", help="the page to load (default /report, the slow view)")
    parser.add_argument("--navigations", type=int, default=10, help="counted navigations per server")
    parser.add_argument("--warmup", type=int, default=3, help="navigations per server first, not counted")
    parser.add_argument("--rtt", type=float, default=100.0, help="added round-trip time, ms")
    parser.add_argument("--mbps", type=float, default=10.0, help="bandwidth each way, Mbit/s (0: no cap)")
    parser.add_argument("--data", type=Path, default=REPO / "var" / "measure-demo", help="certificates and logs")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the demos on SIGTERM too

    bits = args.mbps * 1e6 if args.mbps > 0 else None
    variants = {"103 on": {}, "103 off": {"FLASK_FIREHOSE_EARLY_HINTS": "false"}}
    with ExitStack() as stack:
        servers = []
        for label, env in variants.items():
            data = args.data / label.replace(" ", "-")
            url = stack.enter_context(demo(args.front, data, env))
            port = int(url.rstrip("/").rsplit(":", 1)[1])
            relay = stack.enter_context(Relay(("127.0.0.1", port), args.rtt / 1000, bits_per_second=bits))
            spki = spki_sha256(data / "certs" / "chain.pem")
            logs = [data / "caddy" / "access.log", data / "gunicorn-access.log"]
            servers.append(Server(label, f"https://127.0.0.1:{relay.port}", spki, logs))
        trusted = ",".join(server.spki for server in servers)
        browser = stack.enter_context(launch_chromium(find_binary("chromium", "chromium"), trusted))
        for round_ in range(args.warmup + args.navigations):
            # Interleaved, the order alternating from round to round.
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                navigate(browser, server, args.path, record=round_ >= args.warmup)
    bandwidth = f"{args.mbps:g} Mbit/s" if bits else "no bandwidth cap"
    print(f"{args.path} behind {args.front}, RTT +{args.rtt:g} ms, {bandwidth}, {args.navigations} navigations each")
    columns = ("HTML end", "FCP ms median [range]", "load ms median [range]", "all via 103", "fetched 2x")
    print(f"{'':8} {columns[0]:>9} {columns[1]:>24} {columns[2]:>24} {columns[3]:>12} {columns[4]:>10}")
    for server in servers:
        n = len(server.fcp)
        print(
            f"{server.label:8} {statistics.median(server.html):9.0f}"
            f" {_summary(server.fcp):>24} {_summary(server.load):>24}"
            f" {f'{server.all_hinted}/{n}':>12} {f'{server.twice}/{n}':>10}"
        )
    on, off = servers
    fcp_gain = statistics.median(off.fcp) - statistics.median(on.fcp)
    load_gain = 1 - statistics.median(on.load) / statistics.median(off.load)
    print(f"with the 103: FCP {fcp_gain:.0f} ms sooner ({fcp_gain / args.rtt:.2f} RTT), load {load_gain:.0%} sooner")


if __name__ == "__main__":
    main()
