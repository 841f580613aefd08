"""A plain TCP forwarder on loopback, for the latency relay (harness/relay.py, whose
upstream must be on loopback) to reach a service of the compose stack by its name."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from types import TracebackType

__all__ = ["Forward"]


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class Forward:
    """Listen on 127.0.0.1 (a free port); pass each connection's bytes to and
    from *upstream* unchanged, until the block ends."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="forward", daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()

    def __enter__(self) -> Forward:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with suppress(OSError):
                    sock.close()
        self._thread.join(timeout=5)
