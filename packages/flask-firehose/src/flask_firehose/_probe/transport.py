"""The connection under ``firehose probe``: TCP, TLS with ALPN, and what
comes back from a request, raw (status, header pairs, arrival times in
seconds since the request left, pushed streams).

The protocols themselves are spoken by :mod:`flask_firehose._probe.http2`
(python-hyper ``h2``) and :mod:`flask_firehose._probe.http11` (``h11``): no
framing is written here. Every failure to get an answer is a
:class:`ProbeError` holding one line a user can act on.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

__all__ = [
    "CONNECTION_SPECIFIC",
    "Clock",
    "Deadline",
    "Endpoint",
    "Headers",
    "ProbeError",
    "Protocol",
    "RawExchange",
    "RawPush",
    "RawResponse",
    "Request",
    "TlsOptions",
    "connect",
    "header_pairs",
    "receive",
    "send",
]

Clock = Callable[[], float]
Headers = tuple[tuple[str, str], ...]
#: What to speak: ALPN decides (``auto``), or one protocol insisted on.
Protocol = Literal["auto", "http1", "http2"]

_READ_SIZE: Final = 65536
# HTTP/2 headers a client must not send (RFC 9113 §8.2.2).
CONNECTION_SPECIFIC: Final = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})


class ProbeError(Exception):
    """The probe got no usable answer; :attr:`message` says why in one line.

    :param kind: ``refused``, ``dns``, ``tls``, ``timeout``, ``protocol``,
        ``closed`` or ``network``.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class TlsOptions:
    """How to trust the server: a CA file, the system's CAs, or nothing."""

    cacert: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class Endpoint:
    """Where a URL points: scheme, host, port and the ``:authority``."""

    scheme: str
    host: str
    port: int
    authority: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        """The endpoint of an ``http://`` or ``https://`` *url*.

        :raises ValueError: for another scheme, no host or a bad port.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"not an http:// or https:// URL: {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, parts.hostname, port, parts.netloc.rpartition("@")[2])

    @property
    def where(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Request:
    """One request: method, target (path and query) and header pairs."""

    method: str
    target: str
    headers: Headers = ()


@dataclass(frozen=True)
class RawResponse:
    """A response head (1xx or final) and when it arrived."""

    status: int
    headers: Headers
    at: float


@dataclass
class RawPush:
    """One PUSH_PROMISE: the promised path, then what was pushed on it."""

    path: str
    status: int = 0
    headers: Headers = ()
    bytes: int = 0
    complete: bool = False


#: The most 1xx responses and pushes one exchange keeps.
MAX_KEPT: Final = 100


@dataclass
class RawExchange:
    """Everything one request got: 1xx responses, the final one, pushes."""

    informational: list[RawResponse] = field(default_factory=list)
    final: RawResponse | None = None
    pushes: list[RawPush] = field(default_factory=list)
    complete: bool = False
    dropped: int = 0
    """1xx responses and pushes past :data:`MAX_KEPT`, counted, not kept."""

    def keep_informational(self, response: RawResponse) -> None:
        """Keep a 1xx response, up to :data:`MAX_KEPT` of them (a server may send them without end)."""
        if len(self.informational) < MAX_KEPT:
            self.informational.append(response)
        else:
            self.dropped += 1

    def keep_push(self, push: RawPush) -> bool:
        """Keep a promised push, up to :data:`MAX_KEPT`; whether it was kept."""
        if len(self.pushes) < MAX_KEPT:
            self.pushes.append(push)
            return True
        self.dropped += 1
        return False


@dataclass(frozen=True)
class Deadline:
    """The time left for one exchange, and how to say it ran out."""

    clock: Clock
    end: float
    seconds: float

    @classmethod
    def after(cls, seconds: float, clock: Clock) -> Deadline:
        """The deadline *seconds* from now."""
        return cls(clock, clock() + seconds, seconds)

    def left(self, what: str) -> float:
        """Seconds left; :class:`ProbeError` when none (*what* was awaited)."""
        remaining = self.end - self.clock()
        if remaining <= 0:
            raise ProbeError(f"timed out after {self.seconds:g} s {what}", "timeout")
        return remaining


# -- connecting -------------------------------------------------------------------


def connect(endpoint: Endpoint, protocol: Protocol, tls: TlsOptions, deadline: Deadline) -> tuple[socket.socket, str]:
    """A connected socket (TLS-wrapped for https) and the protocol to speak on
    it: ``h2``, ``h2c`` (cleartext, prior knowledge) or ``http/1.1``.

    :raises ProbeError: refused, unresolvable, TLS failure, timeout.
    """
    sock = _tcp(endpoint, deadline)
    if endpoint.scheme == "http":
        return sock, "h2c" if protocol == "http2" else "http/1.1"
    try:
        wrapped = _tls(sock, endpoint, protocol, tls, deadline)
    except BaseException:
        sock.close()
        raise
    selected = wrapped.selected_alpn_protocol()
    if protocol == "http2" and selected != "h2":
        wrapped.close()
        raise ProbeError(
            f"{endpoint.where} did not agree to HTTP/2 over TLS (ALPN chose {selected or 'nothing'})", "protocol"
        )
    return wrapped, "h2" if selected == "h2" else "http/1.1"


def _tcp(endpoint: Endpoint, deadline: Deadline) -> socket.socket:
    try:
        return socket.create_connection((endpoint.host, endpoint.port), timeout=deadline.left("connecting"))
    except ConnectionRefusedError:
        raise ProbeError(f"connection refused by {endpoint.where}: nothing listens there", "refused") from None
    except socket.gaierror as exc:
        raise ProbeError(f"cannot resolve {endpoint.host}: {exc.strerror}", "dns") from None
    except TimeoutError:
        raise ProbeError(f"timed out after {deadline.seconds:g} s connecting to {endpoint.where}", "timeout") from None
    except OSError as exc:
        raise ProbeError(f"cannot connect to {endpoint.where}: {exc.strerror or exc}", "network") from None


def _tls_context(protocol: Protocol, tls: TlsOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=tls.cacert)
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    offered = {"auto": ["h2", "http/1.1"], "http2": ["h2"], "http1": ["http/1.1"]}[protocol]
    context.set_alpn_protocols(offered)
    return context


def _tls(
    sock: socket.socket, endpoint: Endpoint, protocol: Protocol, tls: TlsOptions, deadline: Deadline
) -> ssl.SSLSocket:
    try:
        context = _tls_context(protocol, tls)
    except (OSError, ssl.SSLError) as exc:
        raise ProbeError(f"cannot read the CA file {tls.cacert!r}: {exc.strerror or exc}", "tls") from None
    sock.settimeout(deadline.left(f"in the TLS handshake with {endpoint.where}"))
    try:
        return context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        raise ProbeError(
            f"TLS: the certificate of {endpoint.where} is not trusted ({exc.verify_message}); "
            "pass --cacert FILE or --insecure",
            "tls",
        ) from None
    except ssl.SSLError as exc:
        raise ProbeError(
            f"TLS handshake with {endpoint.where} failed ({exc.reason or exc}): does it serve TLS on this port? "
            "(for plain HTTP use http://)",
            "tls",
        ) from None
    except TimeoutError:
        raise ProbeError(
            f"timed out after {deadline.seconds:g} s in the TLS handshake with {endpoint.where}", "timeout"
        ) from None
    except OSError as exc:
        raise ProbeError(
            f"TLS handshake with {endpoint.where} failed: {exc.strerror or exc} (is it serving TLS on this port?)",
            "tls",
        ) from None


def receive(sock: socket.socket, endpoint: Endpoint, deadline: Deadline, what: str) -> bytes:
    """The next bytes from *sock* (``b""`` when the peer closed).

    :param what: what was awaited, for the timeout's message.
    """
    sock.settimeout(deadline.left(what))
    try:
        return sock.recv(_READ_SIZE)
    except TimeoutError:
        raise ProbeError(f"timed out after {deadline.seconds:g} s {what}", "timeout") from None
    except ssl.SSLError as exc:
        raise ProbeError(f"TLS error from {endpoint.where}: {exc.reason or exc}", "tls") from None
    except ConnectionResetError:
        raise ProbeError(f"{endpoint.where} reset the connection before answering", "closed") from None
    except OSError as exc:
        raise ProbeError(f"connection to {endpoint.where} failed: {exc.strerror or exc}", "network") from None


def send(sock: socket.socket, data: bytes, endpoint: Endpoint) -> None:
    """Write *data*; a broken connection is a :class:`ProbeError`."""
    try:
        sock.sendall(data)
    except OSError as exc:
        raise ProbeError(f"connection to {endpoint.where} failed: {exc.strerror or exc}", "network") from None


def header_pairs(headers: Sequence[tuple[bytes | str, bytes | str]] | None) -> Headers:
    """Header pairs as text, names lower-cased (values read as Latin-1)."""
    return tuple(
        (
            (name.decode("latin-1") if isinstance(name, bytes) else name).lower(),
            value.decode("latin-1") if isinstance(value, bytes) else value,
        )
        for name, value in headers or ()
    )
