"""Whether a shared cache (a CDN, a caching proxy) may hand a response to
other clients: the question both learning and tracking ask.

RFC 9111 §5.2.2: ``public`` and ``s-maxage`` let a shared cache store a
response even when it would not otherwise; ``private`` and ``no-store`` forbid
it. A ``Vary`` on ``Cookie`` or ``Authorization`` (or ``*``) keeps one
client's copy from serving another.
"""

from __future__ import annotations

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header, parse_set_header
from werkzeug.wrappers import Response

__all__ = ["marked_public", "served_to_others"]


def marked_public(response: Response) -> bool:
    """Whether *response* says a shared cache may store it: ``public`` or
    ``s-maxage``, without ``private`` or ``no-store``."""
    value = response.headers.get("Cache-Control")
    if not value:
        return False
    control = parse_cache_control_header(value, cls=ResponseCacheControl)
    return bool((control.public or control.s_maxage is not None) and not control.private and not control.no_store)


def served_to_others(response: Response) -> bool:
    """Whether one stored copy of *response* may be served to other clients:
    marked public and not varying by user."""
    if not marked_public(response):
        return False
    vary = {name.lower() for name in parse_set_header(response.headers.get("Vary"))}
    return not vary & {"cookie", "authorization", "*"}
