"""HTTP/1.1 for ``firehose probe``, through python-hyper's ``h11``: one
request after another, on one connection while the server keeps it, each 1xx
response and the final one recorded with the moment it arrived.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

import h11

from .transport import (
    Deadline,
    Endpoint,
    ProbeError,
    RawExchange,
    RawResponse,
    Request,
    header_pairs,
    receive,
    send,
)

__all__ = ["h11_exchanges"]


def h11_exchanges(
    sock: socket.socket,
    endpoint: Endpoint,
    requests: Sequence[Request],
    deadline: Deadline,
    reconnect: Callable[[], socket.socket],
) -> list[RawExchange]:
    """Send *requests* one after another on *sock*, on a new connection from
    *reconnect* whenever the server closes one; one exchange per request.

    :raises ProbeError: when an answer is missing, late or not HTTP/1.1.
    """
    found: list[RawExchange] = []
    conn = h11.Connection(h11.CLIENT)
    opened: list[socket.socket] = []
    try:
        for index, request in enumerate(requests):
            if index and _reusable(conn):
                conn.start_next_cycle()
            elif index:
                sock = reconnect()
                opened.append(sock)
                conn = h11.Connection(h11.CLIENT)
            found.append(_h11_exchange(sock, conn, endpoint, request, deadline))
    finally:
        for extra in opened:
            extra.close()
    return found


def _reusable(conn: h11.Connection) -> bool:
    return conn.our_state is h11.DONE and conn.their_state is h11.DONE


def _h11_exchange(
    sock: socket.socket, conn: h11.Connection, endpoint: Endpoint, request: Request, deadline: Deadline
) -> RawExchange:
    headers = [(name, value) for name, value in request.headers if name.lower() != "host"]
    host = next((value for name, value in request.headers if name.lower() == "host"), endpoint.authority)
    try:
        data = conn.send(h11.Request(method=request.method, target=request.target, headers=[("Host", host), *headers]))
        data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
    except h11.LocalProtocolError as exc:
        raise ProbeError(f"cannot send this request over HTTP/1.1: {exc}", "protocol") from None
    send(sock, data, endpoint)
    sent = deadline.clock()
    found = RawExchange()
    while not found.complete:
        event = _next_h11_event(sock, conn, endpoint, deadline, "waiting for an answer")
        now = deadline.clock() - sent
        if isinstance(event, h11.InformationalResponse):
            found.keep_informational(RawResponse(event.status_code, header_pairs(event.headers), now))
        elif isinstance(event, h11.Response):
            found.final = RawResponse(event.status_code, header_pairs(event.headers), now)
        elif isinstance(event, h11.EndOfMessage):
            found.complete = True
        elif isinstance(event, h11.ConnectionClosed):
            raise ProbeError(f"{endpoint.where} closed the connection before answering", "closed")
    return found


def _next_h11_event(
    sock: socket.socket, conn: h11.Connection, endpoint: Endpoint, deadline: Deadline, what: str
) -> h11.Event:
    """The next event of *conn*, reading from *sock* as needed."""
    closed = False
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise _not_http1(endpoint, exc, closed, conn) from None
        if event is not h11.NEED_DATA:
            assert not isinstance(event, type)  # PAUSED never comes: one request per cycle
            return event
        data = receive(sock, endpoint, deadline, what)
        closed = not data
        try:
            conn.receive_data(data)
        except h11.RemoteProtocolError as exc:
            raise _not_http1(endpoint, exc, closed, conn) from None


def _not_http1(endpoint: Endpoint, exc: h11.RemoteProtocolError, closed: bool, conn: h11.Connection) -> ProbeError:
    """The error for what h11 refused: a peer that hung up, or one that is not HTTP/1.1."""
    if closed and not conn.trailing_data[0]:
        return ProbeError(f"{endpoint.where} closed the connection before answering", "closed")
    return ProbeError(f"{endpoint.where} does not speak HTTP/1.1 ({exc})", "protocol")
