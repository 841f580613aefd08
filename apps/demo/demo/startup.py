"""What ``make demo`` (:mod:`demo.serve`) checks before and while it starts:
the loopback addresses among its certificate's names this machine has, whether
a port is free on each of them (TCP, and UDP for HTTP/3), and the line of a
server's log that says why it stopped, so that a failure to start is one line.
"""

from __future__ import annotations

import errno
import json
import re
import socket
from collections.abc import Sequence
from pathlib import Path

from .devcert import NAMES

__all__ = ["StartFailed", "free_port", "last_error", "loopback_addresses", "port_problem", "url_host"]

#: How long a quoted log line may be.
_MAX_WHY = 300


class StartFailed(Exception):
    """The demo cannot start; the message says why, in one line."""


def loopback_addresses() -> tuple[str, ...]:
    """The certificate's addresses this machine has: 127.0.0.1, and ::1 where
    there is an IPv6 loopback (some sandboxes and containers have none)."""
    found = [name for name in NAMES if name == "127.0.0.1"]
    if "::1" in NAMES:
        try:
            with socket.socket(socket.AF_INET6) as sock:
                sock.bind(("::1", 0))
        except OSError:
            pass
        else:
            found.append("::1")
    return tuple(found)


def url_host(address: str) -> str:
    """*address* as a URL's host: an IPv6 address in brackets."""
    return f"[{address}]" if ":" in address else address


def port_problem(port: int, addresses: Sequence[str], udp: bool = False) -> str | None:
    """Why *port* cannot be listened on at each of *addresses* (TCP, and UDP
    for HTTP/3 with *udp*), or ``None`` when it can."""
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        for kind in kinds:
            where = f"{'UDP' if kind == socket.SOCK_DGRAM else 'TCP'} port {port} on {address}"
            with socket.socket(family, kind) as sock:
                if kind == socket.SOCK_STREAM:
                    # As the servers bind: a closed connection's TIME_WAIT is no
                    # obstacle, a listener is. (Not for UDP, where it would let
                    # this socket share the port with another that set it.)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((address, port))
                except OSError as error:
                    if error.errno == errno.EADDRINUSE:
                        return f"{where} is already in use (another program listens there)"
                    if error.errno == errno.EACCES:
                        return f"{where} needs privileges this user does not have"
                    return f"{where} cannot be used: {error.strerror or error}"
    return None


def free_port(addresses: Sequence[str] = ("127.0.0.1",), udp: bool = False) -> int:
    """A port free on every one of *addresses* (and for UDP with *udp*)."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port_problem(port, addresses, udp) is None:
            return port
    raise StartFailed(f"found no port free on {' and '.join(addresses)} in 100 tries")


_GUNICORN_PREFIX = re.compile(r"^\[[^\]]*\] \[\d+\] (\[[A-Z]+\] )?")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: .*)?$")


def _clip(text: str) -> str:
    """*text* on one line, its middle cut when long: the cause of a Go or a
    Python error is at its end (``...: bind: address already in use``)."""
    text = " ".join(text.split())
    if len(text) <= _MAX_WHY:
        return text
    head = _MAX_WHY // 3
    return f"{text[:head]} ... {text[-(_MAX_WHY - head - 5) :]}"


def last_error(log: Path) -> str | None:
    """The line of *log* that says why a server stopped, or ``None``: Caddy's
    ``Error: ...`` or its last error entry (JSON), else the last exception
    line of a Python traceback, else gunicorn's last ``[ERROR]``."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("Error: "):
            return _clip(line.removeprefix("Error: "))
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic"):
                return _clip(": ".join(str(entry[key]) for key in ("msg", "error") if entry.get(key)))
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return _clip(line)
    for line in reversed(lines):
        if "[ERROR]" in line:
            return _clip(_GUNICORN_PREFIX.sub("", line))
    return None
