"""Whether a shared cache (a CDN, a caching proxy) may hand a response to
other clients: the question both learning and tracking ask.

Every field that can tell a shared cache to keep a response is read, in one
pass over the headers:

* ``Cache-Control`` and ``Expires`` (RFC 9111 §3, §5.2.2): a response that
  says nothing against it and gives a freshness lifetime (``max-age``,
  ``s-maxage``, ``Expires``) or ``public`` may be stored; ``no-store`` and an
  unqualified ``private`` forbid it (``private="Set-Cookie"`` only keeps
  those fields out of the stored copy: the rest is stored). A ``Vary`` on
  ``Cookie`` or ``Authorization`` (or ``*``) keeps one client's copy from
  serving another.
* the fields addressed to CDNs alone, which such a CDN reads *instead of*
  ``Cache-Control``: ``CDN-Cache-Control`` (RFC 9213) and the vendors'
  targeted ones (``Cloudflare-CDN-Cache-Control``, ``Akamai-Cache-Control``),
  and ``Surrogate-Control`` (Fastly, Varnish; directives may name a target
  after ``;``). One that gives a lifetime without ``no-store``/``private``
  lets that CDN keep the response, whatever ``Vary`` says: CDNs do not all
  key their copies by ``Cookie``.

A header may come in several fields: all of them count. Directive names are
read in any case and with any value: a ``max-age`` a cache may misread still
counts as one, so the answer errs towards "kept for others".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

from werkzeug.http import parse_set_header
from werkzeug.wrappers import Response

__all__ = ["CACHING_FIELDS", "kept_by", "marked_public", "served_to_others", "storable_by_others"]

_PER_USER: Final = frozenset({"cookie", "authorization", "*"})

#: Fields addressed to CDNs only (lower case), each read instead of
#: ``Cache-Control`` by the CDN it addresses.
TARGETED_FIELDS: Final = ("cdn-cache-control", "cloudflare-cdn-cache-control", "akamai-cache-control")
_SURROGATE: Final = "surrogate-control"

#: Every field (lower case) a judgement here reads: a response with none of
#: them needs no closer look.
CACHING_FIELDS: Final = frozenset({"cache-control", "expires", "vary", _SURROGATE, *TARGETED_FIELDS})

# One directive: a name, an optional value (a quoted string may hold commas),
# and an optional ";target" (Surrogate-Control's targeting; junk elsewhere).
_DIRECTIVE: Final = re.compile(
    r"""(?P<name>[^\s,;=]+)\s*(?:=\s*(?P<value>"(?:[^"\\]|\\.)*"?|[^,;]*))?\s*(?P<target>;[^,]*)?"""
)
_LIFETIME: Final = frozenset({"max-age", "s-maxage", "public"})


class _Directives(NamedTuple):
    lifetime: bool
    """``max-age``, ``s-maxage`` or ``public``, targeted or not."""
    forbidden: bool
    """An untargeted ``no-store`` or unqualified ``private``."""
    public: bool
    """``public`` or ``s-maxage``: said to be the same for everyone."""

    @property
    def storable(self) -> bool:
        return self.lifetime and not self.forbidden


def _directives(values: Iterable[str]) -> _Directives:
    lifetime = forbidden = public = False
    for value in values:
        for match in _DIRECTIVE.finditer(value):
            name = match.group("name").lower()
            argument = match.group("value")
            if argument is not None and argument.strip() == "?0":  # RFC 8941 false (RFC 9213 fields)
                continue
            if name in _LIFETIME:
                lifetime = True
                public = public or name != "max-age"
            elif match.group("target") is None and (
                name == "no-store" or (name == "private" and not (argument or "").strip('" \t'))
            ):
                forbidden = True
    return _Directives(lifetime, forbidden, public)


class _Caching(NamedTuple):
    control: _Directives | None
    expires: bool
    per_user: bool
    targeted: str | None
    """The first CDN-addressed field that lets its CDN keep the response."""

    @property
    def general(self) -> bool:
        """Storable by any shared cache, by ``Cache-Control``/``Expires``."""
        if self.per_user:
            return False
        if self.control is None:
            return self.expires
        return not self.control.forbidden and (self.control.lifetime or self.expires)

    @property
    def public(self) -> bool:
        """Said by ``Cache-Control`` to be the same for everyone."""
        return self.control is not None and self.control.public and not self.control.forbidden


def _caching(response: Response) -> _Caching:
    fields: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered in CACHING_FIELDS:
            fields.setdefault(lowered, []).append(value)
    controls = fields.get("cache-control")
    control = _directives(controls) if controls else None
    varies = fields.get("vary")
    per_user = bool(varies) and bool({v.lower() for v in parse_set_header(", ".join(varies or ()))} & _PER_USER)
    targeted = None
    for name in (*TARGETED_FIELDS, _SURROGATE):
        values = fields.get(name)
        if values and _directives(values).storable:
            targeted = name
            break
    return _Caching(control, "expires" in fields, per_user, targeted)


_DISPLAY: Final = {
    "cache-control": "Cache-Control",
    "cdn-cache-control": "CDN-Cache-Control",
    "cloudflare-cdn-cache-control": "Cloudflare-CDN-Cache-Control",
    "akamai-cache-control": "Akamai-Cache-Control",
    _SURROGATE: "Surrogate-Control",
}


def kept_by(response: Response) -> str | None:
    """The field that lets a shared cache keep *response* and serve it to
    other clients (``"CDN-Cache-Control"``, ``"Cache-Control"``, ...), or
    ``None``. Per-client state (a tracking cookie, hints derived from one,
    one user's links) must not go into such a response."""
    caching = _caching(response)
    if caching.targeted is not None:
        return _DISPLAY[caching.targeted]
    if caching.general:
        return "Cache-Control" if caching.control is not None and caching.control.lifetime else "Expires"
    return None


def storable_by_others(response: Response) -> bool:
    """Whether a shared cache may store *response* and serve it to another
    client: by ``Cache-Control``/``Expires`` (a freshness lifetime or
    ``public``, no ``private`` or ``no-store``, no ``Vary`` by user), or by a
    field addressed to CDNs (see the module's description)."""
    return kept_by(response) is not None


def marked_public(response: Response) -> bool:
    """Whether *response* says it is the same for everyone: ``public`` or
    ``s-maxage`` without ``private`` or ``no-store``, or a CDN-addressed
    field that lets its CDN keep it."""
    caching = _caching(response)
    return caching.public or caching.targeted is not None


def served_to_others(response: Response) -> bool:
    """Whether one stored copy of *response*, marked public, may be served
    to other clients: marked public by ``Cache-Control`` and not varying by
    user, or kept by a CDN told so by a field addressed to it."""
    caching = _caching(response)
    return (caching.public and not caching.per_user) or caching.targeted is not None
