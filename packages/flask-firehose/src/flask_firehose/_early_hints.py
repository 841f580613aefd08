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
from typing import Any

from . import _budget as budget
from . import _grammar as grammar
from ._browsers import browser_takes
from ._budget import header_value
from ._collection import LinkCollection
from ._failure import FailurePolicy
from ._links import LATE_SCRIPT_PRIORITY, LCP_IMAGE_PRIORITY, Link, is_same_origin_path

__all__ = [
    "assemble",
    "policy_headers",
    "send",
]


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
    left out; the final header still hints them, with ``nopush``. A 103
    that carries an LCP image (``as=image; fetchpriority=high``) leaves out
    the scripts hinted at ``fetchpriority=low`` (deferred and async ones): they
    would compete with it for the link. No push cap and the same count and
    byte bounds as the final header.
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
    if any(link.priority == LCP_IMAGE_PRIORITY for link in hints):
        # Measured (docs/lcp-measured.rst): at 10 Mbit/s a deferred script in
        # the same 103 takes bandwidth the LCP image needs, even at
        # fetchpriority=low (Caddy shares the link among its streams). The
        # page finds it soon enough; the final header still hints it.
        kept = LinkCollection()
        for link in hints:
            if link.priority != LATE_SCRIPT_PRIORITY:
                kept.add(link)
        hints = kept
    return budget.select(hints, max_links, max_bytes, None).kept


def send(
    environ: Mapping[str, Any],
    links: Sequence[Link],
    failures: FailurePolicy,
    extra: Sequence[tuple[str, str]] = (),
    field: str | None = None,
) -> bool:
    """Send one 103 holding *links*, then the *extra* fields
    (:func:`policy_headers`); return whether it went out. No links, no 103:
    policies alone would have nothing to apply to. *field*: the ``Link``
    value of *links*, if the caller kept it.

    A server callback that raises follows the failure policy: when lenient the
    request goes on without a 103 (the final response still carries every
    link, so the page loses only the head start).
    """
    if not links:
        return False
    headers = [("Link", header_value(links) if field is None else field), *extra]
    return failures.call("wsgi.early_hints (the 103)", False, _send, environ["wsgi.early_hints"], headers)


def _send(callback: Any, headers: list[tuple[str, str]]) -> bool:
    callback(headers)
    return True
