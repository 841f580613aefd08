"""``firehose probe``: the checks as tables, the JSON shape, the text report
(golden), the cookie jar, and the HTTP/1.1 and cleartext HTTP/2 clients
against small in-process servers built on ``h11`` and ``h2``."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h11
import pytest

from flask_firehose._probe import run as _probe
from flask_firehose._probe.checks import ServedFile, check, files_to_check, head_size
from flask_firehose._probe.report import render_json, render_text
from flask_firehose._probe.result import ProbeResult, ProbeWarning
from flask_firehose._probe.run import CookieJar, ProbeOptions, probe, probe_visits
from flask_firehose._probe.transport import MAX_KEPT, ProbeError, RawExchange, RawPush, RawResponse

PAGE = "https://example.test/page"


def visit(
    final: str | Sequence[str] = (),
    *,
    hints: Sequence[tuple[float, str]] = (),
    protocol: str = "h2",
    final_at: float = 0.1,
    headers: Sequence[tuple[str, str]] = (),
    url: str = PAGE,
    navigation: bool = False,
) -> ProbeResult:
    """A result made the way the probe makes one: from what came off the wire.
    Not a navigation unless asked: the checks of the final header are then
    read without the missing-103 check (tested on its own, below)."""
    values = [final] if isinstance(final, str) else list(final)
    raw = RawExchange(
        informational=[RawResponse(103, (("link", value),), at) for at, value in hints],
        final=RawResponse(200, (*(("link", value) for value in values), *headers), final_at),
        complete=True,
    )
    assert raw.final is not None
    return _probe._result(url, protocol, raw, raw.final, navigation=navigation)


def codes(result: ProbeResult, served: dict[str, ServedFile] | None = None) -> list[str]:
    return [warning.code for warning in check(result, served or {})]


# -- the checks -----------------------------------------------------------------------

CHECK_TABLE = [
    ("clean preload", visit("</a.css>; rel=preload; as=style"), []),
    ("preconnect needs no as", visit("<https://cdn.test>; rel=preconnect"), []),
    ("preload without as", visit("</a.css>; rel=preload"), ["preload-without-as"]),
    ("as browsers ignore", visit("</a.css>; rel=preload; as=stylesheet"), ["preload-invalid-as"]),
    ("as is case-insensitive", visit("</a.css>; rel=preload; as=Style"), []),
    ("font without crossorigin", visit("</f.woff2>; rel=preload; as=font"), ["font-without-crossorigin"]),
    ("font with crossorigin", visit("</f.woff2>; rel=preload; as=font; crossorigin"), []),
    ("malformed final header", visit("</a.css>; rel=preload; as=style,"), ["malformed-link"]),
    ("malformed 103", visit(hints=[(0.01, "</a.css; rel=preload")]), ["malformed-link"]),
    ("nopush in a 103", visit(hints=[(0.01, "</a.css>; rel=preload; as=style; nopush")]), ["hint-ignored"]),
    (
        "integrity in a 103",
        visit(hints=[(0.01, '</a.js>; rel=preload; as=script; integrity="sha384-x"')]),
        ["hint-ignored"],
    ),
    ("prefetch in a 103", visit(hints=[(0.01, "</b.html>; rel=prefetch")]), ["hint-ignored"]),
    ("preload without as in a 103, said once", visit(hints=[(0.01, "</a.css>; rel=preload")]), ["hint-ignored"]),
    (
        "links only in a second 103",
        visit(hints=[(0.01, "</a.css>; rel=preload; as=style"), (0.02, "</b.js>; rel=preload; as=script")]),
        ["hint-after-first"],
    ),
    (
        "a second 103 repeating the first",
        visit(hints=[(0.01, "</a.css>; rel=preload; as=style"), (0.02, "</a.css>; rel=preload; as=style")]),
        ["hint-after-first"],
    ),
    (
        "what a second 103 holds is not judged link by link",
        visit(hints=[(0.01, "</a.css>; rel=preload; as=style"), (0.02, "</b.js>; rel=prefetch; nopush")]),
        ["hint-after-first"],
    ),
    (
        "a 103 over HTTP/1.1",
        visit(hints=[(0.01, "</a.css>; rel=preload; as=style")], protocol="http/1.1"),
        ["hint-protocol-ignored"],
    ),
    (
        "a 103 over h2c",
        visit(hints=[(0.01, "</a.css>; rel=preload; as=style")], protocol="h2c"),
        ["hint-protocol-ignored"],
    ),
    ("HTTP/1.1 without a 103", visit("</a.css>; rel=preload; as=style", protocol="http/1.1"), []),
    (
        "a 103 with the final headers",
        visit(hints=[(0.1, "</a.css>; rel=preload; as=style")], final_at=0.1),
        ["hint-not-early"],
    ),
    ("a head nginx cannot buffer", visit(headers=[("x-big", "x" * 4100)]), ["head-too-large"]),
    ("a head nginx can buffer", visit(headers=[("x-big", "x" * 3900)]), []),
    ("cross-origin marked for push", visit("<https://cdn.test/a.js>; rel=preload; as=script"), ["push-cross-origin"]),
    ("scheme-relative marked for push", visit("<//cdn.test/a.js>; rel=preload; as=script"), ["push-cross-origin"]),
    ("cross-origin with nopush", visit("<https://cdn.test/a.js>; rel=preload; as=script; nopush"), []),
    ("relative marked for push", visit("<a.css>; rel=preload; as=style"), ["push-relative"]),
    ("relative with nopush", visit("<a.css>; rel=preload; as=style; nopush"), []),
    (
        "every problem once, in order",
        visit(["</a.css>; rel=preload", "</a.css>; rel=preload"], hints=[(0.2, "</f.woff2>; rel=preload; as=font")]),
        ["font-without-crossorigin", "preload-without-as", "hint-not-early"],
    ),
]


@pytest.mark.parametrize(("result", "expected"), [case[1:] for case in CHECK_TABLE], ids=[c[0] for c in CHECK_TABLE])
def test_checks(result: ProbeResult, expected: list[str]) -> None:
    assert codes(result) == expected


SERVED_TABLE = [
    ("cacheable", ServedFile("/a.css", 200, "public, max-age=31536000, immutable"), []),
    ("no-cache", ServedFile("/a.css", 200, "no-cache"), ["file-not-cacheable"]),
    ("no Cache-Control", ServedFile("/a.css", 200, None), ["file-not-cacheable"]),
    ("missing", ServedFile("/a.css", 404, "max-age=60"), ["file-status"]),
    ("not asked", ServedFile("/a.css", 0, None, "timed out after 1 s waiting for an answer"), ["file-check-failed"]),
]


@pytest.mark.parametrize(("served", "expected"), [case[1:] for case in SERVED_TABLE], ids=[c[0] for c in SERVED_TABLE])
def test_served_file_checks(served: ServedFile, expected: list[str]) -> None:
    assert codes(visit("</a.css>; rel=preload; as=style"), {"/a.css": served}) == expected


@pytest.mark.parametrize(
    ("cache_control", "cacheable"),
    [
        (None, False),
        ("", False),
        ("no-cache", False),
        ("max-age=0", False),
        ("no-store, max-age=60", False),
        ("no-cache, max-age=60", False),
        ("max-age=3600", True),
        ("MAX-AGE=3600", True),
        ("private, max-age=60", True),
        ("s-maxage=60", True),
        ('no-cache="set-cookie", max-age=60', True),
        # RFC 9111 §5.2.2.4: a qualified no-cache concerns the named fields
        # only; the lint reads this value the same way (tests/test_lint.py).
        ('no-cache="Set-Cookie", max-age=600', True),
        ("max-age=soon", False),
    ],
)
def test_a_hinted_file_is_cacheable_as_its_cache_control_says(cache_control: str | None, cacheable: bool) -> None:
    served = {"/a.css": ServedFile("/a.css", 200, cache_control)}
    found = codes(visit("</a.css>; rel=preload; as=style"), served)
    assert found == ([] if cacheable else ["file-not-cacheable"])


def test_head_size_counts_the_head_as_http1_writes_it() -> None:
    # "HTTP/1.1 200 \r\n" (15) + "link: </a.css>\r\n" (16) + "\r\n" (2)
    assert head_size(200, [("link", "</a.css>")]) == 33


def test_files_to_check_are_the_same_origin_preloads_once() -> None:
    result = visit(
        [
            "</a.css>; rel=preload; as=style, <b.css>; rel=preload; as=style",
            "<https://example.test/c.js>; rel=modulepreload, <https://cdn.test/d.js>; rel=preload; as=script",
            "</e.html>; rel=prefetch, <http://example.test/f.css>; rel=preload; as=style",
        ],
        hints=[(0.01, "</g.js>; rel=preload; as=script, </a.css>; rel=preload; as=style")],
    )
    assert files_to_check(result) == ["/g.js", "/a.css", "b.css", "https://example.test/c.js"]


# -- the result as data --------------------------------------------------------------


def test_json_has_the_documented_shape() -> None:
    result = visit(
        '</a.css>; rel=preload; as=style; nopush, </f.woff2>; rel="preload"; as=font; crossorigin',
        hints=[(0.0123, "</a.css>; rel=preload; as=style")],
        final_at=0.25,
    )
    result = _with(result, pushes=(_probe.Push("/a.css", 200, 1234),), warnings=(ProbeWarning("x", "y"),))
    assert result.to_json() == {
        "url": PAGE,
        "protocol": "h2",
        "early_hints": [{"at_ms": 12.3, "links": [{"target": "/a.css", "rel": "preload", "params": {"as": "style"}}]}],
        "status": 200,
        "final_at_ms": 250.0,
        "links": [
            {"target": "/a.css", "rel": "preload", "params": {"as": "style", "nopush": None}},
            {"target": "/f.woff2", "rel": "preload", "params": {"as": "font", "crossorigin": None}},
        ],
        "pushes": [{"path": "/a.css", "status": 200, "bytes": 1234}],
        "warnings": [{"code": "x", "message": "y"}],
    }


def test_json_is_a_list_for_repeated_visits() -> None:
    import json

    one = visit("</a.css>; rel=preload; as=style")
    assert isinstance(json.loads(render_json([one], as_list=False)), dict)
    assert [item["status"] for item in json.loads(render_json([one, one], as_list=True))] == [200, 200]


def _with(result: ProbeResult, **changes: object) -> ProbeResult:
    import dataclasses

    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


GOLDEN = """\
https://example.test/page  HTTP/2 over TLS  visit 1 of 2

