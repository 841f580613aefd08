"""Appending header fields Firehose checked itself (``_headers``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response
from werkzeug.datastructures import Headers

from flask_firehose import Firehose, push
from flask_firehose._headers import append_checked, checked_value


@pytest.mark.parametrize("value", ["</a.css>; rel=preload", "", "fh-pushed=AAAB; Path=/; HttpOnly", "é ü"])
def test_checked_values_pass_unchanged(value: str) -> None:
    assert checked_value(value) is value


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b", "\n"])
def test_a_value_with_cr_lf_or_nul_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL") as raised:
        checked_value(value)
    assert repr(value[:10])[1:-1] in str(raised.value)


def test_appending_gives_what_add_gives() -> None:
    ours, theirs = Headers([("Content-Type", "text/html")]), Headers([("Content-Type", "text/html")])
    fields = [("Link", "</a.css>; rel=preload; as=style"), ("Set-Cookie", "a=b; Path=/"), ("Link", "</b.js>")]
    for name, value in fields:
        append_checked(ours, name, value)
        theirs.add(name, value)
    assert ours == theirs
    assert ours.to_wsgi_list() == theirs.to_wsgi_list()
    assert ours.getlist("link") == ["</a.css>; rel=preload; as=style", "</b.js>"]


def test_other_header_kinds_get_add() -> None:
    class Recording(Headers):
        def __init__(self) -> None:
            super().__init__()
            self._list = ()  # type: ignore[assignment]  # not a list: append_checked must not touch it
            self.added: list[tuple[str, str]] = []

        def add(self, key: str, value: object, /, **kwargs: object) -> None:
            self.added.append((key, str(value)))

    headers = Recording()
    append_checked(headers, "Link", "</a.css>")
    assert headers.added == [("Link", "</a.css>")]


class _AuditedHeaders(Headers):
    """A Headers subclass with its own rule for added fields (a policy, an audit)."""

    def __init__(self, defaults: Any = None) -> None:
        super().__init__(defaults)
        self.audit: list[str] = []

    def add(self, key: str, value: Any, /, **kw: Any) -> None:
        self.audit.append(key)
        super().add(key, value, **kw)


def test_append_checked_leaves_a_headers_subclass_its_own_add() -> None:
    """Only Werkzeug's own Headers class gets its list written directly; a
    subclass's overridden ``add`` runs for Firehose's fields too."""
    headers = _AuditedHeaders()
    append_checked(headers, "Link", "</static/a.css>; rel=preload; as=style")
    assert headers.audit == ["Link"]


def test_a_response_carries_the_appended_fields_on_the_wire() -> None:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s")
    Firehose(app)

    @app.get("/")
    def index() -> Response:
        push("/static/app.css")
        return Response("<p>x", headers={"Link": "</static/own.js>; rel=preload; as=script"})

    response = app.test_client().get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.headers.getlist("Link") == [
        "</static/own.js>; rel=preload; as=script",
        "</static/app.css>; rel=preload; as=style",
    ]
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("fh-pushed=") and "\r" not in cookies[0]
