"""The ``Speculation-Rules`` header, the rules' URLs and the inline script under a
script root a client or a front controls: ``SCRIPT_NAME``, ``X-Forwarded-Prefix``
through ``ProxyFix``, a ``DispatcherMiddleware`` mount.

Each response is read as an attacker's victim's browser reads it: the header
parsed with a strict RFC 9651 list parser (below), every URL resolved against
the page's URL with the URL rules a browser applies. Whatever the root, the
header names one same-origin plain path, or is absent and the refusal logged;
the page is always served.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask, render_template_string, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from flask_firehose import Firehose, no_speculation
from flask_firehose._speculation.urls import header_value, url_root

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


# -- a strict RFC 9651 parser for a List of Strings ---------------------------------


class SfError(ValueError):
    """Not an RFC 9651 list of strings."""


def rule_lists(rules: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The rules of each action (the rule set's ``tag`` is not one)."""
    return [listed for action, listed in rules.items() if action != "tag"]


def _sf_string(value: str, pos: int) -> tuple[str, int]:
    # RFC 9651 §4.2.5: DQUOTE, then %x20-7E with "\" escaping only '"' or "\", DQUOTE.
    if value[pos] != '"':
        raise SfError(f"not a string at {pos}: {value!r}")
    pos += 1
    out = []
    while pos < len(value):
        char = value[pos]
        pos += 1
        if char == "\\":
            if pos >= len(value) or value[pos] not in '"\\':
                raise SfError(f"bad escape in {value!r}")
            out.append(value[pos])
            pos += 1
        elif char == '"':
            return "".join(out), pos
        elif not 0x20 <= ord(char) <= 0x7E:
            raise SfError(f"{char!r} in a string: {value!r}")
        else:
            out.append(char)
    raise SfError(f"unterminated string: {value!r}")


def parse_sf_string_list(value: str) -> list[str]:
    """RFC 9651 §4.2.1 (a List), accepting only members that are Strings with no
    parameters: what a ``Speculation-Rules`` field may hold."""
    value = value.strip(" ")
    members: list[str] = []
    pos = 0
    while pos < len(value):
        member, pos = _sf_string(value, pos)
        members.append(member)
        while pos < len(value) and value[pos] in " \t":
            pos += 1
        if pos >= len(value):
            return members
        if value[pos] != ",":
            raise SfError(f"expected ',' at {pos}: {value!r}")
        pos += 1
        while pos < len(value) and value[pos] in " \t":
            pos += 1
        if pos >= len(value):
            raise SfError(f"trailing comma: {value!r}")
    if not members:
        raise SfError("empty list")
    return members


@pytest.mark.parametrize(
    ("value", "parsed"),
    [('"/a"', ["/a"]), ('"/a" , "/b"', ["/a", "/b"]), (r'"/a\"b"', ['/a"b']), (r'"\\"', ["\\"])],
)
def test_the_parser_reads_lists_of_strings(value: str, parsed: list[str]) -> None:
    assert parse_sf_string_list(value) == parsed


@pytest.mark.parametrize("value", ["", '"/a', "/a", '"/a";p', '"/a",', '"/a" "/b"', '"\\a"', '"é"', '"a\tb"', "(a)"])
def test_the_parser_refuses_anything_else(value: str) -> None:
    with pytest.raises(SfError):
        parse_sf_string_list(value)


# -- what a browser makes of a URL ---------------------------------------------------------

# RFC 3986 path characters: what stands in a plain path, escapes included.
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})*)+")


def assert_same_origin_path(url: str, page: str = "https://shop.example/app/page") -> None:
    """*url* is a plain absolute path that a browser resolves on the page's
    origin to exactly itself: no scheme, no authority, no dot segment, nothing
    the URL parser strips (tab, newline) or reads as "/" ("\\")."""
    assert _PATH.fullmatch(url) and "//" not in url, url
    assert not any(segment in (".", "..") for segment in url.split("/")[1:]), url
    resolved = urlsplit(urljoin(page, url))
    assert (resolved.scheme, resolved.netloc, resolved.path) == ("https", "shop.example", url), url


