"""The LCP script (``flask_firehose/_lcp/script.js``) alone, in Chromium.

A small app (``create_app`` below, under gunicorn over TLS) serves the script
at ``/_firehose/lcp.js`` as the extension does, pages that carry its tag with
a token made by ``_lcp/tokens.py``, a ~200 kB hero image, and a report
endpoint that logs each body and its request headers (one JSON line each,
``LCP_REPORT_LOG``), as it logs the CSP violation reports Chromium sends to
``/csp``. Chromium (390 or 1280 px wide) loads a page, lets its LCP settle,
then is clicked and navigated away, or only navigated away:

* a page whose LCP is the hero sends exactly one report: the page's token,
  ``w`` the viewport's width, ``u`` the hero's absolute URL, ``v`` true; a
  same-origin ``application/json`` POST carrying the ``Sec-Fetch-*`` and
  ``Origin`` the report view checks; the page gains no global name; when
  ``sendBeacon`` refuses, the same report goes by ``fetch``;
* a page whose LCP is text reports ``u`` ``""``;
* a page whose token says the viewport's class is done sends nothing (the
  same token reports at a width whose class is not done);
* under ``script-src 'self'; connect-src 'self'`` (and under a nonce) the
  report arrives and Chromium reports no violation, while a policy that
  forbids the connection (``connect-src 'none'``) gets a violation report and
  no LCP report: violation reports do arrive when there is one;
* a page loaded hidden, and a page prerendered (over the DevTools protocol,
  ``harness/cdp.py``) then shown by a click, send nothing; the same click
  without the prerender reports.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, abort, request

from flask_firehose._lcp import tokens
from harness.cdp import Tab
from harness.processes import free_port, start
from harness.tls import Tls

pytestmark = pytest.mark.integration

SECRET = "lcp-script-test-secret"
CONTEXT = "lcp-script-test"
BREAKPOINTS = (480, 600, 782)
NONCE = "bm9uY2UtZm9yLWxjcA"
HEIGHT = 800


def _png(width: int, height: int, noisy_rows: int) -> bytes:
    """An RGB PNG: *noisy_rows* rows of noise (incompressible), the rest grey."""
    noise = random_bytes(noisy_rows * width * 3)
    rows = [b"\x00" + noise[n * width * 3 : (n + 1) * width * 3] for n in range(noisy_rows)]
    rows += [b"\x00" + b"\x80" * (width * 3)] * (height - noisy_rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def random_bytes(size: int) -> bytes:
    """Noise that is the same on every run (no compression squeezes it)."""
    out, state = bytearray(), 0x2545F491
    while len(out) < size:
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out += (state >> 24).to_bytes(5, "little")
    return bytes(out[:size])


#: The hero: 1200 x 700, about 200 kB.
HERO = _png(1200, 700, 56)

_POLICIES = {
    "strict": "script-src 'self'; connect-src 'self'; report-uri /csp",
    "nonce": f"script-src 'nonce-{NONCE}'; connect-src 'self'; report-uri /csp",
    "blocked": "script-src 'self'; connect-src 'none'; report-uri /csp",
}


def _page(kind: str, token: str, nonce: str | None) -> str:
    nonce_attr = f' nonce="{nonce}"' if nonce else ""
    if kind == "text":
        body = "<h1>Words only</h1>" + "<p>" + "A paragraph of plain text that fills the view. " * 60 + "</p>"
    else:
        # Attributes only: no inline style, which the strict policies would refuse.
        body = '<h1>Hero</h1><img src="/hero.png" width="1200" height="700" alt="">'
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<script src="/_firehose/lcp.js" async data-firehose-lcp="{token}"{nonce_attr}></script>'
        f"</head><body>{body}</body></html>"
    )


def create_app() -> Flask:
    """The app gunicorn serves; each report and CSP report is logged to ``LCP_REPORT_LOG``."""
    log = Path(os.environ["LCP_REPORT_LOG"])
    lock = threading.Lock()
    script = resources.files("flask_firehose._lcp").joinpath("script.js").read_bytes()
    app = Flask(__name__)

    def record(kind: str) -> Response:
        entry = {"kind": kind, "body": request.get_data(as_text=True), "headers": dict(request.headers)}
        with lock, log.open("a") as out:
            out.write(json.dumps(entry) + "\n")
        return Response(status=204)

    @app.get("/_firehose/lcp.js")
    def lcp_script() -> Response:
        return Response(script, mimetype="text/javascript")

    @app.post("/_firehose/lcp")
    def lcp_report() -> Response:
        return record("lcp")

    @app.post("/csp")
    def csp_report() -> Response:
        return record("csp")

    @app.get("/hero.png")
    def hero() -> Response:
        return Response(HERO, mimetype="image/png")

    @app.get("/start")
    def start_page() -> Response:
        # A link to the hero page, prerendered at once with ?prerender (rules inline: no policy here).
        rules = {"prerender": [{"source": "list", "urls": ["/hero"], "eagerness": "immediate"}]}
        script = f'<script type="speculationrules">{json.dumps(rules)}</script>' if "prerender" in request.args else ""
        return Response(
            f'<!doctype html><html><head>{script}</head><body><a href="/hero" id="go">the hero page</a></body></html>',
            mimetype="text/html",
        )

    @app.get("/<kind>")
    def page(kind: str) -> Response:
        if kind not in ("hero", "text", *_POLICIES):
            abort(404)
        done = {int(n) for n in request.args.get("done", "").split(",") if n}
        token = tokens.issue(SECRET, CONTEXT, "page " + kind, ["/hero.png"], BREAKPOINTS, done)
        response = Response(_page(kind, token, NONCE if kind == "nonce" else None), mimetype="text/html")
        if kind in _POLICIES:
            response.headers["Content-Security-Policy"] = _POLICIES[kind]
        return response

    return app


@dataclass(frozen=True)
class Site:
    origin: str
    log: Path

    def entries(self, kind: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        found = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in found if entry["kind"] == kind]


@pytest.fixture(scope="module")
def site(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    run = tmp_path_factory.mktemp("lcp-script")
    port = free_port()
    log = run / "reports.jsonl"
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread", "--workers", "1", "--threads", "16",
        "--certfile", tls.cert_file, "--keyfile", tls.key_file,
        "e2e.test_lcp_script:create_app()",
    ]  # fmt: skip
    with start(command, port, run / "app.log", {"LCP_REPORT_LOG": str(log)}):
        yield Site(f"https://127.0.0.1:{port}", log)


def _until(found: Callable[[], list[dict[str, Any]]], count: int, seconds: float) -> list[dict[str, Any]]:
    """What *found* returns once it holds *count* entries (or after *seconds*)."""
    deadline = time.monotonic() + seconds
    while len(found()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found()


@dataclass
class Visit:
    token: str
    reports: list[dict[str, Any]]
    violations: list[dict[str, Any]]
    console: list[str]
    globals: list[str]


def _visit(
    chromium: Any, site: Site, path: str, width: int, end: str, expect: int, init: str = "", names: bool = False
) -> Visit:
    """Load *path* at *width* (running *init* first in the page), let the
    LCP settle, then end the visit as a user would (``click`` then leave, or
    ``leave``); the reports it sent (and with *names*, the window properties
    the page has that a page of the origin without the script lacks)."""
    reports_before, violations_before = len(site.entries("lcp")), len(site.entries("csp"))
    context = chromium.new_context(viewport={"width": width, "height": HEIGHT})
    if init:
        context.add_init_script(init)
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        response = page.goto(site.origin + path, wait_until="load")
        assert response is not None and response.status == 200
        token = page.get_attribute("script[data-firehose-lcp]", "data-firehose-lcp")
        assert token
        # The script ran (its request done) and the page painted its LCP.
        page.wait_for_function(
            "() => performance.getEntriesByType('resource').some(e => e.name.endsWith('/_firehose/lcp.js'))"
        )
        page.evaluate(
            """() => new Promise(done => new PerformanceObserver((list, observer) => {
                observer.disconnect(); done();
            }).observe({type: 'largest-contentful-paint', buffered: true}))"""
        )
        page.wait_for_timeout(200)
        added: list[str] = []
        if names:
            own = "Object.getOwnPropertyNames(window)"
            blank = context.new_page()  # the same origin, no script
            blank.goto(site.origin + "/start")
            added = sorted(set(page.evaluate(own)) - set(blank.evaluate(own)))
            blank.close()
        if end == "click":
            page.mouse.click(5, HEIGHT - 5)  # a trusted pointerdown, then click
            _until(lambda: site.entries("lcp")[reports_before:], expect, 5)
        page.goto("about:blank")  # pagehide, visibility hidden
        _until(lambda: site.entries("lcp")[reports_before:], expect, 5)
    finally:
        context.close()
    time.sleep(0.3)  # anything sent late
    return Visit(token, site.entries("lcp")[reports_before:], site.entries("csp")[violations_before:], console, added)


def _check_report(visit: Visit, site: Site, width: int, url: str) -> None:
    assert len(visit.reports) == 1, visit.reports
    report = visit.reports[0]
    body = json.loads(report["body"])
    assert body == {"t": visit.token, "w": width, "u": url, "v": True}
    payload = tokens.verify(SECRET, CONTEXT, body["t"])  # the token came back verbatim
    assert tokens.viewport_class(width, payload.breakpoints) not in payload.done
    headers = {name.lower(): value for name, value in report["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["sec-fetch-site"] == "same-origin" and headers["sec-fetch-dest"] == "empty"
    assert headers["origin"] == site.origin
    assert not visit.violations, visit.violations


@pytest.mark.parametrize(("width", "end"), [(390, "click"), (1280, "leave")])
def test_the_hero_is_reported_once(chromium: Any, site: Site, width: int, end: str) -> None:
    visit = _visit(chromium, site, "/hero", width, end, 1, names=True)
    _check_report(visit, site, width, site.origin + "/hero.png")
    assert visit.globals == []  # the script leaks no name


def test_a_refused_beacon_falls_back_to_fetch(chromium: Any, site: Site) -> None:
    """``sendBeacon`` refuses (its queue is full): the same report goes by ``fetch`` with ``keepalive``."""
    refused = "Navigator.prototype.sendBeacon = () => false;"
    visit = _visit(chromium, site, "/hero", 390, "click", 1, init=refused)
    _check_report(visit, site, 390, site.origin + "/hero.png")


def test_a_text_lcp_reports_no_image(chromium: Any, site: Site) -> None:
    visit = _visit(chromium, site, "/text", 1280, "click", 1)
    _check_report(visit, site, 1280, "")


def test_a_done_class_sends_nothing(chromium: Any, site: Site) -> None:
    """The token says 783 px and wider (class 3) is done: 1280 is silent, 390 reports."""
    assert _visit(chromium, site, "/hero?done=3", 1280, "click", 0).reports == []
    visit = _visit(chromium, site, "/hero?done=3", 390, "click", 1)
    _check_report(visit, site, 390, site.origin + "/hero.png")


@pytest.mark.parametrize(("kind", "width"), [("strict", 390), ("nonce", 1280)])
def test_a_strict_policy_lets_it_report(chromium: Any, site: Site, kind: str, width: int) -> None:
    visit = _visit(chromium, site, f"/{kind}", width, "click", 1)
    _check_report(visit, site, width, site.origin + "/hero.png")
    assert not [line for line in visit.console if "Content Security Policy" in line], visit.console


def test_a_policy_refusing_the_report_is_seen(chromium: Any, site: Site) -> None:
    """The control: what a violation looks like here, so its absence above means something."""
    visit = _visit(chromium, site, "/blocked", 390, "click", 0)
    assert visit.reports == []
    violations = _until(lambda: site.entries("csp"), 1, 5)
    assert violations, visit.console
    report = json.loads(violations[-1]["body"])["csp-report"]
    assert report["violated-directive"].startswith("connect-src"), report


def test_a_page_loaded_in_the_background_sends_nothing(chromium: Any, site: Site) -> None:
    """The page starts hidden (a background tab, as the page sees it): its
    LCP times say nothing of a visit, so the script stays silent."""
    hidden = "Object.defineProperty(Document.prototype, 'visibilityState', {get: () => 'hidden'});"
    assert _visit(chromium, site, "/hero", 390, "click", 0, init=hidden).reports == []


def _prerendered(tab: Tab, path: str, timeout: float = 10.0) -> str | None:
    """The session of the tab's prerendered page for *path*, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for session, info in tab.pages():
            if info.get("subtype") == "prerender" and info.get("url", "").endswith(path):
                return session
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("prerender", [True, False])
def test_a_prerendered_page_sends_nothing(site: Site, tab: Tab, prerender: bool) -> None:
    """Chromium prerenders the hero page (over the DevTools protocol through
    the tab target, as Playwright cannot), then the link is clicked: the
    visit is shown at once, and its script stays silent. The same visit
    without the prerender reports (the control)."""
    before = len(site.entries("lcp"))
    tab.navigate(site.origin + ("/start?prerender" if prerender else "/start"))
    if prerender:
        session = _prerendered(tab, "/hero")
        assert session is not None, "Chromium did not prerender the hero page"
        assert tab.evaluate("document.prerendering", session=session) is True
    tab.click(*tab.center("#go"))
    tab.wait_until("location.pathname === '/hero' && document.readyState === 'complete'")
    activated = tab.evaluate("performance.getEntriesByType('navigation')[0].activationStart")
    assert (activated > 0) is prerender
    time.sleep(0.3)
    tab.click(5, 5)  # a trusted pointerdown: the LCP is final, a report would go now
    reports = _until(lambda: site.entries("lcp")[before:], 1, 3 if not prerender else 1.5)
    assert len(reports) == (0 if prerender else 1), reports
