"""Whether a shared cache (a CDN, a caching proxy) may hand a response to
other clients: the question both learning and tracking ask.

RFC 9111 §3 and §5.2.2: a shared cache may store a response that says nothing
against it and gives it a freshness lifetime (``max-age``, ``s-maxage``,
``Expires``) or ``public``; ``private`` and ``no-store`` forbid it. A ``Vary``
on ``Cookie`` or ``Authorization`` (or ``*``) keeps one client's copy from
serving another. A header may come in several fields: all of them count.
"""

from __future__ import annotations

from typing import NamedTuple

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header, parse_set_header
from werkzeug.wrappers import Response

__all__ = ["marked_public", "served_to_others", "storable_by_others"]

_PER_USER = frozenset({"cookie", "authorization", "*"})


class _Caching(NamedTuple):
    control: ResponseCacheControl | None
    expires: bool
    per_user: bool


def _caching(response: Response) -> _Caching:
    controls: list[str] = []
    varies: list[str] = []
    expires = False
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered == "cache-control":
            controls.append(value)
        elif lowered == "vary":
            varies.append(value)
        elif lowered == "expires":
            expires = True
    control = parse_cache_control_header(", ".join(controls), cls=ResponseCacheControl) if controls else None
    per_user = bool(varies) and bool({v.lower() for v in parse_set_header(", ".join(varies))} & _PER_USER)
    return _Caching(control, expires, per_user)


def marked_public(response: Response) -> bool:
    """Whether *response* says it is the same for everyone: ``public`` or
    ``s-maxage``, without ``private`` or ``no-store``."""
    control = _caching(response).control
    return control is not None and _public(control)


def _public(control: ResponseCacheControl) -> bool:
    return bool((control.public or control.s_maxage is not None) and not control.private and not control.no_store)


def served_to_others(response: Response) -> bool:
    """Whether one stored copy of *response*, marked public, may be served
    to other clients: not varying by user."""
    caching = _caching(response)
    return caching.control is not None and _public(caching.control) and not caching.per_user


def storable_by_others(response: Response) -> bool:
    """Whether a shared cache may store *response* and serve it to another
    client: a freshness lifetime or ``public``, no ``private`` or
    ``no-store``, and no ``Vary`` by user. Per-client state (a tracking
    cookie, hints derived from one) must not go into such a response."""
    caching = _caching(response)
    control = caching.control
    if caching.per_user:
        return False
    if control is None:
        return caching.expires
    if control.private or control.no_store:
        return False
    return bool(control.public or control.s_maxage is not None or control.max_age is not None or caching.expires)