def rules_header(response: Any) -> str | None:
    """The one path the ``Speculation-Rules`` field names, or None; never anything else."""
    values = response.headers.getlist("Speculation-Rules")
    if not values:
        return None
    (value,) = values
    (path,) = parse_sf_string_list(value)
    assert_same_origin_path(path)
    return path


def inline_rules(html: str) -> dict[str, Any] | None:
    assert html.count("</script") == html.count("<script")
    found = re.findall(r'<script type="speculationrules"[^>]*>(.*?)</script>', html, re.S)
    assert len(found) <= 1, html
    if not found:
        return None
    rules: dict[str, Any] = json.loads(found[0])
    return rules


def list_urls(rules: dict[str, Any]) -> list[str]:
    return [url for action in rule_lists(rules) for rule in action if rule["source"] == "list" for url in rule["urls"]]


def not_patterns(rules: dict[str, Any]) -> list[dict[str, str]]:
    return [
        pattern
        for action in rule_lists(rules)
        for rule in action
        if rule["source"] == "document"
        for clause in rule["where"]["and"]
        if "not" in clause
        for pattern in clause["not"].get("href_matches", [])
    ]


def build_app(**config: Any) -> tuple[Flask, Firehose]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, **config)
    firehose = Firehose(app)

    @app.get("/")
    def index() -> str:
        return "<p>home"

    @app.get("/articles/<slug>")
    def article(slug: str) -> str:
        return f"<p>{slug}"

    @app.get("/unsubscribe/<token>")
    @no_speculation
    def unsubscribe(token: str) -> str:
        return "done"

    @app.get("/inline")
    def inline() -> str:
        return render_template_string("<head>{{ speculation_rules() }}</head>")

    firehose.speculate("prerender", endpoints=["index", ("article", {"slug": "a"}), ("unsubscribe", {"token": "t"})])
    firehose.speculate("prefetch", href_matches="/articles/*")
    return app, firehose


