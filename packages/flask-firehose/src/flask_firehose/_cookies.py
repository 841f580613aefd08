"""Reading one cookie's values out of a ``Cookie`` header, the others unparsed.

Pure string work on the header as the client sent it (RFC 6265 §4.2.1:
``name=value`` pairs joined by ``"; "``): no Flask, no Werkzeug, and no
import from the rest of the package, so any module that needs a cookie's
value, the digest tracker's or whatever describes the request, can import
this one without a cycle.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_COOKIE_VALUES", "cookie_values"]

#: The most values of the digest cookie one request is read for (a browser
#: sends one per path and domain it was set for).
MAX_COOKIE_VALUES: Final = 8


def _value_at(header: str, start: int) -> str:
    end = header.find(";", start)
    value = (header[start:] if end < 0 else header[start:end]).strip(" \t")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def cookie_values(header: str, name: str, limit: int) -> list[str]:
    """The last *limit* values of the cookie *name* in a ``Cookie`` header,
    in the header's order. Each is read without parsing the others (RFC 6265
    §4.2.1: ``name=value`` pairs joined by ``"; "``); surrounding double quotes
    are dropped, as Werkzeug does. Anything else unusual is left for the
    digest's own check to refuse.

    The last ones, since a browser lists cookies of longer paths first
    (RFC 6265 §5.4): a cookie of the same name planted for a deeper path
    comes before this app's, and only a few can come after it (one per
    parent domain at a path no longer than this app's). The header is
    searched from its end, so a header holding many copies costs no more
    than *limit* of them.
    """
    prefix = name + "="
    found: list[str] = []
    at = header.rfind(prefix)
    while at >= 0 and len(found) < limit:
        if at == 0 or header[at - 1] in "; \t":
            found.append(_value_at(header, at + len(prefix)))
        at = header.rfind(prefix, 0, at + len(prefix) - 1) if at > 0 else -1
    found.reverse()
    return found