103 Early Hints: 1
  at 12.3 ms: 2 links
    </static/main.css>  preload  as=style
    </static/font.woff2>  preload  as=font

Final response: 200 at 512.0 ms
  Link header: 3 links
    </static/main.css>  preload  as=style
    </static/font.woff2>  preload  as=font crossorigin
    <https://cdn.test/lib.js>  preload  as=script nopush

HTTP/2 push: 2 streams
    /static/main.css  200  5120 bytes
    /static/font.woff2  no answer  0 bytes  (incomplete)

Warnings: 1
  font-without-crossorigin: font preload of </static/font.woff2> lacks crossorigin: the font downloads twice

https://example.test/page  HTTP/1.1  visit 2 of 2

103 Early Hints: none

Final response: 304 at 3.0 ms
  Link header: none

HTTP/2 push: not possible over HTTP/1.1

Warnings: none"""


def test_text_report_golden() -> None:
    first = visit(
        "</static/main.css>; rel=preload; as=style, </static/font.woff2>; rel=preload; as=font; crossorigin, "
        "<https://cdn.test/lib.js>; rel=preload; as=script; nopush",
        hints=[(0.0123, "</static/main.css>; rel=preload; as=style, </static/font.woff2>; rel=preload; as=font")],
        final_at=0.512,
    )
    pushes = (_probe.Push("/static/main.css", 200, 5120), _probe.Push("/static/font.woff2", 0, 0, complete=False))
    first = _with(first, pushes=pushes, warnings=tuple(check(first, {})))
    second = _with(visit(protocol="http/1.1", final_at=0.003), status=304)
    assert render_text([first, second]) == GOLDEN


def test_text_report_in_colour_is_the_same_text() -> None:
    import click

    result = visit("</a.css>; rel=preload", hints=[(0.01, "</a.css>; rel=preload; as=style")])
    result = _with(result, warnings=tuple(check(result, {})))
    coloured = render_text([result], color=True)
    assert "\x1b[" in coloured
    assert click.unstyle(coloured) == render_text([result])


# -- the cookie jar and the request ---------------------------------------------------


def test_cookie_jar_keeps_what_the_server_sets() -> None:
    jar = CookieJar.of("a=1; b=2")
    jar.update(["b=3; Path=/; HttpOnly", "session=xyz; Secure", "a=; Max-Age=0", "broken"])
    assert jar.header() == "b=3; session=xyz"
    assert CookieJar.of(None).header() is None


def test_request_headers_are_a_navigation_that_h_options_replace() -> None:
    options = ProbeOptions(headers=(("accept", "application/json"), ("x-debug", "1")), cookie="a=1")
    sent = dict(_probe._request_headers(options, CookieJar.of(options.cookie)))
    assert sent["accept"] == "application/json"
    assert sent["sec-fetch-mode"] == "navigate" and sent["sec-fetch-dest"] == "document"
    assert sent["x-debug"] == "1" and sent["cookie"] == "a=1"
    plain = dict(_probe._request_headers(ProbeOptions(navigate=False), CookieJar()))
    assert plain["accept"] == "*/*" and "sec-fetch-mode" not in plain


@pytest.mark.parametrize("url", ["ftp://example.test/", "https:///path", "example.test/page"])
def test_only_http_urls_are_probed(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL|host"):
        probe(url)


# -- against in-process servers --------------------------------------------------------


@dataclass
class Answer:
    """What a test server answers to one request."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    hints: list[list[tuple[str, str]]] = field(default_factory=list)
    think: float = 0.0
    pushes: dict[str, bytes] = field(default_factory=dict)


