"""HTTP/2 push through nginx 1.22, seen by an HTTP/2 client that accepts pushes.

Browsers no longer accept pushed streams (Chromium sends SETTINGS_ENABLE_PUSH=0),
so the PUSH_PROMISE frames and pushed bodies are checked here, with the h2
protocol library; test_browser.py checks what a browser receives and uses.
"""

from __future__ import annotations

import uuid

import pytest
from cachelib import FileSystemCache

from flask_firehose.testing import ParsedLink, parse_link_headers
from harness.demo import PushStack, static_file
from harness.h2client import Exchange, fetch
from harness.tls import Tls

pytestmark = pytest.mark.integration


def _links(exchange: Exchange) -> list[ParsedLink]:
    return parse_link_headers(exchange.header_values("link"))


def _pushable(exchange: Exchange) -> set[str]:
    return {link.target for link in _links(exchange) if "preload" in link.rels and not link.has("nopush")}


def _sign_in(stack: PushStack, tls: Tls, user: str) -> str:
    login = fetch(stack.port, "/account/login", ca_file=tls.ca_file, method="POST", form={"user": user})
    assert login.status == 302, login.body
    cookie = login.set_cookie
    assert cookie
    return cookie


def test_first_visit_pushes_every_same_origin_preload(push_stack: PushStack, tls: Tls) -> None:
    first = fetch(push_stack.port, "/", ca_file=tls.ca_file)
    assert first.status == 200
    expected = _pushable(first)
    assert {path.split("?")[0] for path in expected} == {
        "/static/css/main.css",
        "/static/js/app.js",
        "/static/fonts/firehose-blocks.woff2",
        "/static/img/hero.png",
    }
    assert {pushed.path for pushed in first.pushes} == expected
    for pushed in first.pushes:
        assert pushed.complete and pushed.status == 200, pushed
        assert pushed.body == static_file(pushed.path), pushed.path


def test_second_visit_in_the_session_pushes_nothing(push_stack: PushStack, tls: Tls) -> None:
    first = fetch(push_stack.port, "/", ca_file=tls.ca_file)
    assert first.pushes and first.set_cookie
    second = fetch(push_stack.port, "/", ca_file=tls.ca_file, cookie=first.set_cookie)
    assert second.status == 200
    assert second.pushes == []
    # The browser still gets every hint, marked nopush.
    assert {link.target for link in _links(second)} == {link.target for link in _links(first)}
    assert _pushable(second) == set()
    # A new session is pushed again.
    assert fetch(push_stack.port, "/", ca_file=tls.ca_file).pushes


def test_nopush_and_cross_origin_links_are_never_promised(push_stack: PushStack, tls: Tls) -> None:
    exchange = fetch(push_stack.port, "/articles/budgets", ca_file=tls.ca_file)
    links = _links(exchange)
    promised = {pushed.path for pushed in exchange.pushes}
    cross_origin = [link for link in links if link.target.startswith(push_stack.cdn_origin)]
    nopush = [link for link in links if link.has("nopush")]
    assert cross_origin and all(link.has("nopush") for link in cross_origin)
    assert any(link.target.startswith("/static/img/logo.svg") for link in nopush)
    assert promised and promised.isdisjoint(link.target for link in nopush)
    assert promised == _pushable(exchange)


def test_custom_connector_remembers_per_user(push_stack: PushStack, tls: Tls) -> None:
    user = "u" + uuid.uuid4().hex[:12]
    first = fetch(push_stack.port, "/account/", ca_file=tls.ca_file, cookie=_sign_in(push_stack, tls, user))
    assert first.status == 200
    paths = {pushed.path.split("?")[0] for pushed in first.pushes}
    assert {"/static/css/account.css", "/static/js/account.js"} <= paths
    # Another session (another browser) for the same user: the connector, not
    # the session, says it was all pushed already.
    again = fetch(push_stack.port, "/account/", ca_file=tls.ca_file, cookie=_sign_in(push_stack, tls, user))
    assert again.status == 200
    assert again.pushes == []
    assert _pushable(again) == set()


def test_what_the_connector_reports_is_never_promised(push_stack: PushStack, tls: Tls) -> None:
    user = "u" + uuid.uuid4().hex[:12]
    cookie = _sign_in(push_stack, tls, user)
    api = fetch(push_stack.port, "/api/stats", ca_file=tls.ca_file)  # a JSON API never carries links
    assert api.status == 200 and not api.header_values("link") and not api.pushes
    # Seed the running app's per-user store, as another device of this user would have.
    page = fetch(push_stack.port, "/account/", ca_file=tls.ca_file, cookie=_sign_in(push_stack, tls, "seed" + user))
    account_css = next(link.target for link in _links(page) if "/account.css" in link.target)
    FileSystemCache(str(push_stack.data_dir / "pushed-by-user")).set(f"pushed:{user}", [account_css])

    exchange = fetch(push_stack.port, "/account/", ca_file=tls.ca_file, cookie=cookie)
    promised = {pushed.path for pushed in exchange.pushes}
    assert account_css not in promised
    assert promised == _pushable(exchange)
    assert any(path.startswith("/static/js/account.js") for path in promised)
