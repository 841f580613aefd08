"""What a request is (``_requests.py``): the pure gates, as tables over WSGI
environs (which requests are navigations, which came over HTTP/2 or HTTP/3,
when a 103 may be sent at all), and the facts worked out once per request,
read by both hooks, the learner and the Speculation Rules."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_firehose import Link, _requests, push
from flask_firehose._early_hints import send
from flask_firehose._failure import FailurePolicy
from flask_firehose._requests import RequestFacts, can_send, is_navigation, speaks_http2
from flask_firehose.testing import EarlyHintsRecorder, record_early_hints

from .conftest import AppFactory

NAVIGATE = {"REQUEST_METHOD": "GET", "HTTP_SEC_FETCH_MODE": "navigate"}


@pytest.mark.parametrize(
    ("method", "navigation"),
    [("GET", True), ("HEAD", True), ("POST", False), ("PUT", False), ("PATCH", False), ("DELETE", False),
     ("OPTIONS", False), ("get", False)],
)  # fmt: skip
def test_only_get_and_head_navigate(method: str, navigation: bool) -> None:
    assert is_navigation({**NAVIGATE, "REQUEST_METHOD": method}) is navigation


def test_no_method_is_no_navigation() -> None:
    assert not is_navigation({"HTTP_SEC_FETCH_MODE": "navigate"})


@pytest.mark.parametrize(
    ("mode", "navigation"),
    [("navigate", True), ("cors", False), ("no-cors", False), ("same-origin", False), ("websocket", False),
     ("", False), ("Navigate", False)],
)  # fmt: skip
def test_sec_fetch_mode_decides_when_present(mode: str, navigation: bool) -> None:
    # Even with an Accept naming HTML: Fetch Metadata is what the browser meant.
    environ = {"REQUEST_METHOD": "GET", "HTTP_SEC_FETCH_MODE": mode, "HTTP_ACCEPT": "text/html"}
    assert is_navigation(environ) is navigation


@pytest.mark.parametrize(
    ("accept", "navigation"),
    [
        ("text/html", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json, text/html;q=0.5", True),
        ("*/*", False),
        ("application/json", False),
        ("text/plain", False),
        ("", False),
        (None, False),
        # RFC 9110 §8.3.1: media types are case-insensitive; §12.4.2: q=0 means "not acceptable".
        ("TEXT/HTML", True),
        ("text/html;q=0.5, */*", True),
        ("text/html; q=1.000", True),
        ("text/html;q=0.000, */*;q=0.8", False),
        ("text/html;q=abc", False),
        ("text/html;q=2", False),
        ("application/xhtml+xml, text/htmlx", False),
        ("text/html;q=0, application/json", False),
    ],
)
def test_without_fetch_metadata_accept_decides(accept: str | None, navigation: bool) -> None:
    environ = {"REQUEST_METHOD": "GET"} if accept is None else {"REQUEST_METHOD": "GET", "HTTP_ACCEPT": accept}
    assert is_navigation(environ) is navigation


@pytest.mark.parametrize("header", ["HTTP_HX_REQUEST", "HTTP_TURBO_FRAME", "HTTP_X_REQUESTED_WITH"])
@pytest.mark.parametrize(
    "base", [NAVIGATE, {"REQUEST_METHOD": "GET", "HTTP_ACCEPT": "text/html"}], ids=["fetch", "accept"]
)
def test_fragment_requests_never_navigate(header: str, base: dict[str, str]) -> None:
    assert is_navigation({**base, header: "true"}) is False


@pytest.mark.parametrize(
    ("environ", "http2"),
    [
        ({"HTTP_VERSION": "2"}, True),  # gunicorn's HTTP/2 streams
        ({"SERVER_PROTOCOL": "HTTP/2"}, True),
        ({"SERVER_PROTOCOL": "HTTP/2.0"}, True),
        ({"SERVER_PROTOCOL": "HTTP/3"}, True),
        ({"SERVER_PROTOCOL": "HTTP/3.0"}, True),
        # Over HTTP/1.1, HTTP_VERSION is a client's "Version: 2" header: not trusted.
        ({"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_VERSION": "2"}, False),
        ({"SERVER_PROTOCOL": "HTTP/1.0", "HTTP_VERSION": "2"}, False),
        ({"SERVER_PROTOCOL": "HTTP/1.1", "flask_firehose.testing.http2": True}, True),  # record_early_hints
        ({"SERVER_PROTOCOL": "HTTP/1.1", "flask_firehose.testing.http2": "yes"}, False),
        ({"SERVER_PROTOCOL": "HTTP/1.1"}, False),
        ({"SERVER_PROTOCOL": "HTTP/1.0"}, False),
        ({"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_VERSION": "1.1"}, False),
        ({"SERVER_PROTOCOL": ""}, False),
        ({}, False),
    ],
)
def test_speaks_http2(environ: dict[str, str], http2: bool) -> None:
    assert speaks_http2(environ) is http2


def _hints(headers: list[tuple[str, str]]) -> None:
    pass


@pytest.mark.parametrize(
    ("environ", "allow_http1", "sendable"),
    [
        ({"wsgi.early_hints": _hints, "HTTP_VERSION": "2"}, False, True),
        ({"wsgi.early_hints": _hints, "SERVER_PROTOCOL": "HTTP/2.0"}, False, True),
        ({"wsgi.early_hints": _hints, "SERVER_PROTOCOL": "HTTP/3"}, False, True),
        ({"wsgi.early_hints": _hints, "SERVER_PROTOCOL": "HTTP/1.1"}, False, False),
        ({"wsgi.early_hints": _hints, "SERVER_PROTOCOL": "HTTP/1.1"}, True, True),
        ({"wsgi.early_hints": _hints, "SERVER_PROTOCOL": "HTTP/1.0"}, True, False),  # no 1xx to HTTP/1.0
        ({"wsgi.early_hints": _hints}, True, False),
        ({"HTTP_VERSION": "2"}, True, False),  # the server offers no 103
        ({"SERVER_PROTOCOL": "HTTP/1.1"}, True, False),
        ({"wsgi.early_hints": None, "HTTP_VERSION": "2"}, True, False),
        ({"wsgi.early_hints": "yes", "HTTP_VERSION": "2"}, True, False),
    ],
)
def test_can_send(environ: dict[str, Any], allow_http1: bool, sendable: bool) -> None:
    assert can_send(environ, allow_http1) is sendable


def test_send_without_links_sends_nothing() -> None:
    recorder = EarlyHintsRecorder()
    assert send({"wsgi.early_hints": recorder}, [], FailurePolicy(strict=True)) is False
    assert recorder.sent == []


def test_send_sends_one_103_with_one_link_field() -> None:
    recorder = EarlyHintsRecorder()
    links = [Link("/static/a.css", as_="style"), Link("https://fonts.example", rel="preconnect")]
    assert send({"wsgi.early_hints": recorder}, links, FailurePolicy(strict=True)) is True
    assert [name for name, _ in recorder.sent[0]] == ["Link"]
    assert [(link.target, link.get("rel")) for link in recorder.links[0]] == [
        ("/static/a.css", "preload"),
        ("https://fonts.example", "preconnect"),
    ]


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of one of the module's gates."""
    calls: list[int] = []
    original = getattr(_requests, name)

    def counted(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(_requests, name, counted)
    return calls


def _busy_app(make_app: AppFactory) -> Flask:
    """Hints declared and pushed, learning on, Speculation Rules on: every
    part that asks what a request is has something to do."""
    app, firehose = make_app(FIREHOSE_LEARN_MIN_SEEN=1)
    firehose.declare_hints("/static/app.css")
    firehose.speculate("prefetch", href_matches="/articles/*")

    @app.get("/")
    def page() -> str:
        push("/static/page.js")
        return "<p>page</p>"

    return app


@pytest.mark.parametrize("gate", ["is_navigation", "speaks_http2", "is_static_endpoint"])
@pytest.mark.parametrize("purpose", [None, "prefetch"])
def test_each_question_is_asked_once_per_request(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, gate: str, purpose: str | None
) -> None:
    app = _busy_app(make_app)
    client = app.test_client()
    headers = {"Sec-Fetch-Mode": "navigate", "Cookie": "session=someone"}
    if purpose:
        headers["Sec-Purpose"] = purpose
    with record_early_hints(client) as hints:
        client.get("/", headers=headers)  # warm: memos filled, rules built
        calls = _counting(monkeypatch, gate)
        response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert "Speculation-Rules" in response.headers
    assert len(hints.links) == 2  # a 103 each time: the before-request hook did its work
    assert len(calls) == 1


def test_the_hooks_the_learner_and_the_rules_read_one_facts_object(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _busy_app(make_app)
    made: list[RequestFacts] = []
    original = RequestFacts.__init__

    def recording(self: RequestFacts, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(RequestFacts, "__init__", recording)
    client = app.test_client()
    with record_early_hints(client):
        for _ in range(3):
            client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert len(made) == 3  # one per request, not one per part that asked


def test_credentials_are_read_only_when_asked_and_once() -> None:
    environ = {"REQUEST_METHOD": "GET", "HTTP_COOKIE": "fh-pushed=x; session=1"}
    facts = RequestFacts(environ, "page", early_hints=True, allow_http1=False, own_cookie="fh-pushed")
    assert facts._credentials is None
    assert facts.credentials is True
    environ["HTTP_COOKIE"] = "fh-pushed=x"  # the answer was kept, not read again
    assert facts.credentials is True
    own_only = RequestFacts(
        {"HTTP_COOKIE": "fh-pushed=x"}, "page", early_hints=True, allow_http1=False, own_cookie="fh-pushed"
    )
    assert own_only.credentials is False


@pytest.mark.parametrize(
    ("environ", "early_hints", "allow_http1", "expected"),
    [
        ({"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": print}, True, False, True),
        ({"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": print}, False, False, False),
        ({"SERVER_PROTOCOL": "HTTP/1.1", "wsgi.early_hints": print}, True, False, False),
        ({"SERVER_PROTOCOL": "HTTP/1.1", "wsgi.early_hints": print}, True, True, True),
        ({"SERVER_PROTOCOL": "HTTP/1.0", "wsgi.early_hints": print}, True, True, False),
        ({"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": "not callable"}, True, True, False),
        ({"SERVER_PROTOCOL": "HTTP/2"}, True, True, False),
    ],
)
def test_the_facts_agree_with_the_pure_gate(
    environ: dict[str, Any], early_hints: bool, allow_http1: bool, expected: bool
) -> None:
    facts = RequestFacts(environ, None, early_hints=early_hints, allow_http1=allow_http1, own_cookie=None)
    assert facts.early_hints is expected
    assert facts.early_hints is (early_hints and can_send(environ, allow_http1))
