"""The 103 Early Hints channel (RFC 8297): one informational response per
navigation, sent through the WSGI server's ``environ["wsgi.early_hints"]``
(gunicorn 25+) before the view runs.

RFC 8297 §2: "A server might send multiple 103 (Early Hints) responses", but
Chromium acts on the first one of a navigation only, so Firehose sends one,
holding every hint it knows before the view: declared and learned ones.

By default 103s go to HTTP/2 clients only, that is to browsers talking to the
app's server directly; a proxy in front speaks HTTP/1.1 to the app and sees
none unless ``FIREHOSE_EARLY_HINTS_HTTP1`` is on.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any, Final

from . import _budget as budget
from . import _grammar as grammar
from ._budget import header_value
from ._collection import LinkCollection
from ._failure import FailurePolicy
from ._links import Link, is_same_origin_path

__all__ = [
    "HINT_AS",
    "HINT_PARAMS",
    "HINT_RELS",
    "accepts_html",
    "assemble",
    "browser_takes",
    "can_send",
    "is_navigation",
    "policy_headers",
    "send",
    "speaks_http2",
]

# What Chromium acts on in a 103, from its source:
# services/network/public/cpp/link_header_parser.cc drops a link with any
# parameter but rel, as, crossorigin, type and fetchpriority; with an `as`
# other than font/image/script/style/fetch (compared lower-cased); with a
# `crossorigin` other than bare, anonymous or use-credentials; with a `type`
# that is not a MIME type; or whose whole `rel` value (lower-cased, so
# "preload prefetch" fails) is not one it knows. Then
# content/browser/loader/navigation_early_hints_manager.cc preconnects for
# `preconnect` and fetches `preload` (only with an `as`) and `modulepreload`
# (dns-prefetch is parsed, not acted on). Firefox ESR 153 fetched every kind
# in e2e/test_hint_fidelity.py through the 103 too.

#: Relations browsers act on in a 103; a link must hold exactly one.
HINT_RELS: Final = frozenset({"preload", "modulepreload", "preconnect"})

#: ``as`` values Chromium's 103 parser knows; any other drops the link.
HINT_AS: Final = frozenset({"font", "image", "script", "style", "fetch"})

#: Parameters a 103 link may carry besides the ``rel``, ``as`` and
#: ``crossorigin`` a :class:`Link` has fields for.
HINT_PARAMS: Final = frozenset({"fetchpriority", "type"})

# net::IsValidTopLevelMimeType and a token subtype, no parameters
# (net::ParseMimeTypeWithoutParameter): what Chromium takes as `type`.
_MIME_TYPE: Final = re.compile(
    r"(?:application|audio|example|font|image|message|model|multipart|text|video|x-"
    + grammar.TOKEN.pattern
    + r")/"
    + grammar.TOKEN.pattern,
    re.IGNORECASE,
)


def browser_takes(link: Link) -> str | None:
    """``None`` when Chromium and Firefox act on *link* in a 103, else why
    they ignore it there (a short phrase, for logs and warnings).

    Pure: it reads the link only. A link a browser ignores in a 103 does
    nothing there but take the 103's budget; it still does its work in the
    final ``Link`` header.
    """
    if link.nopush:
        return "nopush makes browsers ignore a 103 link"
    if " " in link.rel:  # Chromium compares the whole value: "preload preload" is no "preload"
        return f"rel={link.rel!r} names several relations, which Chromium ignores in a 103"
    if link.rel not in HINT_RELS:
        return f"rel={link.rel} is not acted on in a 103"
    for name, value in link.params:
        if name == "type":
            if value is None or not _MIME_TYPE.fullmatch(value):
                return f"type={value} is not a MIME type Chromium takes in a 103"
        elif name not in HINT_PARAMS:
            return f"{name} is not taken in a 103"
    as_ = link.as_
    if link.rel == "preload" and as_ is None:
        return "preload without as"
    if as_ is not None and as_ not in HINT_AS:
        return f"as={as_} is not fetched from a 103"
    if link.rel == "modulepreload" and as_ not in (None, "script"):
        return f"modulepreload with as={as_} is not a module script"
    return None


def policy_headers(referrer_policy: str | None, csp: str | None) -> tuple[tuple[str, str], ...]:
    """The policy fields a 103 carries besides ``Link``: browsers apply a
    ``Referrer-Policy`` and enforce a ``Content-Security-Policy`` of the 103
    on its preloads (HTML: "create navigation params by fetching" keeps the
    first 103's policies for them). ``None`` leaves a field out.

    :raises ValueError: a value that is not a one-line field value.
    """
    fields = []
    for name, value in (("Referrer-Policy", referrer_policy), ("Content-Security-Policy", csp)):
        if value is None:
            continue
        if not isinstance(value, str) or not value or not grammar.FIELD_VALUE.fullmatch(value):
            raise ValueError(f"{name} for the 103 is not a field value: {value!r}")
        fields.append((name, value))
    return tuple(fields)


def assemble(
    candidates: Iterable[Link],
    *,
    pushing_front: bool,
    already_pushed: Container[str] | None,
    max_links: int,
    max_bytes: int,
) -> tuple[Link, ...]:
    """The links of the 103, from *candidates* (declared, then learned) that
    still carry their ``nopush`` flags.

    Only links browsers act on there (:func:`browser_takes`) go in, without
    ``nopush`` (browsers ignore a 103 link carrying it); the rest stay in the
    final header only. A front that receives the 103 may push every link in
    it (Apache with ``H2Push``, h2o): when one may be in front
    (*pushing_front*: the 103 goes to HTTP/1.1 peers), the same-origin links
    the app marked ``nopush`` and those *already_pushed* to this client are
    left out; the final header still hints them, with ``nopush``. No push cap
    and the same count and byte bounds as the final header.
    """
    hints = LinkCollection()
    for link in candidates:
        form = link.without_nopush()
        if browser_takes(form) is not None:
            continue
        if (
            pushing_front
            and is_same_origin_path(link.target)
            and (link.nopush or (already_pushed is not None and link.target in already_pushed))
        ):
            continue
        hints.add(form)
    return budget.select(hints, max_links, max_bytes, None).kept


def is_navigation(environ: Mapping[str, Any]) -> bool:
    """Whether the request loads a document a browser would act on hints for.

    ``Sec-Fetch-Mode: navigate`` says so; without Fetch Metadata, an ``Accept``
    naming ``text/html`` does. htmx (``HX-Request``), Turbo (``Turbo-Frame``)
    and XHR (``X-Requested-With``) requests never are: they fetch fragments
    and would only warn "preloaded but not used". Reads the WSGI environ
    directly: this runs on every request.
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


#: The environ key :func:`flask_firehose.testing.record_early_hints` sets to
#: present a test client's requests as HTTP/2 (the test client always says
#: ``SERVER_PROTOCOL: HTTP/1.1``). A client cannot set it: request headers
#: only ever become ``HTTP_*`` keys.
TEST_HTTP2: Final = "flask_firehose.testing.http2"


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


def can_send(environ: Mapping[str, Any], allow_http1: bool) -> bool:
    """Whether the server offers ``wsgi.early_hints`` and the client's protocol
    is one we send 103s over (HTTP/2+, or HTTP/1.1 when *allow_http1*)."""
    if not callable(environ.get("wsgi.early_hints")):
        return False
    return speaks_http2(environ) or (allow_http1 and environ.get("SERVER_PROTOCOL") == "HTTP/1.1")


def send(
    environ: Mapping[str, Any],
    links: Sequence[Link],
    failures: FailurePolicy,
    extra: Sequence[tuple[str, str]] = (),
) -> bool:
    """Send one 103 holding *links*, then the *extra* fields
    (:func:`policy_headers`); return whether it went out. No links, no 103:
    policies alone would have nothing to apply to.

    A server callback that raises follows the failure policy: when lenient the
    request goes on without a 103 (the final response still carries every
    link, so the page loses only the head start).
    """
    if not links:
        return False
    headers = [("Link", header_value(links)), *extra]
    return failures.call("wsgi.early_hints (the 103)", False, _send, environ["wsgi.early_hints"], headers)


def _send(callback: Any, headers: list[tuple[str, str]]) -> bool:
    callback(headers)
    return True
