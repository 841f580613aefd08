"""The compose stack asserted over HTTP/2 by service name, from the tests container:
what the native e2e suite asserts on loopback, against the images users run.

================  ==========================================  =====================================
service           what it does                                asserted here
================  ==========================================  =====================================
nginx (1.22)      pushes the app's preload links              PUSH_PROMISEs and pushed bodies on a
                  (``http2_push_preload``)                    first visit, none on the next ones
app               the demo behind nginx, 2 gunicorn workers   through nginx
redis             sessions and learned hints of all workers   the visit's session is in Redis;
                                                              no repeat on any worker
front (Caddy)     forwards the app's 103, serves /static      one 103 before the 200; /static from
                                                              Caddy; Chromium uses the hints
app-hints         the demo behind Caddy (never pushed to)     through the front
app-h2            gunicorn serving TLS + HTTP/2 itself        one 103 before the 200
certs             the stack's CA and certificate              every TLS handshake here
================  ==========================================  =====================================
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from flask_firehose.testing import ParsedLink, parse_link_header, parse_link_headers
from harness.chromium import navigate_fresh
from harness.compose import ComposeStack, Service
from harness.demo import static_file
from harness.forward import Forward
from harness.fronts import read_access_log
from harness.h2client import Exchange
from harness.relay import Relay

pytestmark = pytest.mark.integration

NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
#: The same-origin files the home page preloads: pushed on a first visit through nginx.
HOME_PUSHED = {
    "/static/css/main.css",
    "/static/js/app.js",
    "/static/fonts/firehose-blocks.woff2",
    "/static/img/hero.png",
}
#: What the article page declares with @early_hints: its 103.
ARTICLE_DECLARED = ["/static/css/main.css", "/static/css/article.css", "/static/js/app.js"]
#: The demo's /report view thinks this long (DEMO_SLOW_SECONDS, its default).
SLOW_SECONDS = 0.3


def _path(target: str) -> str:
    return target.split("?", 1)[0]


def _links(exchange: Exchange) -> list[ParsedLink]:
    return parse_link_headers(exchange.header_values("link"))


def _pushable(exchange: Exchange) -> set[str]:
    return {
        link.target
        for link in _links(exchange)
        if "preload" in link.rels and not link.has("nopush") and link.target.startswith("/")
    }


def _session_cookie(exchange: Exchange) -> str:
    cookies = [value.split(";", 1)[0] for value in exchange.header_values("set-cookie")]
    session = [cookie for cookie in cookies if cookie.startswith("session=")]
    assert session, f"no session cookie in {cookies}"
    return session[0]


def _hints(exchange: Exchange) -> list[ParsedLink]:
    """The links of the one 103 received, which must have come before the view's work ended."""
    infos = [info for info in exchange.informational if info.status == 103]
    assert len(infos) == 1, exchange.informational
    assert exchange.response_at >= SLOW_SECONDS
    assert exchange.response_at - infos[0].at >= SLOW_SECONDS * 0.6, (infos[0].at, exchange.response_at)
    return [link for name, value in infos[0].headers if name == "link" for link in parse_link_header(value)]


# -- nginx 1.22: push -----------------------------------------------------------------


def test_nginx_pushes_every_same_origin_preload_on_a_first_visit(stack: ComposeStack) -> None:
    first = stack.fetch(stack.nginx, "/")
    assert first.status == 200
    expected = _pushable(first)
    assert {_path(target) for target in expected} == HOME_PUSHED
    assert {pushed.path for pushed in first.pushes} == expected
    for pushed in first.pushes:
        assert pushed.complete and pushed.status == 200, pushed
        assert pushed.body == static_file(pushed.path), pushed.path


def test_nginx_pushes_nothing_on_later_visits_of_the_session(stack: ComposeStack) -> None:
    first = stack.fetch(stack.nginx, "/")
    assert first.pushes
    cookie = _session_cookie(first)
    # Enough visits for both gunicorn workers to serve some: the session is in Redis.
    for _ in range(4):
        again = stack.fetch(stack.nginx, "/", cookie=cookie)
        assert again.status == 200
        assert again.pushes == []
        assert _pushable(again) == set()
        # Every hint is still there for the browser, marked nopush.
        assert {link.target for link in _links(again)} == {link.target for link in _links(first)}
    # A new session is pushed again.
    assert {pushed.path for pushed in stack.fetch(stack.nginx, "/").pushes} == _pushable(first)