def _wsgi(text: str) -> str:
    """*text* as a WSGI server puts it in the environ: UTF-8 bytes read as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


# Roots a client or a misconfigured front may bring, and what must come of them.
HOSTILE_ROOTS = [
    '/a"b',
    "/a\\b",
    "/a\r\nSet-Cookie: x=1",
    "/a\nb",
    "/a b",
    "/\t/evil.example",
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "evil.example",
    "https://evil.example",
    "/..",
    "/.",
    "/a/../b",
    "/%2e%2e",
    "/%2E.",
    "/a%2Fb",
    "/a%",
    "/a;b=c",
    "/a?b",
    "/a#b",
    "/a//b",
    "/a\x00b",
    "/a\x7fb",
    "/" + "x" * 2000,
    "/a<b>",
    "/{a}",
]
PLAIN_ROOTS = [
    ("/app", "/app"),
    ("/app/", "/app"),
    ("/~user", "/~user"),
    ("/a'b,c", "/a'b,c"),
    ("/shop:1@x", "/shop:1@x"),
]


def _check(client: Client, path: str, environ: dict[str, str], root: str | None) -> None:
    """A page and its rules under *environ*: served, and every URL on the origin."""
    page = client.get(path, headers=NAV, environ_overrides=environ)
    assert page.status_code == 200
    named = rules_header(page)
    if root is None:
        assert named is None
        return
    assert named is not None and named.startswith(f"{root}/_firehose/speculation/")
    resource = client.get(named[len(root) :], environ_overrides={**environ, "SCRIPT_NAME": _wsgi(root)})
    assert resource.status_code == 200, named
    rules = json.loads(resource.data)
    for url in list_urls(rules):
        assert_same_origin_path(url)
        assert url.startswith(root + "/")
    assert not any("unsubscribe/t" in url for url in list_urls(rules))
    assert {"pathname": f"{_urlpattern(root)}/unsubscribe/*"} in not_patterns(rules)


@pytest.mark.parametrize("root", HOSTILE_ROOTS)
def test_a_hostile_script_name_gets_no_header_and_a_log_line(root: str, caplog: pytest.LogCaptureFixture) -> None:
    app, _ = build_app()
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        _check(app.test_client(), "/", {"SCRIPT_NAME": root}, None)
    assert "script root" in caplog.text
    assert "\r" not in caplog.text and "\n" not in caplog.text.strip()


@pytest.mark.parametrize("root", HOSTILE_ROOTS)
def test_a_hostile_forwarded_prefix_gets_no_header(root: str) -> None:
    app, _ = build_app()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    seen: list[str] = []

    @app.after_request
    def record(response: Any) -> Any:
        seen.append(request.script_root)
        return response

    client = app.test_client()
    page = client.get("/", headers=NAV, environ_overrides={"HTTP_X_FORWARDED_PREFIX": root})
    assert page.status_code == 200
    # ProxyFix reads the header as a list and takes the last value ('/a,//b'
    # gives '//b'), or none ('/a"b' parses to nothing): judged is what it set.
    (effective,) = seen
    expected = url_root(effective)
    _check(client, "/", {"HTTP_X_FORWARDED_PREFIX": root}, expected)
    assert expected is None or expected == "" or root.rstrip("/").endswith(expected)


@pytest.mark.parametrize("root", HOSTILE_ROOTS)
def test_a_hostile_root_gets_no_inline_script(root: str) -> None:
    app, _ = build_app()
    page = app.test_client().get("/inline", headers=NAV, environ_overrides={"SCRIPT_NAME": root})
    assert page.status_code == 200
    assert inline_rules(page.text) is None
    assert rules_header(page) is None


@pytest.mark.parametrize(("root", "expected"), [*PLAIN_ROOTS, ("/café", "/caf%C3%A9"), ("/ｆ", "/%EF%BD%86")])
@pytest.mark.parametrize("how", ["SCRIPT_NAME", "X-Forwarded-Prefix"])
def test_a_plain_root_names_the_rules_under_it(root: str, expected: str, how: str) -> None:
    app, _ = build_app()
    if how != "SCRIPT_NAME" and "," in root:  # a list to ProxyFix: see above
        return
    if how == "SCRIPT_NAME":
        environ = {"SCRIPT_NAME": _wsgi(root)}
    else:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
        environ = {"HTTP_X_FORWARDED_PREFIX": _wsgi(root)}
    _check(app.test_client(), "/", environ, expected)
    # Inline too: the same URLs, the same exclusions.
    page = app.test_client().get("/inline", headers=NAV, environ_overrides=environ)
    rules = inline_rules(page.text)
    assert rules is not None and rules_header(page) is None
    assert f"{expected}/articles/a" in list_urls(rules)
    assert {"pathname": f"{_urlpattern(expected)}/articles/*"} not in not_patterns(rules)
    assert {"pathname": f"{_urlpattern(expected)}/unsubscribe/*"} in not_patterns(rules)


def _urlpattern(path: str) -> str:
    return re.sub(r"([+?*(){}\\:])", r"\\\1", path)


def test_a_forwarded_prefix_list_takes_the_trusted_hop_only() -> None:
    app, _ = build_app()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    # The client's value first, the front's last: ProxyFix takes the last.
    page = app.test_client().get("/", headers={**NAV, "X-Forwarded-Prefix": "//evil.example, /shop"})
    named = rules_header(page)
    assert named is not None and named.startswith("/shop/_firehose/speculation/")


@pytest.fixture
def mounted() -> tuple[Client, Flask]:
    app, _ = build_app()
    front = Flask("front")

    @front.get("/<path:anything>")
    def elsewhere(anything: str) -> str:
        return "front"

    front.wsgi_app = DispatcherMiddleware(front.wsgi_app, {"/shop": app, "/a/b": app})  # type: ignore[method-assign]
    return Client(front), app


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/shop/", "/shop"),
        ("/shop/articles/x", "/shop"),
        ("/a/b/", "/a/b"),
        ("/shop/../shop/", "/shop"),
        ("//shop/", None),  # not mounted: the front's 404, or its page
        ("/shop//", "/shop"),
        ("/%73hop/", "/shop"),  # decoded by the server before the mount is chosen
    ],
)
def test_a_mount_point_names_rules_the_mount_serves(mounted: tuple[Client, Flask], path: str, root: str | None) -> None:
    client, _ = mounted
    page = client.get(path, headers=NAV)
    assert page.status_code in (200, 404, 308)
    named = rules_header(page)
    if root is None or page.status_code != 200:
        assert named is None
        return
    assert named is not None and named.startswith(f"{root}/_firehose/speculation/")
    resource = client.get(named)  # through the front again: the mount serves it
    assert resource.status_code == 200
    assert resource.mimetype == "application/speculationrules+json"
    for url in list_urls(json.loads(resource.data)):
        assert_same_origin_path(url)
        assert url.startswith(root + "/")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec="utf-8"), max_size=40).map(lambda text: "/" + text))
def test_any_script_root_gives_a_same_origin_path_or_none(root: str) -> None:
    path = url_root(root)
    if path is None:
        return
    if path:
        assert_same_origin_path(path)
    value = header_value(f"{path}/_firehose/speculation/0123456789abcdef.json")
    assert value is not None
    (named,) = parse_sf_string_list(value)
    assert_same_origin_path(named)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=30).map(lambda text: "/" + text))
def test_any_environ_script_name_is_served_and_named_safely(root: str) -> None:
    app, _ = build_app()
    page = app.test_client().get("/", headers=NAV, environ_overrides={"SCRIPT_NAME": root})
    assert page.status_code == 200
    named = rules_header(page)
    if named is not None:
        assert named.endswith(".json") and "/_firehose/speculation/" in named


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("", ""),
        ("/app", "/app"),
        ("/café", "/caf%C3%A9"),
        ("//evil.example", None),
        ("/a%2e", None),
        ("/a\ufffd", None),
        ("/a" + chr(0xDCFF), None),  # a lone surrogate
        ("/a\u2028", "/a%E2%80%A8"),
        ("/" + "é" * 200, None),  # 1,201 characters once encoded
    ],
)
def test_url_root(root: str, expected: str | None) -> None:
    assert url_root(root) == expected


@pytest.mark.parametrize("path", ["//evil.example/x.json", "/a/../x.json", '/a"b.json', "/a\\b.json", "x.json", "/a b"])
def test_header_value_refuses_what_is_not_a_plain_path(path: str) -> None:
    assert header_value(path) is None


@pytest.mark.parametrize(
    ("path", "refused"),
    [("/admin/x", True), ("/%61dmin/x", True), ("/admin%2Fx", True), ("/articles/a", False), ("/admin-guide", False)],
)
def test_the_guard_reads_patterns_as_paths_on_the_origin(path: str, refused: bool) -> None:
    """``FIREHOSE_SPECULATION_EXCLUDE`` patterns hold the script root: a
    speculation of any spelling of ``/shop/admin/...`` is refused under ``/shop``."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, FIREHOSE_SPECULATION_EXCLUDE=["/shop/admin/*"])
    Firehose(app).speculate("prefetch")
    ran: list[str] = []

    @app.get("/<path:anything>")
    def page(anything: str) -> str:
        ran.append(anything)
        return "<p>page"

    response = app.test_client().get(
        path, headers={**NAV, "Sec-Purpose": "prefetch"}, environ_overrides={"SCRIPT_NAME": "/shop"}
    )
    assert (response.status_code == 503) is refused
    assert bool(ran) is not refused
