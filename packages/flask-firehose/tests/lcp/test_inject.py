"""The script tag into an HTML response: where, which responses, and CSP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response

from flask_firehose._lcp.inject import inject, insert, script_allowed, script_tag

from .lcp_app import script_tags

TOKEN = "eyJ2IjoxfQ.aw-xrg.sig_-"


def _html(body: str | bytes, **headers: str) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers.update(headers)
    return response


def test_tag_is_escaped_and_parses() -> None:
    tag = script_tag('/x".js', 'a"b', "n<1")
    (attrs,) = script_tags(tag)
    assert attrs == {"src": '/x".js', "async": None, "data-firehose-lcp": 'a"b', "nonce": "n<1"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><head><title>t</title></head><body></body></html>", b"<title>t</title>TAG</head>"),
        (b"<HTML><HEAD></HEAD ></HTML>", b"<HEAD>TAG</HEAD >"),
        (b"<p>no head</p></body></html>", b"<p>no head</p>TAG</body>"),
        (b"<p>a</p></body><p>b</p></BODY>", b"<p>b</p>TAG</BODY>"),
        # Not where the tokenizer sees text: a script's, a comment's, a value.
        (
            b'<head><script>w.document.write("<html><head></head>")</script></head><body>',
            b'</head>")</script>TAG</head>',
        ),
        (b"<head><!-- </head> --><title>t</title></head>", b"--><title>t</title>TAG</head>"),
        (b'<head><meta content="</head>"></head><body>', b'">TAG</head>'),
        (b"<head><title>a</title><body><p>x</p>", b"</title>TAG<body>"),
        ("<head><title>é</title></head>".encode(), "<title>é</title>TAG</head>".encode()),
    ],
)
def test_insert(body: bytes, expected: bytes) -> None:
    found = insert(body, b"TAG")
    assert found is not None and expected in found
    assert found.count(b"TAG") == 1


def test_insert_nowhere() -> None:
    assert insert(b"<p>fragment</p>", b"TAG") is None


@pytest.fixture
def app() -> Iterator[Flask]:
    app = Flask(__name__)
    with app.test_request_context():
        yield app


@pytest.mark.usefixtures("app")
def test_inject_updates_length() -> None:
    response = _html("<html><head></head><body>é</body></html>")
    assert inject(response, "/_firehose/lcp.js", TOKEN) is None
    body = response.get_data()
    assert response.content_length == len(body)
    (attrs,) = script_tags(body.decode())
    assert attrs["src"] == "/_firehose/lcp.js"
    assert attrs["data-firehose-lcp"] == TOKEN
    assert "async" in attrs and "nonce" not in attrs


@pytest.mark.usefixtures("app")
def test_latin1_body() -> None:
    body = "<html><head></head><body>caf\xe9</body></html>".encode("latin-1")
    response = Response(body, content_type="text/html; charset=latin-1")
    assert inject(response, "/_firehose/lcp.js", TOKEN) is None
    assert "caf\xe9" in response.get_data().decode("latin-1")


def _streamed() -> Response:
    return Response(iter([b"<html><head></head>"]), mimetype="text/html")


def _passthrough() -> Response:
    response = _html("<html><head></head>")
    response.direct_passthrough = True
    return response


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_streamed, "streamed"),
        (_passthrough, "streamed"),
        (lambda: Response("<head></head>", mimetype="text/plain"), "not text/html"),
        (lambda: Response("<head></head>", status=404, mimetype="text/html"), "not a 200"),
        (lambda: _html("<head></head>", **{"Content-Encoding": "gzip"}), "encoded"),
        (lambda: _html("<head></head>", ETag='"x"'), "ETag"),
        (lambda: Response("<head></head>".encode("utf-16"), content_type="text/html; charset=utf-16"), "ASCII"),
        (lambda: Response(b"<head>\xff</head>", content_type="text/html; charset=utf-8"), "not utf-8"),
        (lambda: Response(b"<head></head>", content_type="text/html; charset=nope"), "ASCII"),
        (lambda: _html("<p>fragment</p>"), "no </head>"),
        (lambda: _html("<head></head>", **{"Content-Security-Policy": "script-src 'none'"}), "Security-Policy"),
    ],
)
def test_not_injected(make: object, reason: str) -> None:
    response = make()  # type: ignore[operator]
    before = response.get_data() if not response.is_streamed else None
    found = inject(response, "/_firehose/lcp.js", TOKEN)
    assert found is not None and reason in found
    if before is not None:
        assert response.get_data() == before


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ([], (True, None)),
        (["img-src 'self'"], (True, None)),
        (["default-src 'self'"], (True, None)),
        (["default-src 'none'; script-src 'self'"], (True, None)),
        (["script-src 'nonce-abc'"], (True, "abc")),
        (["script-src 'self' 'nonce-abc'"], (True, "abc")),
        (["default-src 'nonce-abc'"], (True, "abc")),
        (["script-src 'nonce-abc' 'strict-dynamic' 'self'"], (True, "abc")),
        (["script-src 'self' 'strict-dynamic'"], (False, None)),
        (["script-src 'none'"], (False, None)),
        (["script-src https://cdn.example"], (False, None)),
        (["script-src *"], (True, None)),
        (["script-src-elem 'nonce-e'; script-src 'nonce-s'"], (True, "e")),
        (["script-src 'nonce-a'", "script-src 'nonce-b'"], (False, None)),
        (["script-src 'nonce-a' 'nonce-b'", "script-src 'nonce-b'"], (True, "b")),
        (["script-src 'self'", "script-src 'nonce-b'"], (True, "b")),
        (["script-src 'nonce-a', script-src 'self'"], (True, "a")),
        (["SCRIPT-SRC 'SELF'"], (True, None)),
        (["script-src 'self'; script-src 'none'"], (True, None)),
    ],
)
def test_script_allowed(policies: list[str], expected: tuple[bool, str | None]) -> None:
    assert script_allowed(policies) == expected


@pytest.mark.usefixtures("app")
def test_nonce_is_copied() -> None:
    response = _html("<head></head>", **{"Content-Security-Policy": "default-src 'self'; script-src 'nonce-r4nd0m'"})
    assert inject(response, "/p.js", TOKEN) is None
    (attrs,) = script_tags(response.get_data(as_text=True))
    assert attrs["nonce"] == "r4nd0m"


@pytest.mark.parametrize(
    ("policies", "allowed"),
    [
        ([], True),
        (["script-src 'self'"], True),
        (["connect-src 'self'"], True),
        (["default-src 'self'"], True),
        (["connect-src https:"], True),
        (["connect-src 'none'"], False),
        (["default-src 'none'; script-src 'self'"], False),
        (["default-src 'none'; script-src 'self'; connect-src 'self'"], True),
        (["connect-src 'self'", "connect-src https://api.example"], False),
    ],
)
def test_report_allowed(policies: list[str], allowed: bool) -> None:
    from flask_firehose._lcp.inject import report_allowed

    assert report_allowed(policies) is allowed


@pytest.mark.usefixtures("app")
def test_no_script_where_the_report_could_not_go() -> None:
    response = Response("<html><head></head><body></body></html>", mimetype="text/html")
    response.headers["Content-Security-Policy"] = "script-src 'self'; connect-src 'none'"
    assert inject(response, "/_firehose/lcp.js", "t") is not None
    assert b"lcp.js" not in response.get_data()
