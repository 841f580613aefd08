"""A UDP relay on loopback that adds network latency to QUIC (HTTP/3).

Why: :mod:`harness.relay` adds latency to TCP only, and QUIC runs over UDP. A
browser test that wants HTTP/3 at a realistic round-trip time points Chromium
(``--origin-to-force-quic-on=127.0.0.1:RELAY_PORT``) at this relay, which
passes every datagram on to the server after a delay.

Model: each client address (its IP and UDP port: one QUIC connection's path)
gets a socket of its own towards the server, so the server sees one peer per
client, as it would without the relay. Each datagram is passed on half the
round-trip time after it arrived, in each direction. Nothing is lost or paced
(datagrams that arrive in the same instant may leave in either order, which
QUIC tolerates); at most *max_flows* client addresses are relayed at once (the
oldest is dropped past that). Usage::

    with UdpRelay(("127.0.0.1", caddy_port), rtt=0.1) as relay:
        chromium_flags.append(f"--origin-to-force-quic-on=127.0.0.1:{relay.port}")
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any, cast

from .relay import LoopThread, _loopback

__all__ = ["UdpRelay"]

Address = tuple[str, int]


class _Listener(asyncio.DatagramProtocol):
    """The client side: datagrams from clients, delayed on to their flow."""

    def __init__(self, relay: UdpRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay._from_client(data, addr)


class _Flow(asyncio.DatagramProtocol):
    """One client's socket towards the server: the server's datagrams go back to that client."""

    def __init__(self, relay: UdpRelay, client: Address) -> None:
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: list[bytes] = []  # what the client sent before the socket was open

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport (not a DatagramTransport subclass before Python 3.12).
        self.transport = cast(asyncio.DatagramTransport, transport)
        for data in self.waiting:
            self.transport.sendto(data)
        self.waiting.clear()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay._from_server(data, self.client)

    def send(self, data: bytes) -> None:
        if self.transport is None:
            self.waiting.append(data)
        elif not self.transport.is_closing():
            self.transport.sendto(data)


class UdpRelay(LoopThread):
    """Listen for UDP on 127.0.0.1 (a free port) and forward to *upstream* with delays.

    :param upstream: ``(host, port)`` on loopback (``ValueError`` otherwise).
    :param rtt: added round-trip time in seconds, half in each direction.
    :param max_lifetime: stop by itself after this many seconds (a safety net).
    :param max_flows: most client addresses relayed at once.
    """

    what = "UDP relay"

    def __init__(
        self, upstream: tuple[str, int], rtt: float = 0.1, *, max_lifetime: float = 300.0, max_flows: int = 64
    ) -> None:
        if rtt < 0 or max_lifetime <= 0 or max_flows < 1:
            raise ValueError(
                f"rtt must be >= 0, max_lifetime > 0 and max_flows >= 1, not {(rtt, max_lifetime, max_flows)!r}"
            )
        self.upstream = (_loopback(upstream[0]), upstream[1])
        self.delay = rtt / 2
        self.max_lifetime = max_lifetime
        self.max_flows = max_flows
        self.port = 0
        #: Datagrams relayed so far: ``[client to server, server to client]``.
        self.datagrams = [0, 0]
        self._listener: asyncio.DatagramTransport | None = None
        self._flows: dict[Address, _Flow] = {}
        self._openings: set[asyncio.Future[Any]] = set()
        super().__init__()

    # -- loop side -----------------------------------------------------------

    async def _main(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Listener(self), local_addr=("127.0.0.1", 0))
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._listener = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        self._ready.set()
        try:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.max_lifetime)
        finally:
            transport.close()
            for opening in list(self._openings):
                opening.cancel()
            await asyncio.gather(*self._openings, return_exceptions=True)
            for flow in self._flows.values():
                if flow.transport is not None:
                    flow.transport.close()
            await asyncio.sleep(0)  # let the transports finish closing before the loop does

    def _from_client(self, data: bytes, client: Address) -> None:
        assert self._loop is not None
        flow = self._flows.get(client)
        if flow is None:
            flow = self._open_flow(client)
        self.datagrams[0] += 1
        self._loop.call_later(self.delay, flow.send, data)

    def _from_server(self, data: bytes, client: Address) -> None:
        assert self._loop is not None
        self.datagrams[1] += 1
        self._loop.call_later(self.delay, self._to_client, data, client)

    def _to_client(self, data: bytes, client: Address) -> None:
        if self._listener is not None and not self._listener.is_closing():
            self._listener.sendto(data, client)

    def _open_flow(self, client: Address) -> _Flow:
        assert self._loop is not None
        if len(self._flows) >= self.max_flows:
            oldest = next(iter(self._flows))
            dropped = self._flows.pop(oldest)
            if dropped.transport is not None:
                dropped.transport.close()
        flow = self._flows[client] = _Flow(self, client)
        opening = asyncio.ensure_future(self._loop.create_datagram_endpoint(lambda: flow, remote_addr=self.upstream))
        self._openings.add(opening)
        opening.add_done_callback(lambda done: self._opened(done, client))
        return flow

    def _opened(self, opening: asyncio.Future[Any], client: Address) -> None:
        """A flow whose socket could not open is forgotten (the client's next datagram tries again)."""
        self._openings.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            self._flows.pop(client, None)
