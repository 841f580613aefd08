"""HTTP/2 for ``firehose probe``, through python-hyper's ``h2``: requests go
out together on one connection (TLS with ALPN ``h2``, or cleartext with prior
knowledge), and every event that comes back is sorted into its exchange: 1xx
responses, the final one, PUSH_PROMISEs and the pushed streams' sizes.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from .transport import (
    CONNECTION_SPECIFIC,
    Clock,
    Deadline,
    Endpoint,
    ProbeError,
    RawExchange,
    RawPush,
    RawResponse,
    Request,
    header_pairs,
    receive,
    send,
)

__all__ = ["h2_exchanges"]


class _H2Client:
    """The events of one HTTP/2 connection, sorted into exchanges."""

    def __init__(self, endpoint: Endpoint, clock: Clock) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.streams: dict[int, tuple[RawExchange, float]] = {}
        self.pushes: dict[int, tuple[RawPush, RawExchange]] = {}

    def start(self, requests: Sequence[Request]) -> None:
        self.conn.initiate_connection()
        for request in requests:
            stream_id = self.conn.get_next_available_stream_id()
            self.conn.send_headers(stream_id, self._headers(request), end_stream=True)
            self.streams[stream_id] = (RawExchange(), 0.0)

    def _headers(self, request: Request) -> list[tuple[str, str]]:
        authority = next((value for name, value in request.headers if name.lower() == "host"), self.endpoint.authority)
        pseudo = [(":method", request.method), (":scheme", self.endpoint.scheme), (":authority", authority)]
        pseudo.append((":path", request.target))
        rest = [
            (name.lower(), value)
            for name, value in request.headers
            if name.lower() != "host" and name.lower() not in CONNECTION_SPECIFIC
        ]
        return pseudo + rest

    def mark_sent(self) -> None:
        now = self.clock()
        self.streams = {stream_id: (found, now) for stream_id, (found, _) in self.streams.items()}

    @property
    def answered(self) -> bool:
        """Whether every request's response has ended (pushes may still run)."""
        return all(found.complete for found, _ in self.streams.values())

    @property
    def awaiting(self) -> str:
        """What the next read waits for, for a timeout's message."""
        if self.answered:
            return "waiting for pushed files"
        if all(found.final is not None for found, _ in self.streams.values()):
            return "waiting for the end of the response"
        return "waiting for an answer"

    @property
    def done(self) -> bool:
        return all(found.complete for found, _ in self.streams.values()) and all(
            push.complete for push, _ in self.pushes.values()
        )

    def feed(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.H2Error as exc:
            raise ProbeError(f"{self.endpoint.where} does not speak HTTP/2 ({exc}); try --http1", "protocol") from None
        for event in events:
            self._handle(event)

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.InformationalResponseReceived):
            self._head(event.stream_id, event.headers, informational=True)
        elif isinstance(event, h2.events.ResponseReceived):
            self._head(event.stream_id, event.headers, informational=False)
        elif isinstance(event, h2.events.PushedStreamReceived):
            self._promised(event)
        elif isinstance(event, h2.events.DataReceived):
            self._data(event.stream_id, len(event.data or b""))
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self._ended(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._reset(event.stream_id, event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._terminated(event)

    def _head(self, stream_id: int, headers: Sequence[tuple[bytes | str, bytes | str]], informational: bool) -> None:
        pairs = header_pairs(headers)
        status = dict(pairs).get(":status", "")
        if not (len(status) == 3 and status.isdigit()):
            raise ProbeError(f"{self.endpoint.where} sent an HTTP/2 response with :status {status!r}", "protocol")
        plain = tuple(pair for pair in pairs if not pair[0].startswith(":"))
        if stream_id in self.streams:
            found, sent = self.streams[stream_id]
            head = RawResponse(int(status), plain, self.clock() - sent)
            if informational:
                found.keep_informational(head)
            else:
                found.final = head
        elif stream_id in self.pushes and not informational:
            push = self.pushes[stream_id][0]
            push.status, push.headers = int(status), plain

    def _promised(self, event: h2.events.PushedStreamReceived) -> None:
        parent = self.streams.get(event.parent_stream_id or 0)
        if event.pushed_stream_id is None or parent is None:
            return
        push = RawPush(dict(header_pairs(event.headers)).get(":path", ""))
        if parent[0].keep_push(push):
            self.pushes[event.pushed_stream_id] = (push, parent[0])

    def _data(self, stream_id: int, size: int) -> None:
        if stream_id in self.pushes:
            self.pushes[stream_id][0].bytes += size

    def _ended(self, stream_id: int) -> None:
        if stream_id in self.streams:
            self.streams[stream_id][0].complete = True
        elif stream_id in self.pushes:
            self.pushes[stream_id][0].complete = True

    def _reset(self, stream_id: int, code: object) -> None:
        if stream_id in self.streams:
            raise ProbeError(f"{self.endpoint.where} reset the request's stream ({code})", "protocol")
        if stream_id in self.pushes:
            self.pushes[stream_id][0].complete = True

    def _terminated(self, event: h2.events.ConnectionTerminated) -> None:
        if not all(found.complete for found, _ in self.streams.values()):
            raise ProbeError(
                f"{self.endpoint.where} closed the HTTP/2 connection before answering (GOAWAY {event.error_code})",
                "closed",
            )
        for push, _ in self.pushes.values():
            push.complete = True


def h2_exchanges(
    sock: socket.socket, endpoint: Endpoint, requests: Sequence[Request], deadline: Deadline
) -> list[RawExchange]:
    """Send *requests* together on *sock* and read until every answer and
    every pushed stream has ended; one exchange per request.

    A push still open when time runs out is reported incomplete, not as a failure.

    :raises ProbeError: when an answer is missing, late or not HTTP/2.
    """
    client = _H2Client(endpoint, deadline.clock)
    client.start(requests)
    send(sock, client.conn.data_to_send(), endpoint)
    client.mark_sent()
    heard = False
    while not client.done:
        try:
            data = receive(sock, endpoint, deadline, client.awaiting)
        except ProbeError as exc:
            if exc.kind == "timeout" and client.answered:
                break
            raise
        if not data:
            if client.answered:
                break
            raise _closed(endpoint, heard)
        if not heard and data.startswith(b"HTTP/"):
            raise ProbeError(
                f"{endpoint.where} answered in HTTP/1, not HTTP/2 (no h2c with prior knowledge); try without --http2",
                "protocol",
            )
        heard = True
        client.feed(data)
        if outgoing := client.conn.data_to_send():
            send(sock, outgoing, endpoint)
    _close_h2(sock, client)
    return [found for found, _ in client.streams.values()]


def _closed(endpoint: Endpoint, heard: bool) -> ProbeError:
    if heard:
        return ProbeError(f"{endpoint.where} closed the connection before answering", "closed")
    if endpoint.scheme == "http":
        return ProbeError(
            f"{endpoint.where} closed the connection at once: it does not speak cleartext HTTP/2 (h2c) "
            "with prior knowledge; try without --http2",
            "protocol",
        )
    return ProbeError(f"{endpoint.where} closed the connection without an HTTP/2 answer", "closed")


def _close_h2(sock: socket.socket, client: _H2Client) -> None:
    try:
        client.conn.close_connection()
        sock.sendall(client.conn.data_to_send())
    except (OSError, h2.exceptions.H2Error):
        pass
