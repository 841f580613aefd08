"""Starting and stopping the real servers the e2e suite runs against.

Every server listens on 127.0.0.1 on a free port, logs to a file the failure
message quotes, and is stopped (then killed) when its fixture ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["REPO", "Running", "free_port", "render_template", "require_binary", "start"]

REPO = Path(__file__).resolve().parent.parent


def require_binary(name: str, package: str) -> str:
    """The path of *name*; a missing one fails the test under CI, else skips."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path:
        return path
    message = f"{name} is missing: install the Debian package {package!r} (make sysdeps)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_template(source: Path, target: Path, values: Mapping[str, str]) -> Path:
    """Fill ``${FIREHOSE_*}`` placeholders; nginx's own ``$vars`` stay as they are."""
    text = string.Template(source.read_text()).safe_substitute(values)
    if "${FIREHOSE_" in text:
        raise ValueError(f"{source.name}: unfilled placeholder in {text!r}")
    target.write_text(text)
    return target


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
    """Run *command* until the block ends; yield once *port* accepts."""
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
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