Site = Callable[[str, str, dict[str, str]], Answer]
"""(method, path, request headers) -> the answer."""


@contextmanager
def serving(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listening socket on a free 127.0.0.1 port, each connection handled
    by *handle* in a thread; closed when the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            threading.Thread(target=_closing(handle), args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _closing(handle: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    def run(conn: socket.socket) -> None:
        try:
            handle(conn)
        except (OSError, h11.ProtocolError, h2.exceptions.H2Error):
            pass  # the client under test went away, or spoke another protocol
        finally:
            conn.close()

    return run


def http1_server(site: Site, keep_alive: bool = True) -> Callable[[socket.socket], None]:
    """An HTTP/1.1 server (``h11``) answering with *site*, hints as 103s."""

    def handle(sock: socket.socket) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                conn.receive_data(data)
                if not data:
                    return
                continue
            if isinstance(event, h11.Request):
                headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                answer = site(event.method.decode(), event.target.decode(), headers)
                for hint in answer.hints:
                    sock.sendall(conn.send(h11.InformationalResponse(status_code=103, headers=hint)) or b"")
                time.sleep(answer.think)
                extra = [] if keep_alive else [("Connection", "close")]
                length = [("Content-Length", str(len(answer.body)))]
                response = h11.Response(status_code=answer.status, headers=[*answer.headers, *length, *extra])
                out = conn.send(response) or b""
                if event.method != b"HEAD":
                    out += conn.send(h11.Data(data=answer.body)) or b""
                sock.sendall(out + (conn.send(h11.EndOfMessage()) or b""))
            elif isinstance(event, h11.EndOfMessage):
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return

    return handle


def h2c_server(site: Site) -> Callable[[socket.socket], None]:
    """A cleartext HTTP/2 server (``h2``, prior knowledge) answering with *site*,
    hints as 103s and each of ``pushes`` as a PUSH_PROMISE."""

    def handle(sock: socket.socket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="latin-1"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        while data := sock.recv(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
                    _answer_h2(sock, conn, event.stream_id, dict(event.headers or []), site)  # type: ignore[arg-type]
            sock.sendall(conn.data_to_send())

    return handle


def _answer_h2(
    sock: socket.socket, conn: h2.connection.H2Connection, stream: int, headers: dict[str, str], site: Site
) -> None:
    method, path = headers[":method"], headers[":path"]
    answer = site(method, path, headers)
    for hint in answer.hints:
        conn.send_headers(stream, [(":status", "103"), *hint])
        sock.sendall(conn.data_to_send())
    time.sleep(answer.think)
    for pushed_path, body in answer.pushes.items():
        promised = conn.get_next_available_stream_id()
        request = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", headers[":authority"]),
            (":path", pushed_path),
        ]
        conn.push_stream(stream, promised, request)
        conn.send_headers(promised, [(":status", "200"), ("content-length", str(len(body)))])
        conn.send_data(promised, body, end_stream=True)
    response = [(":status", str(answer.status)), *answer.headers]
    if method == "HEAD" or not answer.body:
        conn.send_headers(stream, response, end_stream=True)
    else:
        conn.send_headers(stream, response)
        conn.send_data(stream, answer.body, end_stream=True)
    sock.sendall(conn.data_to_send())


CSS = b"body { color: teal }"
LINKS = "</static/a.css>; rel=preload; as=style, </static/b.js>; rel=preload; as=script"


def demo_site(method: str, path: str, headers: dict[str, str]) -> Answer:
    """A page hinting two files (one not cacheable), tracking pushes in a cookie."""
    if path == "/static/a.css":
        return Answer(headers=[("cache-control", "max-age=3600")], body=CSS)
    if path == "/static/b.js":
        return Answer(headers=[("cache-control", "no-cache")], body=b"1")
    if path != "/":
        return Answer(status=404)
    returning = "seen=1" in headers.get("cookie", "")
    hints = [[("link", "</static/a.css>; rel=preload; as=style")]]
    return Answer(
        headers=[("link", LINKS), ("set-cookie", "seen=1; Path=/"), ("content-type", "text/html")],
        body=b"<!doctype html><title>page</title>",
        hints=[] if returning else hints,
        think=0.05,
        pushes={} if returning else {"/static/a.css": CSS},
    )


def test_http1_probe_records_the_103_before_the_final_headers() -> None:
    with serving(http1_server(demo_site)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert result.protocol == "http/1.1" and result.status == 200
    (hint,) = result.early_hints
    assert [link.target for link in hint.links] == ["/static/a.css"]
    assert hint.at_ms < result.final_at_ms
    assert result.final_at_ms >= 50
    assert [link.target for link in result.links] == ["/static/a.css", "/static/b.js"]
    assert [w.code for w in result.warnings] == ["hint-protocol-ignored", "file-not-cacheable"]
    assert "/static/b.js" in result.warnings[1].message


def test_http1_reconnects_when_the_server_closes_each_connection() -> None:
    with serving(http1_server(demo_site, keep_alive=False)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert [w.code for w in result.warnings] == ["hint-protocol-ignored", "file-not-cacheable"]


def test_a_file_refusing_head_is_asked_with_get() -> None:
    asked: list[str] = []

    def site(method: str, path: str, headers: dict[str, str]) -> Answer:
        asked.append(f"{method} {path}")
        if path == "/":
            return Answer(headers=[("link", "</x.css>; rel=preload; as=style")])
        if method == "HEAD":
            return Answer(status=405)
        return Answer(headers=[("cache-control", "no-store")], body=b"x")

    with serving(http1_server(site)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert asked == ["GET /", "HEAD /x.css", "GET /x.css"]
    assert [w.code for w in result.warnings] == ["hint-missing", "file-not-cacheable"]


def test_h2c_probe_records_hints_and_pushes_and_tracking_stops_them() -> None:
    with serving(h2c_server(demo_site)) as port:
        first, second = probe_visits(f"http://127.0.0.1:{port}/", ProbeOptions(protocol="http2", timeout=5), repeat=2)
    assert first.protocol == "h2c"
    assert [(p.path, p.status, p.bytes, p.complete) for p in first.pushes] == [("/static/a.css", 200, len(CSS), True)]
    (hint,) = first.early_hints
    assert hint.at_ms < first.final_at_ms
    assert [w.code for w in first.warnings] == ["hint-protocol-ignored", "file-not-cacheable"]
    # The cookie set on the first visit went with the second.
    assert second.pushes == () and second.early_hints == ()
    assert [w.code for w in second.warnings] == ["hint-missing", "file-not-cacheable"]


def test_without_file_checks_nothing_else_is_asked() -> None:
    asked: list[str] = []

    def site(method: str, path: str, headers: dict[str, str]) -> Answer:
        asked.append(path)
        return demo_site(method, path, headers)

    with serving(http1_server(site)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5, check_files=False))
    assert asked == ["/"]
    assert [w.code for w in result.warnings] == ["hint-protocol-ignored"]


def test_a_timeout_while_checking_files_is_a_warning_not_a_failure() -> None:
    def site(method: str, path: str, headers: dict[str, str]) -> Answer:
        if path == "/":
            return Answer(headers=[("link", "</x.css>; rel=preload; as=style")])
        return Answer(think=2.0)

    with serving(http1_server(site)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=0.5))
    assert [w.code for w in result.warnings] == ["hint-missing", "file-check-failed"]
    assert "timed out after 0.5 s" in result.warnings[1].message


def test_a_clock_can_be_injected() -> None:
    ticks = iter(range(1000))
    with serving(http1_server(demo_site)) as port:
        result = probe(
            f"http://127.0.0.1:{port}/", ProbeOptions(timeout=1000, check_files=False), clock=lambda: next(ticks)
        )
    # Every time is whole ticks since the request left.
    assert all(float(hint.at_ms).is_integer() and hint.at_ms >= 1000 for hint in result.early_hints)
    assert result.final_at_ms > result.early_hints[0].at_ms


@pytest.mark.parametrize(
    ("handler", "kind", "message"),
    [
        (lambda sock: sock.sendall(b"\x00\x01garbage\r\n\r\n"), "protocol", "does not speak HTTP/1.1"),
        (lambda sock: sock.recv(65536), "closed", "closed the connection before answering"),
    ],
    ids=["garbage", "closed"],
)
def test_what_is_not_an_http1_answer(handler: Callable[[socket.socket], None], kind: str, message: str) -> None:
    with serving(handler) as port, pytest.raises(ProbeError) as caught:
        probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert caught.value.kind == kind
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_silent_server_times_out() -> None:
    with serving(lambda sock: time.sleep(1.5)) as port, pytest.raises(ProbeError) as caught:
        probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=0.3))
    assert caught.value.kind == "timeout"
    assert caught.value.message == "timed out after 0.3 s waiting for an answer"


def test_h2c_to_an_http1_server_says_so() -> None:
    with serving(http1_server(demo_site)) as port, pytest.raises(ProbeError) as caught:
        probe(f"http://127.0.0.1:{port}/", ProbeOptions(protocol="http2", timeout=5))
    assert caught.value.kind == "protocol"
    assert "answered in HTTP/1, not HTTP/2" in caught.value.message


def test_a_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProbeError) as caught:
        probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert caught.value.kind == "refused"


def test_raw_push_defaults() -> None:
    assert RawPush("/a.css") == RawPush("/a.css", 0, (), 0, False)


def normalised(text: str) -> str:
    """The text with every time replaced by ``T ms``."""
    return re.sub(r"\d+\.\d ms", "T ms", text)


def test_probe_text_through_a_real_connection_golden() -> None:
    with serving(http1_server(demo_site)) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    text = normalised(render_text([result])).replace(str(port), "PORT")
    assert text == (
        "http://127.0.0.1:PORT/  HTTP/1.1\n"
        "\n"
        "103 Early Hints: 1\n"
        "  at T ms: 1 link\n"
        "    </static/a.css>  preload  as=style\n"
        "\n"
        "Final response: 200 at T ms\n"
        "  Link header: 2 links\n"
        "    </static/a.css>  preload  as=style\n"
        "    </static/b.js>  preload  as=script\n"
        "\n"
        "HTTP/2 push: not possible over HTTP/1.1\n"
        "\n"
        "Warnings: 2\n"
        "  hint-protocol-ignored: the 103 came over HTTP/1.1: Chromium acts on 103 Early Hints over HTTP/2 with "
        "TLS only\n"
        "  file-not-cacheable: hinted file /static/b.js is served with 'no-cache': the browser cannot reuse the "
        "hinted copy and downloads it twice (serve versioned URLs with max-age)"
    )


def test_a_flood_of_103s_is_bounded_and_said() -> None:
    def flood(sock: socket.socket) -> None:
        sock.recv(65536)
        hint = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style\r\n\r\n"
        sock.sendall(hint * (MAX_KEPT + 50))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok")

    with serving(flood) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5, check_files=False))
    assert result.status == 200
    assert len(result.early_hints) == MAX_KEPT
    assert "too-many-responses" in [warning.code for warning in result.warnings]


def test_a_link_target_that_is_no_url_is_a_warning_not_a_failure() -> None:
    def odd(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nLink: <http://[::1/x.css>; rel=preload; as=style\r\n"
            b"Content-Length: 2\r\n\r\nok"
        )

    with serving(odd) as port:
        result = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout=5))
    assert result.status == 200
    # Read as a link, or refused by the strict parser: either way a report, not a failure.
    targets = [link.target for link in result.links]
    assert targets == ["http://[::1/x.css"] or (targets == [] and "malformed-link" in [w.code for w in result.warnings])
