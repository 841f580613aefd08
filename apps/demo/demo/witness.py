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
records. The page up to the marker is sent at once, the panel and the rest
after it, without ``Content-Length`` (a HEAD gets the same headers: the app
runs it as the GET, and its body is dropped): the panel's lookups (the routes report
takes a few milliseconds) run while the browser already reads the page. The browser half of the panel
(which files came early, the page's FCP and LCP, the last /compare run) is
``static/js/panel.js``.

For a GET navigation it also asks, before the app runs, which endpoint the
URL is and what the app's push connector (``Firehose(connector=...)``) holds
for this visitor: a ``nopush`` of the final header on a link the visitor was
already pushed is then shown as *not pushed again*. Where each link of the
103 was known from is worked out when the panel is rendered
(``demo/provenance.py``).

``?hints=off`` on any page is the **no-hints twin** the ``/compare`` page
measures against: the app is given no ``wsgi.early_hints`` (as on a server
without 103 support, so Firehose sends none) and the final ``Link`` fields are
removed. The app itself runs unchanged (its links are still computed, learned
and tracked); only the wire loses the hints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, has_request_context, request

from flask_firehose.testing import ParsedLink, parse_link_header

from .provenance import SOURCES, link_sources, source_of

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
    """One link as the panel lists it.

    :param source: for a 103's link, where it was known from (a key of
        :data:`demo.provenance.SOURCES`).
    :param tracked: for the final header's, a ``nopush`` on a link this
        visitor had already been pushed.
    """

    target: str
    params: str
    pushable: bool
    source: str = ""
    tracked: bool = False

    @property
    def source_text(self) -> str:
        return SOURCES.get(self.source, "")


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
    endpoint: str | None = None
    #: What the push connector held for this visitor before the view ran
    #: (``None``: not asked, not a GET navigation, or it failed).
    pushed_before: frozenset[str] | None = None
    parsed_early: list[list[ParsedLink]] = field(default_factory=list)
    #: Links known for the page (declared, learned) that its 103 left out
    #: because this visitor had already been pushed them.
    left_out: list[ShownLink] = field(default_factory=list)

    @property
    def not_pushed_again(self) -> list[ShownLink]:
        return [link for link in self.final if link.tracked]

    @property
    def sources(self) -> dict[str, int]:
        """How many links of the 103s came from each source, in the panel's order."""
        counts = {key: 0 for key in SOURCES}
        for links in self.early:
            for link in links:
                counts[link.source or "unknown"] += 1
        return {key: count for key, count in counts.items() if count}


def _parsed(value: str, record: Record) -> list[ParsedLink]:
    try:
        return parse_link_header(value)
    except ValueError:
        record.unreadable.append(value)
        return []


def _navigation(environ: dict[str, Any]) -> bool:
    """A GET that a browser's navigation (or anything asking for HTML) sent."""
    if environ.get("REQUEST_METHOD") != "GET":
        return False
    mode = environ.get("HTTP_SEC_FETCH_MODE")
    return mode == "navigate" if mode else "text/html" in environ.get("HTTP_ACCEPT", "")


def _show(link: ParsedLink, source: str = "", tracked: bool = False) -> ShownLink:
    params = "; ".join(name if value is None else f"{name}={value}" for name, value in link.params)
    # What a pushing proxy (nginx http2_push_preload, Apache H2Push, h2o) pushes:
    # a same-origin path with rel=preload and no nopush.
    pushable = (
        "preload" in link.rels
        and link.target.startswith("/")
        and not link.target.startswith("//")
        and not link.has("nopush")
    )
    return ShownLink(link.target, params, pushable, source, tracked)


class Witness:
    """WSGI middleware: records the 103s and the final ``Link`` header, renders the panel."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.inner: WSGIApp = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        twin = hints_off(environ)
        server_callback = environ.get("wsgi.early_hints")
        record = Record(twin=twin, server_103=callable(server_callback))
        if _navigation(environ):
            self._before(environ, record)
        if twin:
            environ.pop("wsgi.early_hints", None)
        elif callable(server_callback):

            def early_hints(headers: list[tuple[str, str]]) -> object:
                parsed: list[ParsedLink] = []
                for name, value in headers:
                    if name.lower() == "link":
                        parsed.extend(_parsed(value, record))
                record.parsed_early.append(parsed)
                sent = server_callback(headers)
                if record.endpoint is None and has_request_context():  # not asked before: not a GET navigation
                    record.endpoint = request.endpoint
                return sent

            environ["wsgi.early_hints"] = early_hints

        # A HEAD is answered with the headers a GET would send: the app runs it
        # as a GET (Flask runs the same view for both), the body is dropped at
        # the end. Otherwise the app's Content-Length (of the page without the
        # panel) would be sent where a GET sends none.
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if head:
            environ = {**environ, "REQUEST_METHOD": "GET"}
        seen: list[tuple[str, list[tuple[str, str]], ExcInfo | None]] = []

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            seen.append((status, headers, exc_info))
            return lambda data: None  # Flask never uses write()

        body = self.inner(environ, capture)
        if head:
            return self._headers_only(body, record, seen, start_response)
        return self._answer(body, record, seen, start_response)

    def _answer(
        self,
        body: Iterable[bytes],
        record: Record,
        seen: list[tuple[str, list[tuple[str, str]], ExcInfo | None]],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """Start the response, with the panel in an HTML page; return its body."""
        status, headers, exc_info = seen[-1]
        if record.twin:
            record.removed = sum(1 for name, _ in headers if name.lower() == "link")
            headers = [(name, value) for name, value in headers if name.lower() != "link"]
        pushed = record.pushed_before or frozenset()
        for name, value in headers:
            if name.lower() == "link":
                record.link_fields.append(value)
                record.final.extend(
                    _show(link, tracked=link.has("nopush") and link.target in pushed) for link in _parsed(value, record)
                )
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
        if at < 0:
            start_response(status, headers, exc_info)
            return [page]
        # The page up to the marker goes out at once; the panel (whose lookups
        # take a few milliseconds) and the rest follow, without a Content-Length.
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        start_response(status, headers, exc_info)
        return self._stream(page[:at], record, page[at + len(MARKER) :])

    def _headers_only(
        self,
        body: Iterable[bytes],
        record: Record,
        seen: list[tuple[str, list[tuple[str, str]], ExcInfo | None]],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """Start the response a GET would, send no body."""
        sent: list[tuple[str, list[tuple[str, str]], ExcInfo | None]] = []

        def keep(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            sent.append((status, headers, exc_info))
            return lambda data: None

        answered = self._answer(body, record, seen, keep)
        close = getattr(answered, "close", None)  # the panel is never rendered
        if close is not None:
            close()
        status, headers, exc_info = sent[-1]
        start_response(status, headers, exc_info)
        return []

    def _stream(self, head: bytes, record: Record, tail: bytes) -> Iterator[bytes]:
        yield head
        try:
            panel = self._render(record)
        except Exception:  # the panel is never worth a broken page
            self.app.logger.exception("demo panel: rendering failed")
            panel = b"<p>The demo's panel failed: see the server's log.</p>"
        yield panel + tail

    def _before(self, environ: dict[str, Any], record: Record) -> None:
        """The endpoint of the URL and what the push connector holds for this
        visitor, read in a request context of a copy of *environ* before the
        app runs (the app's own request then reads them afresh)."""
        firehose = self.app.extensions.get("firehose")
        connector = getattr(firehose, "connector", None)
        try:
            with self.app.request_context(dict(environ)):
                record.endpoint = request.endpoint
                if connector is not None:
                    record.pushed_before = frozenset(connector.get_pushed())
        except Exception:  # the panel is never worth a failed page
            self.app.logger.exception("demo panel: reading the visitor's pushes failed")

    def _render(self, record: Record) -> bytes:
        with self.app.app_context():
            known: dict[str, str] = {}
            if record.server_103 and not record.twin and record.endpoint is not None:
                try:
                    known = link_sources(self.app, record.endpoint)
                except Exception:  # a failing hint store: every link's source unknown
                    self.app.logger.exception("demo panel: reading the routes report failed")
            record.early = [[_show(link, source_of(link, known)) for link in links] for links in record.parsed_early]
            # A 103 that may meet a pushing front (sent over HTTP/1.1) leaves out
            # what this visitor was already pushed: the panel names those.
            sent = {link.target for links in record.parsed_early for link in links}
            pushed = record.pushed_before or frozenset()
            record.left_out = [
                ShownLink(target, "", False, source, tracked=True)
                for target, source in known.items()
                if target not in sent and target in pushed
            ]
            template = self.app.jinja_env.get_template("_firehose_panel.html")
            return template.render(record=record).encode()
