"""The deployment matrix: the demo app behind each front this repository ships a
configuration for, over real TLS + HTTP/2, with what crosses the wire asserted.

=============== ============================== ======================================== =====================
front           the app's 103                  HTTP/2 push                              covered by
=============== ============================== ======================================== =====================
gunicorn direct sent to HTTP/2 clients         none                                     test_early_hints.py
Caddy 2.11      forwarded at once              none (Caddy never pushed)                here
Apache 2.4      forwarded at once (H2EarlyHints) the 103's links and the final header's here
                                               pushable links (H2Push)
nginx 1.22      dropped                        the final header's pushable links        test_push_nginx.py
h2o 2.2         not forwarded                  the 103's links (as it arrives) and the  here
                                               final header's pushable links
Caddy, HTTP/3   forwarded at once              none                                     test_http3.py
=============== ============================== ======================================== =====================

The demo's /report view sleeps ``SLOW_SECONDS`` (0.5 s) and declares its stylesheet
with ``@early_hints``, so a 103 sent before the view runs must arrive well before
the 200. Push tracking on /report is the default one of the demo: Flask-Session's
server-side session (its ``session`` cookie), through AccountConnector's fallback.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable

import pytest

from flask_firehose.testing import ParsedLink, parse_link_header, parse_link_headers
from harness.demo import Front, static_file
from harness.h2client import Exchange, fetch
from harness.tls import Tls

pytestmark = pytest.mark.integration

NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
#: What /report declares with @early_hints (its 103, learning being off behind the fronts).
DECLARED = {"/static/css/report.css"}
#: Same-origin files /report preloads (at least: the demo may add more), pushable on a first visit.
PUSHABLE_ON_FIRST_VISIT = {
    "/static/css/report.css",
    "/static/css/main.css",
    "/static/js/app.js",
    "/static/fonts/firehose-blocks.woff2",
}


# Firehose writes the 103 without `nopush` (Chromium ignores a 103 link that carries
# it); a front that pushes from a 103 therefore pushes its links on every visit.
def _path(target: str) -> str:
    return target.split("?", 1)[0]


def _hints(exchange: Exchange) -> list[ParsedLink]:
    """The links of the one 103 the client received."""
    infos = [info for info in exchange.informational if info.status == 103]
    assert len(infos) == 1, exchange.informational
    return [link for name, value in infos[0].headers if name == "link" for link in parse_link_header(value)]


def _links(exchange: Exchange) -> list[ParsedLink]:
    return parse_link_headers(exchange.header_values("link"))


def _pushable(links: list[ParsedLink]) -> set[str]:
    """Targets a front may push: same-origin preloads without ``nopush``."""
    return {
        link.target
        for link in links
        if "preload" in link.rels and not link.has("nopush") and link.target.startswith("/")
    }


def _promised(exchange: Exchange) -> set[str]:
    paths = [pushed.path for pushed in exchange.pushes]
    assert len(paths) == len(set(paths)), f"promised twice: {paths}"
    return set(paths)


def _session_cookie(exchange: Exchange) -> str:
    cookies = [value.split(";", 1)[0] for value in exchange.header_values("set-cookie")]
    session = [cookie for cookie in cookies if cookie.startswith("session=")]
    assert session, f"no session cookie in {cookies}"
    return session[0]


def _report(front: Front, tls: Tls, cookie: str | None = None) -> Exchange:
    exchange = fetch(front.port, "/report", ca_file=tls.ca_file, cookie=cookie, extra_headers=NAVIGATE)
    assert exchange.status == 200, exchange.body[:500]
    return exchange


def _assert_pushed_bodies(exchange: Exchange) -> None:
    for pushed in exchange.pushes:
        assert pushed.complete and pushed.status == 200, pushed
        assert pushed.body == static_file(pushed.path), pushed.path


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll *check*: access logs are written after the response."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


# -- the 103 is forwarded ---------------------------------------------------------


@pytest.mark.parametrize("front_name", ["caddy_front", "apache_front"])
def test_the_103_reaches_an_http2_client_before_the_200(
    front_name: str, tls: Tls, request: pytest.FixtureRequest
) -> None:
    front: Front = request.getfixturevalue(front_name)
    exchange = _report(front, tls)
    hints = _hints(exchange)
    (info,) = exchange.informational
    # The 103 left before the view's 0.5 s of work, the 200 after it.
    assert exchange.response_at >= front.slow_seconds
    assert exchange.response_at - info.at >= front.slow_seconds * 0.6, (info.at, exchange.response_at)
    assert {_path(link.target) for link in hints} == DECLARED
    assert all(link.rels == {"preload"} and not link.has("nopush") for link in hints)
    assert dict(info.headers).get("link") is not None
    # The final header still names every hint (the browser may have missed the 103).
    assert {link.target for link in hints} <= {link.target for link in _links(exchange)}
    # It really went through the app, over HTTP/1.1 (the only way it sends a 103 behind a front).
    _wait_for(lambda: any(r.path == "/report" for r in front.app_requests()))
    assert any(r.path == "/report" for r in front.app_requests())


# -- Caddy ------------------------------------------------------------------------


def test_caddy_serves_static_files_itself_and_never_pushes(caddy_front: Front, tls: Tls) -> None:
    page = _report(caddy_front, tls)
    assert page.pushes == []
    assert any("caddy" in value.lower() for value in page.header_values("via")), page.headers
    targets = [link.target for link in _links(page) if link.target.startswith("/static/")]
    assert {_path(target) for target in targets} >= PUSHABLE_ON_FIRST_VISIT
    for target in targets:
        got = fetch(caddy_front.port, target, ca_file=tls.ca_file)
        assert got.status == 200, target
        assert got.header_values("server") == ["Caddy"], (target, got.headers)
        assert not got.header_values("via"), "proxied, not served by Caddy"
        (cache_control,) = got.header_values("cache-control")
        assert "max-age=31536000" in cache_control
        assert got.body == static_file(target)
    _wait_for(lambda: {_path(t) for t in targets} <= {r.path for r in caddy_front.requests()})
    assert {_path(t) for t in targets} <= {r.path for r in caddy_front.requests() if r.status == 200}
    # gunicorn saw the page, never a static file.
    assert any(r.path == "/report" for r in caddy_front.app_requests())
    assert [r.target for r in caddy_front.app_requests() if r.path.startswith("/static/")] == []
    # Only versioned URLs are cached for good; the same file without ?v= is revalidated.
    unversioned = fetch(caddy_front.port, _path(targets[0]), ca_file=tls.ca_file)
    assert unversioned.status == 200
    assert unversioned.header_values("cache-control") == ["no-cache"]
    assert unversioned.body == static_file(targets[0])


def test_caddy_compresses_the_page_and_still_forwards_the_103(caddy_front: Front, tls: Tls) -> None:
    # infra/caddy/Caddyfile compresses (`encode`), as `make demo` and compose run it;
    # Caddy before 2.8 swallowed the 103 of a response it compressed.
    exchange = fetch(
        caddy_front.port, "/report", ca_file=tls.ca_file, extra_headers=[*NAVIGATE, ("accept-encoding", "gzip")]
    )
    assert exchange.status == 200, exchange.headers
    assert exchange.header_values("content-encoding") == ["gzip"]
    assert b"</html>" in gzip.decompress(exchange.body)
    assert {_path(link.target) for link in _hints(exchange)} == DECLARED
    (info,) = exchange.informational
    assert exchange.response_at - info.at >= caddy_front.slow_seconds * 0.6, (info.at, exchange.response_at)


# -- Apache 2.4: H2EarlyHints + H2Push ------------------------------------------------


def test_apache_pushes_what_a_first_visit_preloads(apache_front: Front, tls: Tls) -> None:
    first = _report(apache_front, tls)
    links = _links(first)
    hinted = {link.target for link in _hints(first)}
    assert {_path(target) for target in _pushable(links)} >= PUSHABLE_ON_FIRST_VISIT
    # Every pushable link of the final header and of the 103, nothing else:
    # not the logo the templates mark nopush.
    assert _promised(first) == _pushable(links) | hinted
    assert all("/logo.svg" not in path for path in _promised(first))
    _assert_pushed_bodies(first)


def test_apache_second_visit_pushes_no_tracked_link_of_the_final_header(apache_front: Front, tls: Tls) -> None:
    first = _report(apache_front, tls)
    assert _promised(first)
    second = _report(apache_front, tls, cookie=_session_cookie(first))
    # Firehose marked every link nopush: the session remembers the pushes.
    assert _pushable(_links(second)) == set()
    assert {link.target for link in _links(second)} == {link.target for link in _links(first)}
    # Nothing is pushed again, and no 103 names the files pushed before (here
    # every hinted file was pushed on the first visit: no 103 at all).
    assert _promised(second) == set()
    hinted_again = {
        link.target
        for info in second.informational
        if info.status == 103
        for name, value in info.headers
        if name == "link"
        for link in parse_link_header(value)
    }
    assert hinted_again.isdisjoint(_promised(first))


# -- h2o 2.2 ------------------------------------------------------------------------


def test_h2o_pushes_a_first_visit_without_forwarding_the_103(h2o_front: Front, tls: Tls) -> None:
    first = _report(h2o_front, tls)
    # h2o 2.2 keeps the app's 103 to itself ...
    assert first.informational == []
    links = _links(first)
    # ... and pushes every pushable link (the declared one as soon as the 103 came in).
    assert {_path(target) for target in _pushable(links)} >= PUSHABLE_ON_FIRST_VISIT
    assert _promised(first) == _pushable(links)
    _assert_pushed_bodies(first)


@pytest.mark.parametrize("front_name", ["apache_front", "h2o_front"])
def test_a_tracked_visit_pushes_nothing(front_name: str, tls: Tls, request: pytest.FixtureRequest) -> None:
    front: Front = request.getfixturevalue(front_name)
    first = _report(front, tls)
    assert first.pushes
    second = _report(front, tls, cookie=_session_cookie(first))
    assert [pushed.path for pushed in second.pushes] == []
