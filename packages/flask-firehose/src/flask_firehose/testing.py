"""Helpers for testing apps that use Flask-Firehose.

:func:`record_early_hints` captures the 103s a view sends, through Flask's
test client, the way a WSGI server offering ``wsgi.early_hints`` would see
them; :func:`links_of` parses a response's ``Link`` headers strictly, with
:func:`parse_link_header`, which raises :exc:`MalformedLinkHeader` on anything
RFC 8288 does not allow::

    from flask_firehose.testing import links_of, record_early_hints

    def test_home_hints_its_stylesheet(client):
        with record_early_hints(client) as hints:
            response = client.get("/")
        assert [link.target for link in hints.links[0]] == ["/static/main.css"]
        assert "/static/main.css" in [link.target for link in links_of(response)]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ._parsing import MalformedLinkHeader, ParsedLink, parse_link_header, parse_link_headers
from ._requests import TEST_HTTP2

__all__ = [
    "EarlyHintsRecorder",
    "MalformedLinkHeader",
    "ParsedLink",
    "links_of",
    "parse_link_header",
    "parse_link_headers",
    "record_early_hints",
]


@dataclass
class EarlyHintsRecorder:
    """Stands in for the server's ``wsgi.early_hints`` callback."""

    sent: list[list[tuple[str, str]]] = field(default_factory=list)
    """Each 103, as the list of ``(name, value)`` headers it carried."""

    def __call__(self, headers: list[tuple[str, str]]) -> None:
        self.sent.append(list(headers))

    @property
    def links(self) -> list[list[ParsedLink]]:
        """Each 103's links, parsed strictly (RFC 8288)."""
        return [
            [link for name, value in headers if name.lower() == "link" for link in parse_link_header(value)]
            for headers in self.sent
        ]


@contextmanager
def record_early_hints(
    client: FlaskClient, *, http2: bool = True, navigate: bool = True
) -> Iterator[EarlyHintsRecorder]:
    """Record the 103s sent to requests made with *client* in the block.

    :param http2: present the requests as HTTP/2, as gunicorn marks them
        (103s go only to HTTP/2 clients unless ``FIREHOSE_EARLY_HINTS_HTTP1``).
    :param navigate: send ``Sec-Fetch-Mode: navigate`` as a browser loading a
        page does; a ``headers=`` argument to the request still wins.
    """
    saved = dict(client.environ_base)
    recorder = EarlyHintsRecorder()
    client.environ_base["wsgi.early_hints"] = recorder  # type: ignore[assignment]
    if http2:  # as gunicorn marks its HTTP/2 streams, and what the test client cannot say
        client.environ_base["HTTP_VERSION"] = "2"
        client.environ_base[TEST_HTTP2] = True  # type: ignore[assignment]
    if navigate:
        client.environ_base["HTTP_SEC_FETCH_MODE"] = "navigate"
    try:
        yield recorder
    finally:
        client.environ_base.clear()
        client.environ_base.update(saved)


def links_of(response: TestResponse) -> list[ParsedLink]:
    """Every link of every ``Link`` field of *response*, parsed strictly."""
    return parse_link_headers(response.headers.getlist("Link"))
