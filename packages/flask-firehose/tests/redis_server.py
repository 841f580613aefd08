"""Redis peers for the tests, on free 127.0.0.1 ports.

* :class:`RedisServer`: a real ``redis-server`` without persistence, stopped
  (or killed, or paused) by the PID of the process started here, and
  restartable on the same port and directory; extra arguments make it a
  cluster node, a replica or a Sentinel.
* :class:`SlowPeer`: a hostile server that speaks enough RESP for the
  backends, answers the connection's handshake at once, then each command a
  byte at a time (or never).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

import pytest

__all__ = ["RedisServer", "SlowPeer", "bulk_reply", "free_cluster_port", "free_port", "require_redis_server"]


def require_redis_server() -> str:
    """The path of ``redis-server``; a missing one fails the test under CI
    (naming the Debian package), else skips it.

    ``FIREHOSE_TEST_REDIS_SERVER`` names another server binary to run every
    Redis test against, such as ``valkey-server`` (Valkey answers as Redis).
    """
    other = os.environ.get("FIREHOSE_TEST_REDIS_SERVER")
    if other:
        found = shutil.which(other)
        if found is None:
            pytest.fail(f"FIREHOSE_TEST_REDIS_SERVER={other!r} is not an executable")
        return found
    path = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if path:
        return path
    message = "redis-server is missing: install the Debian package 'redis-server'"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too (so at most 55535)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 55535)
        try:
            with socket.socket() as one, socket.socket() as two:
                one.bind(("127.0.0.1", port))
                two.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for a cluster node")


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process, started by :meth:`start`."""

    def __init__(
        self,
        binary: str,
        log: Path,
        port: int | None = None,
        args: Sequence[str] = (),
        cwd: Path | None = None,
        config: str | None = None,
    ) -> None:
        self.binary = binary
        self.log = log
        self.port = port or free_port()
        self.args = tuple(args)
        self.cwd = cwd
        self.config = config  # written to cwd/redis.conf and given first (a Sentinel needs a file)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server on :attr:`port`; return once it answers PING."""
        assert self.process is None, "already running"
        command = [self.binary]
        if self.config is not None:
            assert self.cwd is not None, "a config file needs a directory"
            conf = self.cwd / "redis.conf"
            if not conf.exists():  # a Sentinel rewrites its own: keep it across restarts
                conf.write_text(self.config)
            command.append(str(conf))
        command += [
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            *self.args,
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.cwd
            )
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"redis-server exited with {code}:\n{self.log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")
            time.sleep(0.02)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None:
            return
        self._signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
        self._reap()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections open, nothing answered."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port."""
        self.stop()
        self.start()

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=10)
            self.process = None


# Commands answered at once: what redis-py sends when it connects.
_HANDSHAKE = {
    b"HELLO": b"%1\r\n$5\r\nproto\r\n:3\r\n",  # RESP3, redis-py's default
    b"CLIENT": b"+OK\r\n",
    b"SELECT": b"+OK\r\n",
    b"AUTH": b"+OK\r\n",
    b"PING": b"+PONG\r\n",
}


def bulk_reply(data: bytes) -> bytes:
    """*data* as a RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _parse_commands(buffer: bytearray) -> list[list[bytes]]:
    """Take the complete RESP commands (arrays of bulk strings) off *buffer*."""
    commands: list[list[bytes]] = []
    while True:
        if not buffer.startswith(b"*"):
            if buffer:
                raise ValueError(f"not a RESP command: {bytes(buffer[:40])!r}")
            return commands
        end = buffer.find(b"\r\n")
        if end < 0:
            return commands
        count, at, args = int(buffer[1:end]), end + 2, []
        for _ in range(count):
            end = buffer.find(b"\r\n", at)
            if end < 0:
                return commands
            size = int(buffer[at + 1 : end])
            if len(buffer) < end + 2 + size + 2:
                return commands
            args.append(bytes(buffer[end + 2 : end + 2 + size]))
            at = end + 2 + size + 2
        del buffer[:at]
        commands.append(args)


class SlowPeer:
    """A hostile Redis on a free 127.0.0.1 port.

    It answers the handshake commands at once. Any other command gets
    ``replies[NAME]`` (``-ERR`` when absent), sent one byte every *gap*
    seconds (``gap=None``: never sent). :attr:`sent` counts the reply bytes
    sent so far, :attr:`accepted` the connections. :meth:`hurry` sends what
    is left of every reply at once from then on (a peer that comes back).
    Stopped by :meth:`stop`, which closes every socket it opened.
    """

    def __init__(self, replies: dict[bytes, bytes], gap: float | None) -> None:
        self.replies = replies
        self.gap = gap
        self.accepted = 0
        self.sent = 0
        self.commands: list[bytes] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> SlowPeer:
        self._spawn(self._accept)
        return self

    def hurry(self) -> None:
        self.gap = 0.0

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(conn)
                self.accepted += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        buffer = bytearray()
        with suppress(OSError, ValueError):
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                for command in _parse_commands(buffer):
                    name = command[0].upper()
                    if name in _HANDSHAKE:
                        conn.sendall(_HANDSHAKE[name])
                        continue
                    with self._lock:
                        self.commands.append(name)
                    self._answer(conn, self.replies.get(name, b"-ERR not here\r\n"))

    def _answer(self, conn: socket.socket, reply: bytes) -> None:
        for n in range(len(reply)):
            gap = self.gap
            if gap is None:
                self._stopping.wait()  # never answers
                return
            if gap == 0:
                conn.sendall(reply[n:])
                with self._lock:
                    self.sent += len(reply) - n
                return
            if self._stopping.wait(gap):
                return
            conn.sendall(reply[n : n + 1])
            with self._lock:
                self.sent += 1
