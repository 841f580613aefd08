"""A page that never calls ``push()`` gets its LCP image in the 103, learned
from real visits in Chromium.

e2e/lcp_app.py runs under gunicorn (TLS + HTTP/2, ``wsgi.early_hints``) with
nothing but ``Firehose(app)``. Twelve visits in Chromium, three at each of the
four viewport classes, each through a 100 ms relay of its own that connects
from an address of its own (the server tells clients apart by address, and
takes one report per client at a time), teach it:

* from the page's own HTML: its stylesheet and its deferred script;
* from the visitors' reports: the hero image, the LCP at every width.

Then an HTTP/2 client's 103 holds, in this order, the stylesheet and the hero
as ``rel=preload; as=image; fetchpriority=high`` (the deferred script, learned
too, stays out of a 103 that carries the LCP image); a new visit in Chromium
takes both from the 103 (Resource Timing says ``early-hints``) and downloads
each file once; and the sampled script is no longer put into the page.
"""

from __future__ import annotations

import json
import struct
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flask_firehose.testing import ParsedLink, parse_link_header
from harness.h2client import fetch
from harness.processes import REPO, Running, free_port, start
from harness.relay import Relay
from harness.tls import Tls

from .lcp_app import write_static

pytestmark = pytest.mark.integration

RTT = 0.1
NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
#: One width in each viewport class (breakpoints 480, 600, 782).
WIDTHS = (390, 560, 700, 1280)
#: Distinct visitors per class the agreement needs.
VISITS_PER_CLASS = 3
FILES = ("/static/lcp.css", "/static/hero.png", "/static/lcp.js")


def _noise_png(width: int, height: int) -> bytes:
    """A PNG of pseudo-random pixels (it does not compress: ~3 bytes a pixel)."""
    rows = []
    state = 12345
    for _ in range(height):
        row = bytearray([0])
        for _ in range(width * 3):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            row.append(state >> 23)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class LcpServer:
    port: int
    app: Running
    request_log: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lcp_server(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LcpServer]:
    run = tmp_path_factory.mktemp("lcp")
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "LCP_STATIC": str(write_static(run / "static", _noise_png(260, 256))),
        "LCP_REQUEST_LOG": str(run / "requests.jsonl"),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")]
    with start([*command, "e2e.lcp_app:create_app()"], port, run / "app.log", env) as app:
        yield LcpServer(port, app, run / "requests.jsonl")


def _links(headers: list[tuple[str, str]]) -> list[ParsedLink]:
    return [link for name, value in headers if name == "link" for link in parse_link_header(value)]


def _wait_for(server: LcpServer, since: int, accept: Any, seconds: float = 8.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [entry for entry in server.requests()[since:] if accept(entry)]
        if found:
            return found
        time.sleep(0.05)
    return []


def _visit(chromium: Any, server: LcpServer, port: int, source: str, width: int) -> tuple[str, list[dict[str, Any]]]:
    """One visit from *source* at *width*, through a relay on *port* (every
    visit on one port: one origin, so one learned site): load, let the LCP
    settle, click (which ends the LCP and sends the report); the page's HTML
    and the reports the server answered."""
    before = len(server.requests())
    with Relay(("127.0.0.1", server.port), RTT, source=source, port=port, max_lifetime=60) as relay:
        context = chromium.new_context(viewport={"width": width, "height": 800})
        try:
            page = context.new_page()
            response = page.goto(f"https://127.0.0.1:{relay.port}/", wait_until="load")
            assert response is not None and response.status == 200
            html = response.text()
            page.wait_for_timeout(400)
            page.mouse.click(2, 2)
            reports = _wait_for(
                server,
                before,
                lambda e: e["method"] == "POST" and e["path"] == "/_firehose/lcp" and e["remote"] == source,
                seconds=4.0 if "/_firehose/lcp.js" in html else 0.5,
            )
        finally:
            context.close()
    return html, reports


def test_a_page_that_never_pushes_gets_its_lcp_image_in_the_103(chromium: Any, lcp_server: LcpServer, tls: Tls) -> None:
    # Real visits: three distinct visitors in each viewport class.
    statuses = []
    number = 10
    port = free_port()
    for width in WIDTHS:
        for _ in range(VISITS_PER_CLASS):
            html, reports = _visit(chromium, lcp_server, port, f"127.0.0.{number}", width)
            number += 1
            assert "/_firehose/lcp.js" in html, "every class still sampled: the script is in the page"
            statuses.append([report["status"] for report in reports])
    assert statuses == [[204]] * (len(WIDTHS) * VISITS_PER_CLASS), "one accepted report per visit"

    # The 103 now carries the stylesheet, the hero at high priority, then the
    # deferred script (learned hints are re-read every few seconds). Asked as
    # the browsers asked: the same site (host and port).
    deadline = time.monotonic() + 15
    while True:
        with Relay(("127.0.0.1", lcp_server.port), 0.0, port=port, max_lifetime=60):
            exchange = fetch(port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
        (info,) = exchange.informational
        hinted = _links(info.headers)
        if any(link.target == "/static/hero.png" for link in hinted) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [(link.target, link.get("as"), link.get("fetchpriority")) for link in hinted] == [
        ("/static/lcp.css", "style", None),
        ("/static/hero.png", "image", "high"),
    ]
    # The final header carries the hero too (a browser without 103s still gets it early).
    final = {link.target: link for link in _links(exchange.headers)}
    assert final["/static/hero.png"].get("fetchpriority") == "high"
    # Every class agreed: the page is no longer sampled.
    assert b"/_firehose/lcp.js" not in exchange.body

    # A new visitor's browser takes the hero from the 103, and each file once.
    before = len(lcp_server.requests())
    with Relay(("127.0.0.1", lcp_server.port), RTT, source="127.0.0.99", port=port, max_lifetime=60) as relay:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            page.goto(f"https://127.0.0.1:{relay.port}/", wait_until="load")
            entries = page.evaluate(
                "performance.getEntriesByType('resource').map((e) => [new URL(e.name).pathname, e.initiatorType])"
            )
            lcp = page.evaluate(
                """() => new Promise((resolve) => new PerformanceObserver((list) => {
                     const all = list.getEntries(); resolve(all[all.length - 1].url);
                   }).observe({type: 'largest-contentful-paint', buffered: true}))"""
            )
        finally:
            context.close()
    time.sleep(0.3)
    initiators = {path: kind for path, kind in entries}
    early = FILES[:2]  # the deferred script is left for the page to find
    assert {path: initiators.get(path) for path in early} == dict.fromkeys(early, "early-hints")
    assert initiators.get("/static/lcp.js") == "script"
    served = [e["path"] for e in lcp_server.requests()[before:] if e["status"] == 200 and e["method"] == "GET"]
    assert {path: served.count(path) for path in FILES} == dict.fromkeys(FILES, 1)
    assert str(lcp).endswith("/static/hero.png")


def test_the_report_endpoint_refuses_a_cross_site_post(lcp_server: LcpServer, tls: Tls) -> None:
    """Over the wire, as an attacker's page would send it: refused, not a 500."""
    exchange = fetch(
        lcp_server.port,
        "/_firehose/lcp",
        ca_file=tls.ca_file,
        method="POST",
        extra_headers=[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-dest", "empty"),
        ],
    )
    assert 400 <= exchange.status < 500
