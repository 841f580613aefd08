"""What headless Chromium receives and loads through nginx over HTTP/2.

Chromium no longer accepts pushed streams, so this proves the preload links
the browser gets (and that every hinted file loads); test_push_nginx.py
proves the PUSH_PROMISEs with an HTTP/2 client.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from flask_firehose.testing import ParsedLink, parse_link_headers
from harness.demo import PushStack

pytestmark = pytest.mark.integration


def _navigate(page: Any, url: str) -> tuple[list[ParsedLink], dict[str, int]]:
    """Go to *url*; return the document's links and the status of each file."""
    statuses: dict[str, int] = {}
    page.on("response", lambda response: statuses.__setitem__(response.url, response.status))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    assert response.request.timing is not None
    links = parse_link_headers([value for name, value in _headers(response) if name == "link"])
    return links, statuses


def _headers(response: Any) -> list[tuple[str, str]]:
    return [(h["name"].lower(), h["value"]) for h in response.headers_array()]


def _pushable(links: list[ParsedLink]) -> set[str]:
    return {link.target for link in links if "preload" in link.rels and not link.has("nopush")}


def _protocol(page: Any) -> str:
    return str(page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol"))


def test_hints_arrive_and_every_hinted_file_loads(chromium: Any, push_stack: PushStack) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        links, statuses = _navigate(page, push_stack.origin + "/articles/early-hints")
        assert _protocol(page) == "h2"
        targets = {link.target.split("?")[0] for link in links}
        assert {"/static/css/main.css", "/static/css/article.css", "/static/js/app.js"} <= targets
        for link in links:
            url = link.target if "://" in link.target else push_stack.origin + link.target
            assert statuses.get(url) == 200, (url, statuses)
            assert page.evaluate("u => performance.getEntriesByName(u).length", url) >= 1, url
        # The block font really rendered the masthead once loaded.
        assert page.evaluate("document.fonts.check('16px \"Firehose Blocks\"')")
    finally:
        context.close()


def test_second_navigation_carries_no_pushable_link(chromium: Any, push_stack: PushStack) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        first, _ = _navigate(page, push_stack.origin + "/")
        assert _pushable(first)
        second, statuses = _navigate(page, push_stack.origin + "/")
        assert _pushable(second) == set()
        assert {link.target for link in second} == {link.target for link in first}
        assert all(status in (200, 304) for status in statuses.values())
    finally:
        context.close()


def _sign_in(page: Any, stack: PushStack, user: str) -> list[ParsedLink]:
    """Sign in through the form; return the links of the dashboard it leads to."""
    page.goto(stack.origin + "/account/login")
    page.fill("input[name=user]", user)
    with page.expect_navigation(url="**/account/") as navigation:
        page.click("button[type=submit]")
    response = navigation.value
    assert response is not None and response.status == 200
    return parse_link_headers([value for name, value in _headers(response) if name == "link"])


def test_custom_connector_route_is_respected(chromium: Any, push_stack: PushStack) -> None:
    user = "b" + uuid.uuid4().hex[:12]
    first_browser = chromium.new_context()
    second_browser = chromium.new_context()
    try:
        first = _sign_in(first_browser.new_page(), push_stack, user)
        assert {t.split("?")[0] for t in _pushable(first)} >= {"/static/css/account.css", "/static/js/account.js"}
        # A fresh cookie jar, same user: the per-user connector already pushed it all.
        second = _sign_in(second_browser.new_page(), push_stack, user)
        assert _pushable(second) == set()
        assert {link.target for link in second} == {link.target for link in first}
    finally:
        first_browser.close()
        second_browser.close()
