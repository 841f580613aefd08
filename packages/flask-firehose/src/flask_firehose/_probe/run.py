"""``firehose probe``: what a deployment really sends for one page.

:func:`probe` asks for a URL the way a browser navigates to it (over HTTP/2,
or HTTP/1.1), and records every 103 Early Hints response with its links and
arrival time, the final status, time and ``Link`` header(s), and every HTTP/2
push with its size. :func:`flask_firehose._probe.checks.check` then judges what
browsers and pushing proxies will make of it; with ``check_files`` the hinted
same-origin files are asked for too, to see how they may be cached.

Links are read with the strict parser (:mod:`flask_firehose._parsing`): a
malformed header becomes a warning, never an exception. The result is plain
data (:class:`ProbeResult`), which :mod:`flask_firehose._probe.report` renders.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit

from .._parsing import MalformedLinkHeader, ParsedLink, parse_link_header
from .._version import __version__
from .checks import ServedFile, check, files_to_check
from .http2 import h2_exchanges
from .http11 import h11_exchanges
from .result import EarlyHint, ProbeResult, ProbeWarning, Push
from .transport import (
    MAX_KEPT,
    Clock,
    Deadline,
    Endpoint,
    ProbeError,
    Protocol,
    RawExchange,
    RawResponse,
    Request,
    TlsOptions,
    connect,
)

__all__ = [
    "EarlyHint",
    "ProbeError",
    "ProbeOptions",
    "ProbeResult",
    "ProbeWarning",
    "Push",
    "exchange",
    "probe",
    "probe_visits",
]

USER_AGENT: Final = f"firehose-probe/{__version__}"
#: What a browser sends when it navigates to a page (Chromium's Accept).
NAVIGATION_HEADERS: Final = (
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-site", "none"),
    ("upgrade-insecure-requests", "1"),
)
#: What a browser sends when it fetches a hinted file.
FILE_HEADERS: Final = (("accept", "*/*"), ("sec-fetch-mode", "no-cors"))


@dataclass(frozen=True)
class ProbeOptions:
    """How to ask: see ``firehose probe --help`` for each option."""

    protocol: Protocol = "auto"
    cacert: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None
    navigate: bool = True
    check_files: bool = True


def probe(url: str, options: ProbeOptions = ProbeOptions(), clock: Clock = time.monotonic) -> ProbeResult:
    """Visit *url* once and report what came back, warnings included.

    :raises ProbeError: when there was no usable answer (refused, TLS,
        timeout, not HTTP).
    :raises ValueError: when *url* is not an ``http://`` or ``https://`` URL.
    """
    return _visit(url, options, CookieJar.of(options.cookie), clock)


def probe_visits(
    url: str, options: ProbeOptions = ProbeOptions(), repeat: int = 1, clock: Clock = time.monotonic
) -> list[ProbeResult]:
    """Visit *url* *repeat* times in one cookie jar (what the server set on a
    visit goes with the next), as a returning browser would."""
    jar = CookieJar.of(options.cookie)
    return [_visit(url, options, jar, clock) for _ in range(repeat)]


def _visit(url: str, options: ProbeOptions, jar: CookieJar, clock: Clock) -> ProbeResult:
    endpoint = Endpoint.of(url)
    request = Request("GET", _target_of(url), _request_headers(options, jar))
    protocol, (found,) = exchange(
        endpoint, [request], protocol=options.protocol, tls=_tls(options), timeout=options.timeout, clock=clock
    )
    if found.final is None:  # pragma: no cover - the transport raises first
        raise ProbeError(f"{endpoint.where} sent no response", "closed")
    jar.update(value for name, value in found.final.headers if name == "set-cookie")
    result = _result(url, protocol, found, found.final, navigation=options.navigate)
    served = _served_files(url, result, options, clock) if options.check_files else {}
    warnings = list(check(result, served))
    if found.dropped:
        warnings.append(
            ProbeWarning(
                "too-many-responses",
                f"the server sent {found.dropped} more 1xx responses or pushes than the {MAX_KEPT} the probe keeps",
            )
        )
    return dataclasses.replace(result, warnings=tuple(warnings))


def exchange(
    endpoint: Endpoint,
    requests: Sequence[Request],
    *,
    protocol: Protocol = "auto",
    tls: TlsOptions | None = None,
    timeout: float = 10.0,
    clock: Clock = time.monotonic,
) -> tuple[str, list[RawExchange]]:
    """Send *requests* to *endpoint* and wait for every answer, within *timeout*.

    Over HTTP/2 they go out together on one connection, over HTTP/1.1 one
    after the other. Times are seconds since each request left.

    :returns: the protocol spoken (``h2``, ``h2c`` or ``http/1.1``) and one
        :class:`~flask_firehose._probe.transport.RawExchange` per request, in order.
    :raises ProbeError: when no complete answer came.
    """
    trust = tls or TlsOptions()
    deadline = Deadline.after(timeout, clock)
    sock, spoken = connect(endpoint, protocol, trust, deadline)
    try:
        if spoken != "http/1.1":
            return spoken, h2_exchanges(sock, endpoint, requests, deadline)
        again: Protocol = "http1" if protocol == "auto" else protocol
        return spoken, h11_exchanges(
            sock, endpoint, requests, deadline, lambda: connect(endpoint, again, trust, deadline)[0]
        )
    finally:
        sock.close()


def _target_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _tls(options: ProbeOptions) -> TlsOptions:
    return TlsOptions(options.cacert, options.insecure)


def _request_headers(options: ProbeOptions, jar: CookieJar) -> tuple[tuple[str, str], ...]:
    """Browser-like headers, then the cookies, with ``-H`` replacing any of the same name."""
    given = {name.lower() for name, _ in options.headers}
    base = [("user-agent", USER_AGENT), *(NAVIGATION_HEADERS if options.navigate else (("accept", "*/*"),))]
    if cookie := jar.header():
        base.append(("cookie", cookie))
    return (*((name, value) for name, value in base if name not in given), *options.headers)


def _links(values: Iterable[str]) -> tuple[tuple[ParsedLink, ...], tuple[MalformedLinkHeader, ...]]:
    """The links of several ``Link`` fields, and the fields that did not parse."""
    links: list[ParsedLink] = []
    malformed: list[MalformedLinkHeader] = []
    for value in values:
        try:
            links.extend(parse_link_header(value))
        except MalformedLinkHeader as exc:
            malformed.append(exc)
    return tuple(links), tuple(malformed)


def _link_values(headers: Sequence[tuple[str, str]]) -> list[str]:
    return [value for name, value in headers if name == "link"]


def _early_hint(head: RawResponse) -> EarlyHint:
    links, malformed = _links(_link_values(head.headers))
    return EarlyHint(head.at * 1000, links, malformed)


def _result(url: str, protocol: str, found: RawExchange, final: RawResponse, *, navigation: bool = True) -> ProbeResult:
    links, malformed = _links(_link_values(final.headers))
    return ProbeResult(
        url=url,
        protocol=protocol,
        early_hints=tuple(_early_hint(head) for head in found.informational if head.status == 103),
        status=final.status,
        final_at_ms=final.at * 1000,
        links=links,
        pushes=tuple(Push(push.path, push.status, push.bytes, push.complete) for push in found.pushes),
        headers=final.headers,
        malformed=malformed,
        navigation=navigation,
    )


def _served_files(url: str, result: ProbeResult, options: ProbeOptions, clock: Clock) -> dict[str, ServedFile]:
    """How each hinted same-origin file is served, asked with HEAD (GET where
    HEAD is refused), over the protocol the page came over."""
    targets = files_to_check(result)
    if not targets:
        return {}
    protocol: Protocol = "http1" if result.protocol == "http/1.1" else "http2"
    try:
        answers = _ask(url, targets, "HEAD", protocol, options, clock)
        refused = [target for target, answer in answers.items() if answer.status in (405, 501)]
        if refused:
            answers.update(_ask(url, refused, "GET", protocol, options, clock))
    except ProbeError as exc:
        return {target: ServedFile(target, 0, None, exc.message) for target in targets}
    return answers


def _ask(
    url: str, targets: Sequence[str], method: str, protocol: Protocol, options: ProbeOptions, clock: Clock
) -> dict[str, ServedFile]:
    endpoint = Endpoint.of(url)
    headers = (("user-agent", USER_AGENT), *FILE_HEADERS)
    requests = [Request(method, _target_of(urljoin(url, target)), headers) for target in targets]
    _, found = exchange(endpoint, requests, protocol=protocol, tls=_tls(options), timeout=options.timeout, clock=clock)
    return {target: _served(target, answer) for target, answer in zip(targets, found, strict=True)}


def _served(target: str, answer: RawExchange) -> ServedFile:
    if answer.final is None:  # pragma: no cover - the transport raises first
        return ServedFile(target, 0, None, "no answer")
    cache_control = [value for name, value in answer.final.headers if name == "cache-control"]
    return ServedFile(target, answer.final.status, ", ".join(cache_control) if cache_control else None)


class CookieJar:
    """The cookies of one origin across visits: ``name=value`` pairs, later
    ``Set-Cookie`` fields replacing earlier ones, ``Max-Age=0`` removing one
    (path, domain and expiry dates are not tracked: every visit is to one URL)."""

    def __init__(self, cookies: Mapping[str, str] | None = None) -> None:
        self.cookies: dict[str, str] = dict(cookies or {})

    @classmethod
    def of(cls, header: str | None) -> CookieJar:
        """A jar holding the pairs of a ``Cookie`` header value (``a=1; b=2``)."""
        jar = cls()
        for pair in (header or "").split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name:
                jar.cookies[name] = value
        return jar

    def update(self, set_cookies: Iterable[str]) -> None:
        """Take in ``Set-Cookie`` field values."""
        for value in set_cookies:
            pair, *attributes = value.split(";")
            name, sep, content = pair.strip().partition("=")
            if not sep or not name:
                continue
            if any(_expires_now(attribute) for attribute in attributes):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = content.strip()

    def header(self) -> str | None:
        """The ``Cookie`` header value to send, if any."""
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items()) or None


def _expires_now(attribute: str) -> bool:
    name, _, value = attribute.strip().partition("=")
    if name.lower() != "max-age":
        return False
    try:
        return int(value.strip()) <= 0
    except ValueError:
        return False