def test_the_session_lives_in_redis(stack: ComposeStack) -> None:
    cookie = _session_cookie(stack.fetch(stack.nginx, "/"))
    client = redis.Redis.from_url(stack.redis_url)
    try:
        sid = cookie.split("=", 1)[1]
        assert client.exists(f"session:{sid}") == 1, sorted(client.scan_iter("session:*", count=1000))[:5]
    finally:
        client.close()


def test_nginx_never_promises_a_nopush_link(stack: ComposeStack) -> None:
    exchange = stack.fetch(stack.nginx, "/articles/budgets")
    assert exchange.status == 200
    nopush = {link.target for link in _links(exchange) if link.has("nopush")}
    promised = {pushed.path for pushed in exchange.pushes}
    assert promised and promised == _pushable(exchange)
    assert promised.isdisjoint(nopush)


# -- the 103: through Caddy, and from gunicorn itself --------------------------------------


def test_the_front_forwards_the_103_before_the_200(stack: ComposeStack) -> None:
    exchange = stack.fetch(stack.front, "/report", extra_headers=NAVIGATE)
    assert exchange.status == 200
    hints = _hints(exchange)
    assert "/static/css/report.css" in {_path(link.target) for link in hints}
    # Chromium ignores a 103 link with a parameter it does not know, nopush included.
    assert all(not link.has("nopush") and link.rels == {"preload"} for link in hints)
    # Caddy never pushes.
    assert exchange.pushes == []


def test_the_front_serves_static_files_itself(stack: ComposeStack) -> None:
    page = stack.fetch(stack.front, "/")
    css = next(link.target for link in _links(page) if _path(link.target) == "/static/css/main.css")
    before = len(read_access_log(stack.front_log))
    exchange = stack.fetch(stack.front, css)
    assert exchange.status == 200
    assert exchange.body == static_file(css)
    assert "immutable" in exchange.header_values("cache-control")[0]
    assert exchange.header_values("server") == ["Caddy"]
    served = _wait_for_log(stack, before, [_path(css)])
    assert served == {_path(css): 1}


def test_gunicorn_sends_the_103_itself(stack: ComposeStack) -> None:
    exchange = stack.fetch(stack.gunicorn, "/report", extra_headers=NAVIGATE)
    assert exchange.status == 200
    assert "/static/css/report.css" in {_path(link.target) for link in _hints(exchange)}


@pytest.mark.parametrize("headers", [[("sec-fetch-mode", "cors")], [("hx-request", "true")]])
def test_no_103_for_fragment_requests(stack: ComposeStack, headers: list[tuple[str, str]]) -> None:
    for service in (stack.front, stack.gunicorn):
        exchange = stack.fetch(service, "/report", extra_headers=headers)
        assert exchange.status == 200
        assert exchange.informational == [], service


# -- Chromium through the front --------------------------------------------------------


def _wait_for_log(stack: ComposeStack, since: int, paths: list[str]) -> dict[str, int]:
    """How many times Caddy served each of *paths* (200) since line *since* of its
    log; waits for the log (written after each response), then a moment more."""

    def count() -> dict[str, int]:
        served = [entry.path for entry in read_access_log(stack.front_log)[since:] if entry.status == 200]
        return {path: served.count(path) for path in paths}

    deadline = time.monotonic() + 5
    while min(count().values()) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    return count()


def test_chromium_uses_the_103_and_downloads_each_file_once(stack: ComposeStack, stack_chromium: Any) -> None:
    """Through 100 ms of round trip (harness/relay.py; on a bare network Chromium drops
    a 103 that arrives in the millisecond its request ends), every navigation in
    an empty cache fetches each declared file through the hints, once."""
    upstream = Service(stack.front.host, stack.front.port)
    seen = []
    with (
        Forward((upstream.host, upstream.port)) as forward,
        Relay(("127.0.0.1", forward.port), 0.1, max_lifetime=120) as relay,
    ):
        for _ in range(3):
            before = len(read_access_log(stack.front_log))
            initiators = navigate_fresh(stack_chromium, f"https://127.0.0.1:{relay.port}/articles/budgets")
            used = {path: initiators.get(path) for path in ARTICLE_DECLARED}
            seen.append((used, _wait_for_log(stack, before, ARTICLE_DECLARED)))
    expected = (dict.fromkeys(ARTICLE_DECLARED, "early-hints"), dict.fromkeys(ARTICLE_DECLARED, 1))
    assert seen == [expected] * 3, "(initiatorType, downloads) per navigation"
