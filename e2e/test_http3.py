"""The HTTP/3 row of the deployment matrix: Chromium and Firefox over QUIC to
Caddy (infra/caddy/Caddyfile, as ``make demo`` runs it) in front of a Flask app
under gunicorn that sends a 103, and each browser using that 103.

The app (e2e/http3_app.py) declares its stylesheet with ``@early_hints`` and
thinks (:data:`THINK`); Caddy serves ``/static`` itself and forwards the app's 103.
Chromium is forced onto QUIC for the origin (``--origin-to-force-quic-on``; QUIC
is off in every other Chromium the suite starts) and trusts the test
certificate by its key (``--ignore-certificate-errors-spki-list``; with
``--ignore-certificate-errors`` instead, its QUIC handshake fails). Firefox
trusts the test CA and is told the origin's HTTP/3 address as if by
``Alt-Svc`` (its testing pref).

Every navigation goes through a UDP relay adding 100 ms of round trip
(harness/udp_relay.py), as the HTTP/2 browser tests go through harness/relay.py:
over TCP, Chromium drops a 103 that arrives in the same millisecond as its
request finished sending. Over QUIC on plain loopback it used the 103 in every
navigation measured (docs/deployment-check.rst, "HTTP/3"), but the tests do not
lean on that.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flask_firehose.testing import parse_link_headers
from harness.chromium import CHROMIUM_FLAGS
from harness.firefox import Firefox, marionette_available
from harness.fronts import running_caddy
from harness.h2client import fetch
from harness.processes import REPO, MissingComponent, find_binary, free_port, start
from harness.tls import Tls
from harness.udp_relay import UdpRelay

from .http3_app import STYLESHEET, write_static

pytestmark = pytest.mark.integration

RTT = 0.1
# The view's think time: long enough that a busy machine's browser still asks for
# the hinted file before the page is answered (0.3 s fell short once, at a load of 11 on 2 cores).
THINK = 0.8
NAVIGATIONS = 3
FIREFOX_NAVIGATIONS = 2  # about 10 s each here
CSS_PATH = STYLESHEET.split("?", 1)[0]
NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]


@dataclass(frozen=True)
class Logged:
    """One request in Caddy's JSON access log."""

    proto: str
    uri: str
    status: int
    remote_port: str  # one QUIC connection (through the relay: one flow) per port
    started: float  # Unix time
    ended: float  # Unix time, when Caddy logged it

    @property
    def path(self) -> str:
        return self.uri.split("?", 1)[0]


@dataclass(frozen=True)
class Http3Stack:
    """Caddy on 127.0.0.1 (TCP and UDP, the same port) in front of e2e/http3_app.py."""

    port: int
    run: Path

    def caddy_requests(self) -> list[Logged]:
        log = self.run / "access.log"
        found = []
        for line in log.read_text().splitlines() if log.exists() else []:
            entry = json.loads(line)
            request = entry["request"]
            ended, duration = float(entry["ts"]), float(entry["duration"])
            found.append(
                Logged(
                    request["proto"],
                    request["uri"],
                    int(entry["status"]),
                    str(request["remote_port"]),
                    ended - duration,
                    ended,
                )
            )
        return found

    def views(self) -> list[dict[str, Any]]:
        """What the app logged of each page it answered: when its view started and answered."""
        log = self.run / "views.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def mark(self) -> tuple[int, int]:
        """How many requests Caddy and the app logged so far: what a test reads after."""
        return len(self.caddy_requests()), len(self.views())

    def caddy_log(self) -> str:
        log = self.run / "caddy.log"
        return log.read_text(errors="replace") if log.exists() else ""


@pytest.fixture(scope="module")
def http3_stack(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Http3Stack]:
    run = tmp_path_factory.mktemp("http3")
    app_port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{app_port}",
        "FIREHOSE_WORKERS": "1",
        "HTTP3_THINK": str(THINK),
        "HTTP3_REQUEST_LOG": str(run / "views.jsonl"),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")]
    with ExitStack() as stack:
        stack.enter_context(start([*command, "e2e.http3_app:create_app()"], app_port, run / "app.log", env))
        caddy = stack.enter_context(running_caddy(tls, run, app_port, write_static(run / "static")))
        yield Http3Stack(caddy.port, run)


@pytest.fixture(scope="module")
def relay(http3_stack: Http3Stack) -> Iterator[UdpRelay]:
    with UdpRelay(("127.0.0.1", http3_stack.port), RTT, max_lifetime=300) as running:
        yield running


