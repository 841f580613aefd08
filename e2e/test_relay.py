"""The latency relay (harness/relay.py) over real loopback sockets: delay, pacing,
byte-exactness both ways, shutdown, and loopback-only upstreams."""

from __future__ import annotations

import os
import socket
import socketserver
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from harness.relay import Relay

pytestmark = pytest.mark.integration

MB = 1_000_000


class _Echo(socketserver.BaseRequestHandler):
    """Send back every byte; on EOF, half-close and end."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        while data := sock.recv(65536):
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _connect(relay: Relay) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = sock.recv(size - got)
        assert part, f"EOF after {got} of {size} bytes"
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _echo_through(relay: Relay, payload: bytes) -> tuple[bytes, float]:
    """Send *payload* (from a thread, so both directions flow at once), half-close,
    read the echo to EOF; return it and the seconds taken."""
    with _connect(relay) as sock:
        started = time.monotonic()

        def send() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        parts = []
        while part := sock.recv(65536):
            parts.append(part)
        elapsed = time.monotonic() - started
        sender.join()
    return b"".join(parts), elapsed


def test_round_trip_takes_the_configured_rtt(echo: tuple[str, int]) -> None:
    with Relay(echo, rtt=0.1) as relay, _connect(relay) as sock:
        times = []
        for i in range(4):
            started = time.monotonic()
            sock.sendall(b"ping %d" % i)
            assert _recv_exactly(sock, 6) == b"ping %d" % i
            times.append(time.monotonic() - started)
    assert min(times) >= 0.1, times
    assert statistics.median(times) < 0.1 + 0.04, times  # timer slack, not another RTT


def test_one_way_delays_add_up(echo: tuple[str, int]) -> None:
    with Relay(echo, delay_up=0.03, delay_down=0.09) as relay, _connect(relay) as sock:
        started = time.monotonic()
        sock.sendall(b"x")
        assert _recv_exactly(sock, 1) == b"x"
        elapsed = time.monotonic() - started
    assert 0.12 <= elapsed < 0.12 + 0.06, elapsed


def test_bandwidth_paces_a_megabyte(echo: tuple[str, int]) -> None:
    # 40 Mbit/s: 1 MB takes 0.2 s each way; the echo pipelines both ways.
    payload = os.urandom(MB)
    with Relay(echo, rtt=0.0, bits_per_second=40e6) as relay:
        received, elapsed = _echo_through(relay, payload)
    assert received == payload
    assert 0.2 <= elapsed < 0.2 * 2.5, elapsed
    with Relay(echo, rtt=0.0) as relay:
        _, unpaced = _echo_through(relay, payload)
    assert unpaced < 0.15, unpaced


def test_data_is_byte_exact_both_ways(echo: tuple[str, int]) -> None:
    payload = os.urandom(3 * MB + 12345)
    with Relay(echo, rtt=0.02, buffer_bytes=64 * 1024) as relay:
        received, _ = _echo_through(relay, payload)
    assert len(received) == len(payload)
    assert received == payload


def test_stop_closes_connections_and_the_listener(echo: tuple[str, int]) -> None:
    relay = Relay(echo, rtt=0.01).start()
    try:
        with _connect(relay) as sock:
            sock.sendall(b"hello")
            assert _recv_exactly(sock, 5) == b"hello"
            started = time.monotonic()
            relay.stop()
            try:
                closed = sock.recv(1) == b""
            except ConnectionResetError:
                closed = True
            assert closed
            assert time.monotonic() - started < 1
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", relay.port), timeout=1).close()
    finally:
        relay.stop()


def test_stops_by_itself_after_its_lifetime(echo: tuple[str, int]) -> None:
    with Relay(echo, rtt=0.0, max_lifetime=0.1) as relay:
        time.sleep(0.3)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", relay.port), timeout=1).close()


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "8.8.8.8", "example.com", "0.0.0.0", ""])
def test_refuses_an_upstream_off_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Relay((host, 80))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_accepts_loopback_upstreams(host: str) -> None:
    assert Relay((host, 80)).upstream[1] == 80


class _Peer(socketserver.BaseRequestHandler):
    """Send back the address the connection came from, then end."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.sendall(self.client_address[0].encode())
        sock.shutdown(socket.SHUT_WR)


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.9", None])
def test_connects_upstream_from_its_source_address(source: str | None) -> None:
    """Each relay can stand for a client of its own: the server sees its
    connections come from *source*."""
    server = _Server(("127.0.0.1", 0), _Peer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with (
            Relay(("127.0.0.1", server.server_address[1]), 0.0, source=source, max_lifetime=30) as relay,
            _connect(relay) as sock,
        ):
            seen = b""
            while part := sock.recv(100):
                seen += part
        assert seen.decode() == (source or "127.0.0.1")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_relays_one_after_another_share_a_port(echo: tuple[str, int]) -> None:
    with Relay(echo, 0.0, max_lifetime=30) as first:
        port = first.port
        assert _echo_through(first, b"one")[0] == b"one"
    with Relay(echo, 0.0, source="127.0.0.3", port=port, max_lifetime=30) as second:
        assert second.port == port
        assert _echo_through(second, b"two")[0] == b"two"


def test_refuses_a_source_off_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Relay(("127.0.0.1", 1), source="10.0.0.1")
