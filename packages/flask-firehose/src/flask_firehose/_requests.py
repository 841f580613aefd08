"""What a request is, worked out once: the questions every part asks of it.

Is it a navigation (a document the browser acts on hints for)? Did it come
over HTTP/2 or HTTP/3? Can a 103 go out on it? Is it a speculation
(``Sec-Purpose: prefetch``) that may never be shown? Is it answered by a
static route? Does it say who sent it (a cookie other than Firehose's own,
HTTP authentication, a client certificate)?

:class:`RequestFacts` holds the answers for one request: the request hooks
work them out the first time they ask, keep them on the request context, and
hand the same object to each other, the learner and the Speculation Rules. Each question is also a pure function
of the WSGI environ, tested on its own. These run on every request: they read
the environ directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from . import _grammar as grammar

__all__ = [
    "FACTS_ATTRIBUTE",
    "TEST_HTTP2",
    "RequestFacts",
    "accepts_html",
    "can_send",
    "carries_credentials",
    "is_navigation",
    "is_prefetch_purpose",
    "is_static_endpoint",
    "speaks_http2",
]

#: Where a request context keeps its :class:`RequestFacts`.
FACTS_ATTRIBUTE: Final = "_firehose_facts"

#: The environ key :func:`flask_firehose.testing.record_early_hints` sets to
#: present a test client's requests as HTTP/2 (the test client always says
#: ``SERVER_PROTOCOL: HTTP/1.1``). A client cannot set it: request headers
#: only ever become ``HTTP_*`` keys.
TEST_HTTP2: Final = "flask_firehose.testing.http2"

# RFC 8941 §3.1: sf-list = list-member *( OWS "," OWS list-member ), an item
# being a token or string with ";"-parameters. Sec-Purpose (Fetch) is such a
# list; its item "prefetch" (with "prerender" as a parameter when Chromium
# prerenders) marks a speculative request.
#   sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" )
_SF_PREFETCH: Final = re.compile(r"[ \t]*prefetch[ \t]*(?:;.*)?")


def is_navigation(environ: Mapping[str, Any]) -> bool:
    """Whether the request loads a document a browser would act on hints for.

    ``Sec-Fetch-Mode: navigate`` says so; without Fetch Metadata, an ``Accept``
    naming ``text/html`` does. htmx (``HX-Request``), Turbo (``Turbo-Frame``)
    and XHR (``X-Requested-With``) requests never are: they fetch fragments
    and would only warn "preloaded but not used".
    """
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if "HTTP_HX_REQUEST" in environ or "HTTP_TURBO_FRAME" in environ or "HTTP_X_REQUESTED_WITH" in environ:
        return False
    mode = environ.get("HTTP_SEC_FETCH_MODE")
    if mode is not None:
        return bool(mode == "navigate")
    return accepts_html(str(environ.get("HTTP_ACCEPT", "")))


def accepts_html(accept: str) -> bool:
    """Whether an ``Accept`` value names ``text/html`` with a weight above 0
    (RFC 9110 §12.5.1: media types are case-insensitive, ``q=0`` means "not
    acceptable"; a weight that is not a ``qvalue`` counts as 0)."""
    lowered = accept.lower()
    if "text/html" not in lowered:
        return False
    for media_range in lowered.split(","):
        media_type, _, parameters = media_range.partition(";")
        if media_type.strip(" \t") != "text/html":
            continue
        weight = "1"
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip(" \t") == "q":
                weight = value.strip(" \t")
        if grammar.QVALUE.fullmatch(weight) and float(weight) > 0:
            return True
    return False


def speaks_http2(environ: Mapping[str, Any]) -> bool:
    """Whether the request came over HTTP/2 or HTTP/3 (so from a browser, not a front)."""
    # Servers say so in SERVER_PROTOCOL ("HTTP/2", "HTTP/2.0" as gunicorn
    # writes it, "HTTP/3"). gunicorn also sets HTTP_VERSION=2 on its HTTP/2
    # streams, but over HTTP/1.x that key is a client's own "Version" header:
    # it counts only where SERVER_PROTOCOL does not say HTTP/1.
    protocol = str(environ.get("SERVER_PROTOCOL", ""))
    if protocol.startswith(("HTTP/2", "HTTP/3")) or environ.get(TEST_HTTP2) is True:
        return True
    return environ.get("HTTP_VERSION") == "2" and not protocol.startswith("HTTP/1")


def can_send(environ: Mapping[str, Any], allow_http1: bool, http2: bool | None = None) -> bool:
    """Whether the server offers ``wsgi.early_hints`` and the client's protocol
    is one we send 103s over (HTTP/2+, or HTTP/1.1 when *allow_http1*);
    *http2*: :func:`speaks_http2`, if already asked."""
    if not callable(environ.get("wsgi.early_hints")):
        return False
    if http2 is None:
        http2 = speaks_http2(environ)
    return http2 or (allow_http1 and environ.get("SERVER_PROTOCOL") == "HTTP/1.1")


def is_prefetch_purpose(value: str | None) -> bool:
    """Whether a ``Sec-Purpose`` value marks a prefetch (or a prerender, which
    is ``prefetch;prerender``). Tokens are case-sensitive: ``Prefetch`` or
    ``prefetcher`` is not one."""
    if not value or len(value) > 256:
        return False
    return any(_SF_PREFETCH.fullmatch(item) for item in value.split(","))


def is_static_endpoint(endpoint: str | None) -> bool:
    """Whether *endpoint* is the app's or a blueprint's static route."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def carries_credentials(environ: Mapping[str, Any], own_cookie: str | None = None) -> bool:
    """Whether the request says who sent it: a cookie (other than
    Firehose's own digest *own_cookie*, which only lists files), HTTP
    authentication or a client certificate."""
    if environ.get("HTTP_AUTHORIZATION") or environ.get("REMOTE_USER") or environ.get("SSL_CLIENT_CERT"):
        return True
    cookies = environ.get("HTTP_COOKIE")
    if not cookies:
        return False
    if own_cookie is None:
        return True
    # Only the names matter (RFC 6265 §4.2.1: "name=value" pairs joined by
    # ";"). A part without "=" counts as a cookie too: when in doubt, the
    # request is credentialed and nothing is learned from it.
    for part in str(cookies).split(";"):
        name = part.partition("=")[0].strip(" \t")
        if name != own_cookie and (name or part.strip(" \t")):
            return True
    return False


class RequestFacts:
    """The answers for one request (see the module's docstring).

    :param endpoint: the endpoint the URL map chose, or ``None``.
    :param early_hints: ``FIREHOSE_EARLY_HINTS``; *allow_http1*:
        ``FIREHOSE_EARLY_HINTS_HTTP1``; *own_cookie*: the digest cookie's name.
    """

    __slots__ = (
        "_credentials",
        "_environ",
        "_own_cookie",
        "early_hints",
        "endpoint",
        "http2",
        "navigation",
        "speculative",
        "static",
    )

    def __init__(
        self,
        environ: Mapping[str, Any],
        endpoint: str | None,
        *,
        early_hints: bool,
        allow_http1: bool,
        own_cookie: str | None,
    ) -> None:
        #: Which endpoint answers it (``None``: no route matched).
        self.endpoint = endpoint
        #: A document load a browser acts on hints for.
        self.navigation = is_navigation(environ)
        #: Over HTTP/2 or HTTP/3: from a browser, not from a front.
        self.http2 = http2 = speaks_http2(environ)
        #: A 103 can go out on it (the server offers one, the protocol and
        #: settings allow it).
        self.early_hints = early_hints and can_send(environ, allow_http1, http2)
        #: A speculation (``Sec-Purpose: prefetch``), which may never be shown.
        purpose = environ.get("HTTP_SEC_PURPOSE")
        self.speculative = purpose is not None and is_prefetch_purpose(purpose)
        #: Answered by the app's or a blueprint's static route.
        self.static = is_static_endpoint(endpoint)
        self._environ = environ
        self._own_cookie = own_cookie
        self._credentials: bool | None = None

    @property
    def credentials(self) -> bool:
        """The request says who sent it (:func:`carries_credentials`); read on first use."""
        if self._credentials is None:
            self._credentials = carries_credentials(self._environ, self._own_cookie)
        return self._credentials
