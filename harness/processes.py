"""Starting and stopping the real servers the tests and the benchmarks run.

Every server listens on 127.0.0.1 on a free port, runs in a process group of
its own, logs to a file that an error quotes, and is stopped (SIGTERM, then
SIGKILL) with that whole group when its block ends, whatever happened. A
program the caller needs and this machine lacks raises
:exc:`MissingComponent` naming the Debian package that brings it; the e2e
suite turns that into a skip, or a failure under ``CI``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO", "MissingComponent", "Running", "find_binary", "free_port", "start", "stop_group"]

#: The repository's root: servers start there, configurations are read from it.
REPO = Path(__file__).resolve().parent.parent


class MissingComponent(RuntimeError):
    """A program or library a server or browser needs is not installed."""


def find_binary(name: str, package: str) -> str:
    """The path of the program *name* (on ``PATH``, else in ``/usr/sbin``).

    :raises MissingComponent: naming the Debian *package* to install.
    """
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise MissingComponent(f"{name} is missing: install the Debian package {package!r} (make sysdeps)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    """A started server: its port, process and log file."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} after {timeout}s:\n{log.read_text(errors='replace')}")


@contextmanager
def start(
    command: list[str], port: int, log: Path, env: Mapping[str, str] | None = None, timeout: float = 20
) -> Iterator[Running]:
    """Run *command* from the repository's root until the block ends; yield
    once *port* accepts. ``FIREHOSE_PYTHON`` (what infra/run-app.sh runs) is
    this Python."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "FIREHOSE_PYTHON": sys.executable, **(env or {})},
            cwd=REPO,
            start_new_session=True,
        )
        try:
            _wait_for_port(port, process, log, timeout)
            yield Running(port, process, log)
        finally:
            # The whole group: gunicorn's workers and nginx's worker go too.
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM the process group *process* leads (it was started with
    ``start_new_session``), then SIGKILL it after *timeout*; reap *process*."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
