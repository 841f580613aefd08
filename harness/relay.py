"""A TCP relay on loopback that adds network latency and, optionally, a bandwidth cap.

Why: this machine has no ``tc netem``, and on plain loopback (RTT ~ 0) Chromium drops
a 103 Early Hints that arrives in the same millisecond as its own request finished
sending: 23-33% of navigations lost their hints in this project's runs (0 of 281
through a 100 ms relay). Browser tests and benchmarks that need the 103 used, or a
realistic page load, go through this relay.

Model: each direction is a link with a propagation delay and, optionally, a rate. A
chunk read at time *t* starts "transmitting" when the link is free, takes
``8 * len / bits_per_second`` and is written to the far side one delay later; so order
is kept and back-to-back chunks are paced. At most *buffer_bytes* wait per direction;
a full buffer stops reading, and TCP's own flow control pushes back on the sender.

Not modelled: the TCP handshake is not delayed (a client's ``connect()`` completes at
once), nor are losses. Usage::

    with Relay(("127.0.0.1", app_port), rtt=0.1, bits_per_second=10e6) as relay:
        page.goto(f"https://127.0.0.1:{relay.port}/")
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from contextlib import suppress
from types import TracebackType
from typing import TypeVar

__all__ = ["LoopThread", "Relay"]

CHUNK = 16 * 1024  # small enough that a paced chunk is a short burst (13 ms at 10 Mbit/s)
_EOF = b""
_Queue = asyncio.Queue[tuple[float, bytes]]  # (when to write, chunk); b"" is EOF
_T = TypeVar("_T", bound="LoopThread")


def _loopback(host: str) -> str:
    """*host* as a loopback IP literal; anything else is refused."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"relay upstream must be a loopback IP address, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"relay upstream must be on loopback, not {host!r}")
    return str(address)


class LoopThread:
    """An asyncio loop in a daemon thread, as the relays run: :meth:`start`
    returns once :meth:`_main` has bound its port (it sets ``_ready``, with
    ``_error`` on failure), :meth:`stop` sets ``_stopping`` and waits, and a
    ``with`` block does both. *what* names it in errors and the thread's name."""

    what = "relay"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self: _T) -> _T:
        """Start in a daemon thread; return once the port is bound."""
        if self._thread is not None:
            raise RuntimeError(f"{self.what} already started")
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name=self.what, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError(f"{self.what} thread did not bind its port within 10 s")
        if self._error is not None:
            raise RuntimeError(f"{self.what} failed to start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        """Close the listener and everything relayed; wait for the thread."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            with suppress(RuntimeError):  # the loop closed in between: already stopped
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self: _T) -> _T:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    async def _main(self) -> None:
        raise NotImplementedError


class Relay(LoopThread):
    """Listen on 127.0.0.1 (a free port) and forward to *upstream* with delays.

    :param upstream: ``(host, port)`` on loopback (``ValueError`` otherwise).
    :param rtt: added round-trip time in seconds, half in each direction, unless
        *delay_up* (client to server) or *delay_down* (server to client) say otherwise.
    :param bits_per_second: rate of each direction; ``None`` for no cap.
    :param buffer_bytes: most bytes held per direction of a connection.
    :param max_lifetime: stop by itself after this many seconds (a safety net).
    :param source: the loopback address the relay connects to *upstream* from
        (``127.0.0.2``, say), so that the server sees the clients of this
        relay at an address of their own; ``None``: the system's choice.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        rtt: float = 0.1,
        *,
        delay_up: float | None = None,
        delay_down: float | None = None,
        bits_per_second: float | None = None,
        buffer_bytes: int = 1024 * 1024,
        max_lifetime: float | None = None,
        source: str | None = None,
        port: int = 0,
    ) -> None:
        self.upstream = (_loopback(upstream[0]), upstream[1])
        self.source = _loopback(source) if source is not None else None
        self.delay_up = rtt / 2 if delay_up is None else delay_up
        self.delay_down = rtt / 2 if delay_down is None else delay_down
        if min(self.delay_up, self.delay_down) < 0 or (bits_per_second is not None and bits_per_second <= 0):
            raise ValueError("delays must be >= 0 and bits_per_second > 0")
        self.bits_per_second = bits_per_second
        self.queue_chunks = max(1, buffer_bytes // CHUNK)
        self.max_lifetime = max_lifetime
        self.port = port
        super().__init__()

    # -- loop side -----------------------------------------------------------

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()
        writers: set[asyncio.StreamWriter] = set()

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self._relay(reader, writer)
            except asyncio.CancelledError:
                pass  # stop(): ending normally spares asyncio's "exception()" callback (3.11) a traceback
            finally:
                writer.close()

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # Registered at once, not when its task first runs: a connection
            # accepted just before stop() is closed too (a task cancelled
            # before it starts never runs its own cleanup).
            writers.add(writer)
            task = asyncio.ensure_future(relay(reader, writer))
            connections.add(task)
            task.add_done_callback(connections.discard)
            task.add_done_callback(lambda _: writers.discard(writer))

        try:
            server = await asyncio.start_server(accept, "127.0.0.1", self.port)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.max_lifetime)
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
            for writer in list(writers):
                writer.close()
            await asyncio.sleep(0)  # let the transports finish closing before the loop does

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            local = (self.source, 0) if self.source is not None else None
            server_r, server_w = await asyncio.open_connection(*self.upstream, local_addr=local)
        except OSError:
            client_w.close()
            return
        directions = [
            asyncio.ensure_future(self._direction(client_r, server_w, self.delay_up)),
            asyncio.ensure_future(self._direction(server_r, client_w, self.delay_down)),
        ]
        try:
            # Both halves run until EOF; a reset on either side ends both.
            await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in directions:
                task.cancel()
            await asyncio.gather(*directions, return_exceptions=True)
            for writer in (client_w, server_w):
                writer.close()

    async def _direction(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        """One direction: a task reads and timestamps chunks, another writes each at its time."""
        queue: _Queue = asyncio.Queue(self.queue_chunks)
        tasks = [
            asyncio.ensure_future(self._read(reader, queue, delay)),
            asyncio.ensure_future(self._deliver(queue, writer)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _read(self, reader: asyncio.StreamReader, queue: _Queue, delay: float) -> None:
        loop = asyncio.get_running_loop()
        link_free = 0.0  # when the (paced) link has sent everything read so far
        while True:
            data = await reader.read(CHUNK)
            start = max(loop.time(), link_free)
            link_free = start + (len(data) * 8 / self.bits_per_second if self.bits_per_second else 0.0)
            await queue.put((link_free + delay, data))
            if data == _EOF:
                return

    @staticmethod
    async def _deliver(queue: _Queue, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if data == _EOF:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()


def _demo() -> None:  # pragma: no cover - manual use: python -m harness.relay PORT [RTT]
    import sys

    with Relay(("127.0.0.1", int(sys.argv[1])), float(sys.argv[2]) if len(sys.argv) > 2 else 0.1) as relay:
        print(f"relaying 127.0.0.1:{relay.port} -> 127.0.0.1:{sys.argv[1]}; Ctrl-C stops", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    _demo()
