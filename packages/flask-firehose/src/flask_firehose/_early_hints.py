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

from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any, Final

from . import _budget as budget
from . import _grammar as grammar
from ._budget import header_value
from ._collection import LinkCollection
from ._failure import FailurePolicy
from ._links import Link, is_same_origin_path

__all__ = [
    "HINT_PARAMS",
    "accepts_html",
    "assemble",
    "can_send",
    "hint_form",
    "is_navigation",
    "may_hint",
    "send",
    "speaks_http2",
]

#: Parameters a browser accepts on a 103 link besides ``rel``, ``as`` and
#: ``crossorigin``. Chromium 156 ignores a 103 link with any other parameter,
#: ``nopush`` included (seen in this project's e2e runs).
HINT_PARAMS: Final = frozenset(
    {"fetchpriority", "imagesizes", "imagesrcset", "integrity", "media", "referrerpolicy", "type"}
)


def may_hint(link: Link) -> bool:
    """Whether *link* may stand in a 103: no parameter browsers reject there
    (removing one, ``integrity`` say, would make the hint unusable, so such a
    link stays in the final header only)."""
    return all(name in HINT_PARAMS for name, _ in link.params)


def hint_form(link: Link) -> Link | None:
    """*link* as it may stand in a 103: without ``nopush``; ``None`` when it
    has a parameter browsers reject there."""
    return link.without_nopush() if may_hint(link) else None


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

    Browsers get them without ``nopush`` (Chromium ignores a 103 link with a
    parameter it does not know). But a front that receives the 103 may push
    every link in it (Apache with ``H2Push``, h2o): when one may be in front
    (*pushing_front*: the 103 goes to HTTP/1.1 peers), the same-origin links
    the app marked ``nopush`` and those *already_pushed* to this client are
    left out; the final header still hints them, with ``nopush``. No push cap
    and the same count and byte bounds as the final header.
    """
    hints = LinkCollection()
    for link in candidates:
        if not may_hint(link):
            continue
        if (
            pushing_front
            and is_same_origin_path(link.target)
            and (link.nopush or (already_pushed is not None and link.target in already_pushed))
        ):
            continue
        hints.add(link.without_nopush())
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


def send(environ: Mapping[str, Any], links: Sequence[Link], failures: FailurePolicy) -> bool:
    """Send one 103 holding *links*; return whether it went out.

    A server callback that raises follows the failure policy: when lenient the
    request goes on without a 103 (the final response still carries every
    link, so the page loses only the head start).
    """
    if not links:
        return False
    return failures.call("wsgi.early_hints (the 103)", False, _send, environ["wsgi.early_hints"], links)


def _send(callback: Any, links: Sequence[Link]) -> bool:
    callback([("Link", header_value(links))])
    return True
