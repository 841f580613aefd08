"""A real ``redis-server`` for the tests: on a free 127.0.0.1 port, without
persistence, stopped (or killed, or paused) by the PID of the process started
here, and restartable on the same port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest

__all__ = ["RedisServer", "free_port", "require_redis_server"]


def require_redis_server() -> str:
    """The path of ``redis-server``; a missing one fails the test under CI
    (naming the Debian package), else skips it."""
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


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process, started by :meth:`start`."""

    def __init__(self, binary: str, log: Path, port: int | None = None) -> None:
        self.binary = binary
        self.log = log
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server on :attr:`port`; return once it answers PING."""
        assert self.process is None, "already running"
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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
