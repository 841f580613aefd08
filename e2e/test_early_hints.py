"""103 Early Hints from gunicorn, seen by an HTTP/2 client and by Chromium.

gunicorn serves the demo directly over TLS + HTTP/2 (``--http-protocols h2,h1``)
and passes ``wsgi.early_hints`` to it; the demo's ``/report`` view sleeps
0.5 s, so a 103 sent before the view runs arrives well before the 200.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from flask_firehose.testing import ParsedLink, parse_link_header
from harness.chromium import navigate_fresh
from harness.demo import HintsServer
from harness.h2client import Exchange, fetch
from harness.tls import Tls

pytestmark = pytest.mark.integration

NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]


def _hint_links(exchange: Exchange) -> list[list[ParsedLink]]:
    return [
        [link for name, value in info.headers if name == "link" for link in parse_link_header(value)]
        for info in exchange.informational
        if info.status == 103
    ]


def _paths(links: list[ParsedLink]) -> set[str]:
    return {link.target.split("?")[0] for link in links}


def _assert_early(exchange: Exchange, server: HintsServer) -> None:
    (info,) = exchange.informational
    assert info.status == 103
    # The 103 left before the view's 0.5 s of work; the 200 after it.
    assert exchange.response_at >= server.slow_seconds
    assert exchange.response_at - info.at >= server.slow_seconds * 0.6, (info.at, exchange.response_at)


def test_declared_hints_arrive_while_the_view_runs(hints_server: HintsServer, tls: Tls) -> None:
    exchange = fetch(hints_server.port, "/report", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    assert exchange.status == 200
    _assert_early(exchange, hints_server)
    (links,) = _hint_links(exchange)
    assert "/static/css/report.css" in _paths(links)
    # Chromium ignores a 103 link with a parameter it does not know, nopush included.
    assert all(not link.has("nopush") and link.rels == {"preload"} for link in links)


def test_learned_hints_join_the_103(hints_server: HintsServer, tls: Tls) -> None:
    learned = {"/static/css/main.css", "/static/js/app.js", "/static/fonts/firehose-blocks.woff2"}
    # The endpoint learns from its own responses: a link must have been seen twice.
    for _ in range(2):
        fetch(hints_server.port, "/report", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    exchange = fetch(hints_server.port, "/report", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    _assert_early(exchange, hints_server)
    (links,) = _hint_links(exchange)
    assert learned | {"/static/css/report.css"} <= _paths(links)
    font = next(link for link in links if link.target.startswith("/static/fonts/"))
    assert font.has("crossorigin") and font.get("as") == "font"


@pytest.mark.parametrize("headers", [[("sec-fetch-mode", "cors")], [("hx-request", "true")]])
def test_no_103_for_fragment_requests(hints_server: HintsServer, tls: Tls, headers: list[tuple[str, str]]) -> None:
    exchange = fetch(hints_server.port, "/report", ca_file=tls.ca_file, extra_headers=headers)
    assert exchange.status == 200
    assert exchange.informational == []


def _downloads(server: HintsServer, since: int, path: str) -> int:
    return sum(1 for line in server.access_lines()[since:] if f"GET {path}?" in line or f"GET {path} " in line)


def _wait_for_log(server: HintsServer, since: int, paths: list[str]) -> dict[str, int]:
    deadline = time.monotonic() + 5  # gunicorn logs each response once it is written
    while True:
        counts = {path: _downloads(server, since, path) for path in paths}
        if all(count >= 1 for count in counts.values()) or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def test_chromium_uses_the_hints_and_downloads_once(chromium: Any, hints_server: HintsServer) -> None:
    """The article page declares its render-blocking stylesheets and script.

    In this project's runs Chromium 156 acted on the 103 in about 7 navigations
    out of 8, and in the others made no early-hints fetch at all (each file was
    still downloaded once). So: at most three navigations, each in an empty
    cache; every one downloads each file exactly once, and one of them must
    report every file as fetched through early hints.
    """
    hinted = ["/static/css/main.css", "/static/css/article.css", "/static/js/app.js"]
    attempts = []
    for _ in range(3):
        before = len(hints_server.access_lines())
        initiators = navigate_fresh(chromium, hints_server.origin + "/articles/budgets")
        assert _wait_for_log(hints_server, before, hinted) == dict.fromkeys(hinted, 1)
        attempts.append({path: initiators.get(path) for path in hinted})
        if all(kind == "early-hints" for kind in attempts[-1].values()):
            return
    pytest.fail(f"Chromium never used the 103 in {len(attempts)} navigations: {attempts}")
