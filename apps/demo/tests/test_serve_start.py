"""``make demo`` (``python -m demo.serve``) that cannot start says why in one
line on stderr and exits 1, with no traceback: its port taken (TCP, on either
loopback address; UDP for Caddy's HTTP/3) or its certificate folder unusable;
and the line that says why is found in a server's log
(:func:`demo.serve.last_error`). gunicorn or Caddy stopping at once is in
``e2e/test_demo_start.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from demo.serve import REPO, find_caddy
from demo.startup import last_error, loopback_addresses

TAKEN = "is already in use (another program listens there): stop it, or choose another port (make demo PORT=8444)"


def _serve(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("PORT", None)
    command = [sys.executable, "-m", "demo.serve", "--no-redis", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=timeout)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@contextmanager
def _taken(address: str, kind: socket.SocketKind = socket.SOCK_STREAM) -> Iterator[int]:
    """A port another program holds on *address* (listening, for TCP)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((address, 0))
        if kind == socket.SOCK_STREAM:
            sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("front", ["caddy", "gunicorn"])
def test_a_port_in_use_is_said_in_one_line(front: str, tmp_path: Path) -> None:
    with _taken("127.0.0.1") as port:
        result = _serve("--port", str(port), "--front", front, "--data", str(tmp_path))
    assert result.returncode == 1
    assert _one_line(result) == f"demo: TCP port {port} on 127.0.0.1 {TAKEN}"
    assert not (tmp_path / "certs").exists() and not (tmp_path / "gunicorn.log").exists()  # nothing started


def test_a_port_in_use_on_the_ipv6_loopback_is_said(tmp_path: Path) -> None:
    if "::1" not in loopback_addresses():
        pytest.skip("this machine has no IPv6 loopback: the demo listens on 127.0.0.1 alone")
    with socket.socket() as probe:  # a port free on 127.0.0.1 ...
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with socket.socket(socket.AF_INET6) as sock:  # ... and taken on ::1
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::1", port))
        sock.listen()
        result = _serve("--port", str(port), "--front", "gunicorn", "--data", str(tmp_path))
    assert result.returncode == 1
    assert _one_line(result) == f"demo: TCP port {port} on ::1 {TAKEN}"


def test_caddys_udp_port_in_use_is_said(tmp_path: Path) -> None:
    if find_caddy()[0] is None:
        pytest.skip(f"no usable Caddy: {find_caddy()[1]}")
    with _taken("127.0.0.1", socket.SOCK_DGRAM) as port:
        result = _serve("--port", str(port), "--front", "caddy", "--data", str(tmp_path))
    assert result.returncode == 1
    assert _one_line(result) == f"demo: UDP port {port} on 127.0.0.1 {TAKEN}"


def test_a_certificate_folder_that_cannot_be_made_is_said(tmp_path: Path) -> None:
    (tmp_path / "certs").write_text("a file where the folder goes")
    result = _serve("--front", "gunicorn", "--data", str(tmp_path))
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith(f"demo: cannot make the demo's certificate in {tmp_path / 'certs'}: "), line
    assert "File exists" in line


def test_a_port_that_is_no_port_is_refused(tmp_path: Path) -> None:
    result = _serve("--port", "99999", "--data", str(tmp_path))
    assert result.returncode == 2
    assert "'99999' is not a port number (1-65535, or 0 for a free one)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("log", "why"),
    [
        pytest.param(
            '{"level":"info","msg":"using config from file"}\n'
            '{"level":"error","ts":1.5,"msg":"loading initial config: listen tcp 127.0.0.1:8443: '
            'bind: address already in use"}\n',
            "loading initial config: listen tcp 127.0.0.1:8443: bind: address already in use",
            id="caddy-json",
        ),
        pytest.param(
            '{"level":"info","msg":"x"}\nError: adapting config using caddyfile: unknown directive\n',
            "adapting config using caddyfile: unknown directive",
            id="caddy-error-line",
        ),
        pytest.param(
            "[2026-12-02 12:00:00 +0000] [7] [INFO] Booting worker with pid: 7\n"
            "Traceback (most recent call last):\n"
            '  File "x.py", line 1, in <module>\n'
            "ModuleNotFoundError: No module named 'missing'\n"
            "[2026-12-02 12:00:00 +0000] [6] [ERROR] Reason: Worker failed to boot.\n",
            "ModuleNotFoundError: No module named 'missing'",
            id="traceback",
        ),
        pytest.param(
            "[2026-12-02 12:00:00 +0000] [6] [ERROR] Connection in use: ('127.0.0.1', 8443)\n",
            "Connection in use: ('127.0.0.1', 8443)",
            id="gunicorn-error",
        ),
        pytest.param("[2026-12-02 12:00:00 +0000] [6] [INFO] Starting gunicorn 27.0.1\n", None, id="nothing"),
    ],
)
def test_the_line_that_says_why_is_found(tmp_path: Path, log: str, why: str | None) -> None:
    path = tmp_path / "server.log"
    path.write_text(log)
    assert last_error(path) == why


def test_a_long_reason_keeps_its_end() -> None:
    from demo.startup import _clip

    text = "loading config: " + "x" * 1000 + ": open /run/access.log: is a directory"
    clipped = _clip(text)
    assert len(clipped) <= 300 and clipped.startswith("loading config: ")
    assert clipped.endswith(": open /run/access.log: is a directory")
