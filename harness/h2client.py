"""A small HTTP/2 client that records everything a server sends for one request.

Built on the ``h2`` protocol library with push enabled, it keeps what a browser
no longer shows: each PUSH_PROMISE with its promised request and the pushed
body, each 1xx informational response with the time it arrived, and the final
response. One connection per :func:`fetch`, so nothing leaks between calls.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import h2.config
import h2.connection
import h2.events

__all__ = ["Exchange", "Informational", "Pushed", "fetch"]


def _text(headers: Iterable[tuple[bytes | str, bytes | str]] | None) -> list[tuple[str, str]]:
    return [
        (k.decode() if isinstance(k, bytes) else k, v.decode("latin-1") if isinstance(v, bytes) else v)
        for k, v in headers or ()
    ]


@dataclass
class Informational:
    """A 1xx response and when it arrived, in seconds since the request went out."""

    status: int
    headers: list[tuple[str, str]]
    at: float


@dataclass
class Pushed:
    """One PUSH_PROMISE: the promised request, then the pushed response."""

    request: list[tuple[str, str]]
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False

    @property
    def path(self) -> str:
        return dict(self.request)[":path"]


@dataclass
class Exchange:
    """Everything received for one request."""

    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    informational: list[Informational] = field(default_factory=list)
    pushes: list[Pushed] = field(default_factory=list)
    response_at: float = 0.0

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def set_cookie(self) -> str | None:
        """The ``name=value`` part of the first Set-Cookie, ready to send back."""
        values = self.header_values("set-cookie")
        return values[0].split(";", 1)[0] if values else None


def fetch(
    port: int,
    path: str,
    *,
    ca_file: str,
    host: str = "127.0.0.1",
    method: str = "GET",
    cookie: str | None = None,
    form: dict[str, str] | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
    timeout: float = 10.0,
) -> Exchange:
    """Send one request over a fresh TLS+HTTP/2 connection and record the answer.

    Waits until the response and every pushed stream have ended, or *timeout*.
    """
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection((host, port), timeout=timeout)
    sock = context.wrap_socket(raw, server_hostname=host)
    if sock.selected_alpn_protocol() != "h2":
        raise ConnectionError(f"server on port {port} did not negotiate h2")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    body = urlencode(form).encode() if form is not None else b""
    headers = [(":method", method), (":scheme", "https"), (":authority", f"{host}:{port}"), (":path", path)]
    headers += [("user-agent", "firehose-e2e"), ("accept", "text/html")]
    if cookie:
        headers.append(("cookie", cookie))
    if form is not None:
        headers += [("content-type", "application/x-www-form-urlencoded"), ("content-length", str(len(body)))]
    headers += extra_headers or []
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(stream_id, headers, end_stream=not body)
    if body:
        conn.send_data(stream_id, body, end_stream=True)
    started = time.monotonic()
    sock.sendall(conn.data_to_send())

    exchange = Exchange()
    pushes: dict[int, Pushed] = {}
    bodies: dict[int, bytearray] = {stream_id: bytearray()}
    main_done = False
    deadline = started + timeout
    try:
        while not (main_done and all(p.complete for p in pushes.values())):
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            for event in conn.receive_data(data):
                now = time.monotonic() - started
                if isinstance(event, h2.events.InformationalResponseReceived):
                    info = _text(event.headers)
                    exchange.informational.append(Informational(int(dict(info)[":status"]), info, now))
                elif isinstance(event, h2.events.ResponseReceived):
                    got = _text(event.headers)
                    if event.stream_id == stream_id:
                        exchange.status, exchange.headers, exchange.response_at = int(dict(got)[":status"]), got, now
                    elif event.stream_id in pushes:
                        pushes[event.stream_id].status = int(dict(got)[":status"])
                        pushes[event.stream_id].headers = got
                elif isinstance(event, h2.events.PushedStreamReceived):
                    assert event.pushed_stream_id is not None
                    pushes[event.pushed_stream_id] = Pushed(_text(event.headers))
                    bodies[event.pushed_stream_id] = bytearray()
                elif isinstance(event, h2.events.DataReceived):
                    bodies.setdefault(event.stream_id, bytearray()).extend(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    if event.stream_id == stream_id:
                        main_done = True
                    elif event.stream_id in pushes:
                        pushes[event.stream_id].complete = isinstance(event, h2.events.StreamEnded)
                        if not pushes[event.stream_id].complete:
                            pushes[event.stream_id].complete = True
                            pushes[event.stream_id].status = -1
            if outgoing := conn.data_to_send():
                sock.sendall(outgoing)
    finally:
        try:
            conn.close_connection()
            sock.sendall(conn.data_to_send())
        except OSError:
            pass
        sock.close()
    exchange.body = bytes(bodies[stream_id])
    for pushed_id, pushed in pushes.items():
        pushed.body = bytes(bodies.get(pushed_id, b""))
    exchange.pushes = list(pushes.values())
    return exchange