@pytest.fixture(scope="module")
def quic_chromium(tls: Tls, relay: UdpRelay, playwright: Any) -> Iterator[Any]:
    """Headless Chromium speaking QUIC, and only QUIC, to the relay's origin
    (launched from the run's one Playwright driver)."""
    executable = find_binary("chromium", "chromium")
    flags = [flag for flag in CHROMIUM_FLAGS if flag != "--disable-quic"]
    flags += [
        "--enable-quic",
        f"--origin-to-force-quic-on=127.0.0.1:{relay.port}",
        f"--ignore-certificate-errors-spki-list={tls.spki_sha256}",
    ]
    browser = playwright.chromium.launch(executable_path=executable, args=flags)
    try:
        yield browser
    finally:
        browser.close()


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll *check*: Caddy logs a request once it is answered."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


# -- the UDP relay ------------------------------------------------------------------


def test_the_udp_relay_delays_each_way_and_keeps_clients_apart() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        with UdpRelay(server.getsockname(), rtt=0.2, max_lifetime=30) as relay:
            clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
            try:
                peers = []
                for number, client in enumerate(clients):
                    client.settimeout(5)
                    sent = time.monotonic()
                    client.sendto(b"ping %d" % number, ("127.0.0.1", relay.port))
                    data, peer = server.recvfrom(100)
                    assert data == b"ping %d" % number
                    assert time.monotonic() - sent >= 0.09  # half the round trip up
                    peers.append(peer)
                    server.sendto(b"pong %d" % number, peer)
                    assert client.recvfrom(100)[0] == b"pong %d" % number
                    assert time.monotonic() - sent >= 0.19  # and half down
                # One socket towards the server per client, answers routed back by it.
                assert len(set(peers)) == 2
                assert relay.datagrams == [2, 2]
            finally:
                for client in clients:
                    client.close()


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com"])
def test_the_udp_relay_refuses_an_upstream_off_loopback(host: str) -> None:
    with pytest.raises(ValueError, match=repr(host)):
        UdpRelay((host, 443))


# -- without a browser: Caddy offers HTTP/3 ------------------------------------------


