"""A plain TCP forwarder on loopback that can close every connection it carries,
and can connect upstream from a chosen loopback address.

The image-LCP page needs both, and the latency relay (harness/relay.py) does neither:

- the bound variant loads the hero image once in a browser context and then
  measures a second navigation in that context; Chromium would reuse the first
  navigation's HTTP/2 connection and skip the TLS handshake the other variants pay.
  The relay forwards to a gate, and :meth:`Gate.drop` closes the gate's connections
  between the two navigations, so the measured one opens a new connection (the relay
  passes the close on to the browser);
- the learned variant's warm-up visits must reach the server as distinct clients
  (the LCP report endpoint rate-limits by client address). A browser cannot choose
  its source address; a gate listening on ``127.0.0.K:PORT`` connects to the server
  from ``127.0.0.K``, so the server's ``REMOTE_ADDR`` is ``127.0.0.K``.

No delay, no rate: timing is the relay's job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from contextlib import suppress
from types import TracebackType

__all__ = ["Gate"]


def _loopback(host: str) -> str:
    address = ipaddress.ip_address(host)
    if not address.is_loopback or address.version != 4:
        raise ValueError(f"a gate works on IPv4 loopback only, not {host!r}")
    return str(address)


class Gate:
    """Listen on *listen* (``(host, port)``, port 0 for a free one) and forward each
    connection to *upstream*, connecting from *source* (a loopback address) if given."""

    def __init__(
        self, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0), source: str | None = None
    ) -> None:
        self.upstream = (_loopback(upstream[0]), upstream[1])
        self.listen = (_loopback(listen[0]), listen[1])
        self.source = None if source is None else _loopback(source)
        self.port = 0
        self.accepted = 0  # connections accepted so far
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> Gate:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="gate", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10) or self._error is not None:
            raise RuntimeError(f"gate on {self.listen} did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def drop(self) -> None:
        """Close every connection carried now (both sides); wait until done."""
        loop = self._loop
        if loop is None:
            return
        done = threading.Event()

        def close_all() -> None:
            for writer in list(self._writers):
                writer.close()
            done.set()

        loop.call_soon_threadsafe(close_all)
        done.wait(timeout=5)

    def __enter__(self) -> Gate:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            task = asyncio.ensure_future(self._forward(reader, writer))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        try:
            server = await asyncio.start_server(accept, *self.listen)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _forward(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        server_w: asyncio.StreamWriter | None = None
        try:
            local = None if self.source is None else (self.source, 0)
            server_r, server_w = await asyncio.open_connection(*self.upstream, local_addr=local)
            self._writers.add(server_w)
            pipes = [
                asyncio.ensure_future(self._pipe(client_r, server_w)),
                asyncio.ensure_future(self._pipe(server_r, client_w)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client_w, server_w):
                if writer is not None:
                    self._writers.discard(writer)
                    writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError):
            while data := await reader.read(64 * 1024):
                writer.write(data)
                await writer.drain()
