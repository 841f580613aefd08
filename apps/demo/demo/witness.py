"""What Firehose did for a response, as the server saw it leave: the demo's panel.

:class:`Witness` wraps the app's WSGI callable, outside Flask and so outside
every Flask hook (Firehose's after-request hook runs after all the others, so
no hook of the demo could see the final ``Link`` header). It uses only the
WSGI contract Firehose itself relies on:

- it wraps ``environ["wsgi.early_hints"]``, the server's callback, so it
  records each 103's headers exactly as they were handed to the server;
- it reads the final headers the app passes to ``start_response``.

In an HTML page it then replaces the footer's ``<!--firehose-panel-->`` marker
(which only a template can write: autoescaping turns any ``<`` a user sends
into ``&lt;``) with ``templates/_firehose_panel.html`` rendered from those
records, and corrects ``Content-Length``. The browser half of the panel
(which files came early, the page's FCP) is ``static/js/panel.js``.

``?hints=off`` on any page is the **no-hints twin** the ``/compare`` page
measures against: the app is given no ``wsgi.early_hints`` (as on a server
without 103 support, so Firehose sends none) and the final ``Link`` fields are
removed. The app itself runs unchanged (its links are still computed, learned
and tracked); only the wire loses the hints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from flask import Flask

from flask_firehose.testing import ParsedLink, parse_link_header

__all__ = ["MARKER", "Witness", "hints_off"]

MARKER = b"<!--firehose-panel-->"
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def hints_off(environ: dict[str, Any]) -> bool:
    """Whether the request asks for the no-hints twin (``?hints=off``)."""
    return parse_qs(environ.get("QUERY_STRING", "")).get("hints") == ["off"]


@dataclass(frozen=True)
class ShownLink:
    """One link as the panel lists it."""

    target: str
    params: str
    pushable: bool


@dataclass
class Record:
    """What left the server for one response."""

    twin: bool
    server_103: bool
    early: list[list[ShownLink]] = field(default_factory=list)
    link_fields: list[str] = field(default_factory=list)
    final: list[ShownLink] = field(default_factory=list)
    removed: int = 0
    unreadable: list[str] = field(default_factory=list)


def _shown(value: str, record: Record) -> list[ShownLink]:
    try:
        links = parse_link_header(value)
    except ValueError:
        record.unreadable.append(value)
        return []
    return [_show(link) for link in links]


def _show(link: ParsedLink) -> ShownLink:
    params = "; ".join(name if value is None else f"{name}={value}" for name, value in link.params)
    # What a pushing proxy (nginx http2_push_preload, Apache H2Push, h2o) pushes:
    # a same-origin path with rel=preload and no nopush.
    pushable = (
        "preload" in link.rels
        and link.target.startswith("/")
        and not link.target.startswith("//")
        and not link.has("nopush")
    )
    return ShownLink(link.target, params, pushable)


class Witness:
    """WSGI middleware: records the 103s and the final ``Link`` header, renders the panel."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.inner: WSGIApp = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        twin = hints_off(environ)
        server_callback = environ.get("wsgi.early_hints")
        record = Record(twin=twin, server_103=callable(server_callback))
        if twin:
            environ.pop("wsgi.early_hints", None)
        elif callable(server_callback):

            def early_hints(headers: list[tuple[str, str]]) -> object:
                shown: list[ShownLink] = []
                for name, value in headers:
                    if name.lower() == "link":
                        shown.extend(_shown(value, record))
                record.early.append(shown)
                return server_callback(headers)

            environ["wsgi.early_hints"] = early_hints

        seen: list[tuple[str, list[tuple[str, str]], ExcInfo | None]] = []

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            seen.append((status, headers, exc_info))
            return lambda data: None  # Flask never uses write()

        body = self.inner(environ, capture)
        status, headers, exc_info = seen[-1]
        if twin:
            record.removed = sum(1 for name, _ in headers if name.lower() == "link")
            headers = [(name, value) for name, value in headers if name.lower() != "link"]
        for name, value in headers:
            if name.lower() == "link":
                record.link_fields.append(value)
                record.final.extend(_shown(value, record))
        content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
        if not content_type.startswith("text/html"):
            start_response(status, headers, exc_info)
            return body
        try:
            page = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        at = page.rfind(MARKER)
        if at >= 0:
            page = page[:at] + self._render(record) + page[at + len(MARKER) :]
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
            headers.append(("Content-Length", str(len(page))))
        start_response(status, headers, exc_info)
        return [page]

    def _render(self, record: Record) -> bytes:
        with self.app.app_context():
            template = self.app.jinja_env.get_template("_firehose_panel.html")
            return template.render(record=record).encode()