def test_caddy_listens_for_http3_and_advertises_it(http3_stack: Http3Stack, tls: Tls) -> None:
    assert "enabling HTTP/3 listener" in http3_stack.caddy_log()
    advertised = f'h3=":{http3_stack.port}"'  # the same port number, over UDP
    # Over HTTP/2, Caddy's own answers tell browsers where its HTTP/3 is.
    static = fetch(http3_stack.port, STYLESHEET, ca_file=tls.ca_file)
    assert static.status == 200
    assert advertised in ", ".join(static.header_values("alt-svc")), static.headers
    # A proxied page whose app sent a 103: Caddy wrote its Alt-Svc (and its
    # Server) into the 103, and the final response no longer has them.
    page = fetch(http3_stack.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    assert page.status == 200
    hints = [info for info in page.informational if info.status == 103]
    assert len(hints) == 1, page.informational
    informational = dict(hints[0].headers)
    assert advertised in informational.get("alt-svc", ""), hints[0].headers
    hinted = parse_link_headers([value for name, value in hints[0].headers if name == "link"])
    assert [link.target for link in hinted] == [STYLESHEET]
    assert page.header_values("alt-svc") == [], page.headers


# -- Chromium over QUIC ---------------------------------------------------------------


def _navigate(browser: Any, url: str) -> dict[str, Any]:
    """One navigation in a fresh context (empty cache, new QUIC connection):
    the navigation's and the stylesheet's Performance entries."""
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load", timeout=20_000)
        assert response is not None and response.status == 200, (url, response and response.status)
        found: dict[str, Any] = page.evaluate(
            """(path) => ({
                navigation: performance.getEntriesByType('navigation')[0].toJSON(),
                stylesheet: performance.getEntriesByType('resource')
                    .filter((entry) => new URL(entry.name).pathname === path)
                    .map((entry) => entry.toJSON()),
            })""",
            CSS_PATH,
        )
    finally:
        context.close()
    return found


def test_chromium_over_http3_uses_the_103(quic_chromium: Any, http3_stack: Http3Stack, relay: UdpRelay) -> None:
    version = quic_chromium.version
    url = f"https://127.0.0.1:{relay.port}/"
    before = http3_stack.mark()
    for number in range(NAVIGATIONS):
        found = _navigate(quic_chromium, url)
        navigation, stylesheet = found["navigation"], found["stylesheet"]
        where = f"Chromium {version}, navigation {number + 1}: {found}"
        # The page came over HTTP/3 ...
        assert navigation["nextHopProtocol"] == "h3", where
        # ... its 103 arrived before the page's headers ...
        assert 0 < navigation["firstInterimResponseStart"] < navigation["finalResponseHeadersStart"], where
        # ... and the stylesheet was fetched because of it, over HTTP/3, once.
        assert [(entry["initiatorType"], entry["nextHopProtocol"]) for entry in stylesheet] == [
            ("early-hints", "h3")
        ], where
    assert relay.datagrams[0] > 0 and relay.datagrams[1] > 0, "Chromium did not go through the relay"
    _assert_fetched_during_the_think(http3_stack, before, NAVIGATIONS)


# -- Firefox over QUIC ----------------------------------------------------------------


@pytest.fixture(scope="module")
def quic_firefox(
    tls: Tls, relay: UdpRelay, http3_stack: Http3Stack, tmp_path_factory: pytest.TempPathFactory
) -> Firefox:
    """Headless Firefox ESR (harness/firefox.py: a fresh profile per navigation,
    the test CA trusted) told that Caddy's origin has HTTP/3 at the relay."""
    executable = find_binary("firefox-esr", "firefox-esr")
    certutil = find_binary("certutil", "libnss3-tools")
    if not marionette_available():
        raise MissingComponent(
            "marionette-driver is missing: pip install the PyPI package 'marionette-driver' (make devenv)"
        )
    prefs: dict[str, bool | int | str] = {
        "network.http.http3.enable": True,
        # As if the origin had sent Alt-Svc: h3 at the relay's port, used from the first request.
        "network.http.http3.alt-svc-mapping-for-testing": f"127.0.0.1;h3=:{relay.port}",
        "network.http.http3.force-use-alt-svc-mapping-for-testing": True,
        # Firefox turns HTTP/3 off when the NSS database holds a CA of its user's (the test CA).
        "network.http.http3.disable_when_third_party_roots_found": False,
        # Firefox races a TCP connection after 100 ms without an HTTP/3 answer; the
        # relay's 100 ms round trip would let TCP win (it went straight to Caddy).
        "network.http.http3.backup_timer_delay": 10_000,
    }
    return Firefox.prepare(executable, certutil, tls.ca_file, Path(tmp_path_factory.mktemp("firefox-h3")), prefs)


def test_firefox_over_http3_uses_the_103(quic_firefox: Firefox, http3_stack: Http3Stack, relay: UdpRelay) -> None:
    before = http3_stack.mark()
    sent_before = relay.datagrams[0]
    for number in range(FIREFOX_NAVIGATIONS):
        page = quic_firefox.navigate(f"https://127.0.0.1:{http3_stack.port}/")
        where = f"Firefox navigation {number + 1}: {page}"
        assert page.status == 200 and page.protocol == "h3", where
        assert [entry.initiator_type for entry in page.entries if entry.path == CSS_PATH] == ["early-hints"], where
    assert relay.datagrams[0] > sent_before, "Firefox did not go through the relay"
    _assert_fetched_during_the_think(http3_stack, before, FIREFOX_NAVIGATIONS)


# -- what Caddy and the app saw --------------------------------------------------------


def _assert_fetched_during_the_think(stack: Http3Stack, before: tuple[int, int], navigations: int) -> None:
    """Each of the last *navigations* was one QUIC connection that asked Caddy
    for the page and then, while the view still thought, for the stylesheet,
    exactly once."""
    caddy_before, views_before = before

    def logged() -> list[Logged]:
        return [r for r in stack.caddy_requests()[caddy_before:] if r.path in {"/", CSS_PATH}]

    _wait_for(lambda: len(logged()) >= 2 * navigations)
    connections: dict[str, list[Logged]] = {}
    for request in logged():
        connections.setdefault(request.remote_port, []).append(request)
    assert len(connections) == navigations, logged()
    views = stack.views()[views_before:]
    in_order = sorted(connections.values(), key=lambda requests: requests[0].started)
    for requests, view in zip(in_order, views, strict=True):
        assert sorted((r.path, r.proto, r.status) for r in requests) == [
            ("/", "HTTP/3.0", 200),
            (CSS_PATH, "HTTP/3.0", 200),
        ], requests
        page = next(r for r in requests if r.path == "/")
        css = next(r for r in requests if r.path == CSS_PATH)
        # Asked for after the page, and served before the view answered.
        late = f"stylesheet {css.started - page.started:.3f} s after the page, view {view}: {requests}"
        assert page.started < css.started, late
        assert css.ended < view["answered"], late
        assert view["answered"] - view["started"] >= THINK * 0.9, view
