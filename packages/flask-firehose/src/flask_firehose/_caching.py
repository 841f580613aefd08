"""The package's one reading of the HTTP caching fields: ``Cache-Control``,
``Expires``, ``Vary`` and the fields addressed to CDNs. A value is parsed
into a small model (:func:`parse_cache_control`: each :class:`Directive`
with its argument, the field lists of a qualified ``no-cache`` or
``private``, the lifetimes), and the package asks it two questions:

**May a shared cache keep the response** and hand it to other clients
(:func:`kept_by`, :func:`storable_by_others`, :func:`marked_public`,
:func:`served_to_others`)? Learning, tracking and the final header ask it of
every response that has a caching field, so the answer for a value is
remembered (for the last 512 distinct values; an app sends a few). Every
field that can tell a shared cache to keep a response counts, all of its
fields when there are several:

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

This answer reads leniently and errs towards "kept for others": directive
names in any case and with any value (a ``max-age`` a cache may misread
still counts as one), every directive found, even one glued to the last; a
directive set to the RFC 8941 false (``no-store=?0``, the targeted fields'
syntax) says nothing.

**May a browser reuse the response later without asking** the server again
(:func:`browser_reuses`)? The lint and ``firehose probe`` ask it of hinted
files (a file a browser must ask for again is downloaded twice: once for the
hint, once for the page). A browser is a private cache reading
``Cache-Control`` alone: no ``no-store``, no unqualified ``no-cache``, and a
``max-age`` or ``s-maxage`` above 0. A qualified ``no-cache="Set-Cookie"``
applies to the fields it names only (RFC 9111 §5.2.2.4): the rest of the
response is reused. This answer reads strictly, as a browser splits the list
at its commas: a directive that does not have its element to itself, or an
argument that is not delta-seconds where one is due, says nothing. It takes
``s-maxage`` for a lifetime and leaves ``Expires`` unread, as the lint and
the probe always did (a browser does the opposite of both): what they advise
is a ``max-age``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final, NamedTuple

from werkzeug.http import parse_set_header

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = [
    "CACHING_FIELDS",
    "CacheControl",
    "Directive",
    "browser_reuses",
    "kept_by",
    "marked_public",
    "parse_cache_control",
    "served_to_others",
    "storable_by_others",
]

_PER_USER: Final = frozenset({"cookie", "authorization", "*"})

#: Fields addressed to CDNs only (lower case), each read instead of
#: ``Cache-Control`` by the CDN it addresses.
TARGETED_FIELDS: Final = ("cdn-cache-control", "cloudflare-cdn-cache-control", "akamai-cache-control")
_SURROGATE: Final = "surrogate-control"

#: Every field (lower case) a judgement here reads: a response with none of
#: them needs no closer look.
CACHING_FIELDS: Final = frozenset({"cache-control", "expires", "vary", _SURROGATE, *TARGETED_FIELDS})

# RFC 9111 §5.2 (and RFC 9213, Surrogate-Control's ";target"), read leniently:
#   Cache-Control   = #cache-directive
#   cache-directive = token [ "=" ( token / quoted-string ) ]
# One directive: a name, an optional argument (a quoted string may hold
# commas; an unclosed one runs to the end), and an optional ";target".
_DIRECTIVE: Final = re.compile(
    r"""(?P<name>[^\s,;=]+)\s*(?:=\s*(?P<argument>"(?:[^"\\]|\\.)*"?|[^,;]*))?\s*(?P<target>;[^,]*)?"""
)
# RFC 9111 §1.2.2: delta-seconds = 1*DIGIT; "a cache ... MUST use 2147483648
# (2^31)" for a greater value.
_DELTA_SECONDS: Final = re.compile(r"[0-9]+")
_MAX_DELTA: Final = 2**31
# RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
_QUOTED_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"')
_QUOTED_PAIR: Final = re.compile(r"\\(.)")


class Directive(NamedTuple):
    """One cache directive as written: ``name[=argument][;target]``."""

    name: str
    """The name, lower-cased (RFC 9111 §5.2: compared case-insensitively)."""
    argument: str | None
    """The argument as written (quotes included, blanks kept); ``None`` when absent."""
    target: str | None
    """The ``;target`` after it (``Surrogate-Control``; junk in other fields)."""
    listed: bool
    """Whether it has a list element to itself, as a recipient splitting the
    list at its commas reads it: in ``max-age="60"public`` a lenient reader
    finds two directives, a strict one none."""

    @property
    def value(self) -> str | None:
        """The argument read as a token or a quoted string (RFC 9111 §5.2:
        recipients accept both forms), unquoted and unescaped."""
        argument = self.argument
        if argument is None:
            return None
        argument = argument.strip(" \t")
        if argument.startswith('"'):
            body = argument[1:-1] if len(argument) > 1 and argument.endswith('"') else argument[1:]
            return _QUOTED_PAIR.sub(r"\1", body)
        return argument

    @property
    def false(self) -> bool:
        """Set to the RFC 8941 false, ``?0`` (RFC 9213's fields say "not" so)."""
        return self.argument is not None and self.argument.strip() == "?0"

    @property
    def qualified(self) -> bool:
        """Given an argument: a ``no-cache`` or ``private`` naming fields
        applies to those fields only (RFC 9111 §5.2.2.4, §5.2.2.7). An empty
        one (``private=""``) counts as none: the whole response."""
        return bool(self.argument and self.argument.strip('" \t'))

    @property
    def fields(self) -> frozenset[str]:
        """The field names a qualified ``no-cache`` or ``private`` lists, lower-cased."""
        names = (self.value or "").split(",")
        return frozenset(name.strip(" \t").lower() for name in names if name.strip(" \t"))

    @property
    def seconds(self) -> int | None:
        """The argument as delta-seconds (quoted or not), at most 2^31;
        ``None`` when it is not one."""
        value = self.value
        if value is None or not _DELTA_SECONDS.fullmatch(value):
            return None
        return min(int(value), _MAX_DELTA)


class CacheControl(NamedTuple):
    """What a ``Cache-Control``-like field value says: its directives, in
    order. The methods read it strictly (listed directives without a
    ``;target``); :attr:`directives` holds every one a lenient reader finds."""

    directives: tuple[Directive, ...]

    def named(self, name: str) -> tuple[Directive, ...]:
        """The listed directives called *name* (lower case) without a ``;target``, in order."""
        return tuple(
            directive
            for directive in self.directives
            if directive.name == name and directive.target is None and directive.listed
        )

    def has(self, name: str) -> bool:
        """Whether directive *name* is given (without a ``;target``), with any argument."""
        return bool(self.named(name))

    def seconds(self, name: str) -> int | None:
        """The lifetime directive *name* gives (``max-age``, ``s-maxage``):
        the first that is delta-seconds (RFC 9111 §4.2.1: "the first
        occurrence should be used"); ``None`` when none is."""
        for directive in self.named(name):
            seconds = directive.seconds
            if seconds is not None:
                return seconds
        return None

    def whole(self, name: str) -> bool:
        """Whether an unqualified *name* (``no-cache``, ``private``) applies
        to the whole response."""
        return any(not directive.qualified for directive in self.named(name))

    def fields(self, name: str) -> frozenset[str]:
        """The fields the qualified forms of *name* (``no-cache``,
        ``private``) apply to, lower-cased; the rest of the response is not
        concerned by them."""
        return frozenset().union(*(d.fields for d in self.named(name) if d.qualified))


def parse_cache_control(value: str) -> CacheControl:
    """Read one field value (or several joined by commas) into its
    directives. Never raises: what is not a directive is skipped."""
    matches = list(_DIRECTIVE.finditer(value))
    # A directive is listed when it has its list element to itself: only
    # blanks between it and the commas (or the value's start and end) on
    # either side. None is when a quoted string is left open: where the
    # list's elements end cannot be told.
    broken = '"' in _QUOTED_STRING.sub("", value)
    edges = [0, *(end for match in matches for end in (match.start(), match.end())), len(value)]
    gaps = [value[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]
    return CacheControl(
        tuple(
            Directive(
                match.group("name").lower(),
                match.group("argument"),
                match.group("target"),
                not broken and _element_starts(gaps[i], i == 0) and _element_ends(gaps[i + 1], i == len(matches) - 1),
            )
            for i, match in enumerate(matches)
        )
    )


def _element_starts(gap: str, first: bool) -> bool:
    """Whether a list element starts where *gap* (the text before a directive) ends."""
    _, comma, blank = gap.rpartition(",")
    return not blank.strip(" \t") and bool(comma or first)


def _element_ends(gap: str, last: bool) -> bool:
    """Whether a list element ends where *gap* (the text after a directive) starts."""
    blank, comma, _ = gap.partition(",")
    return not blank.strip(" \t") and bool(comma or last)


def browser_reuses(cache_control: str | None) -> bool:
    """Whether a browser may reuse a response carrying *cache_control*
    (every ``Cache-Control`` field, joined by commas; ``None`` when absent)
    later without asking the server again: a ``max-age`` or ``s-maxage``
    above 0, no ``no-store``, no unqualified ``no-cache``.

    ``no-cache="Set-Cookie"`` concerns the fields it names only (RFC 9111
    §5.2.2.4): the response itself is reused. Where a lifetime directive
    comes twice, the first one that is delta-seconds counts (§4.2.1); one
    that is not (``max-age=soon``) gives no lifetime.
    """
    if not cache_control:
        return False
    policy = parse_cache_control(cache_control)
    if policy.has("no-store") or policy.whole("no-cache"):
        return False
    return (policy.seconds("max-age") or 0) > 0 or (policy.seconds("s-maxage") or 0) > 0


# -- may a shared cache keep it ----------------------------------------------------------

_LIFETIME: Final = frozenset({"max-age", "s-maxage", "public"})


class _Said(NamedTuple):
    """What the values of one field say to a shared cache."""

    lifetime: bool
    """``max-age``, ``s-maxage`` or ``public``, targeted or not, any value."""
    forbidden: bool
    """An untargeted ``no-store`` or unqualified ``private``."""
    public: bool
    """``public`` or ``s-maxage``: said to be the same for everyone."""

    @property
    def storable(self) -> bool:
        return self.lifetime and not self.forbidden


@functools.lru_cache(maxsize=512)
def _said(value: str) -> _Said:
    """What one field value says to a shared cache (values repeat: each is read once)."""
    lifetime = forbidden = public = False
    for directive in parse_cache_control(value).directives:
        if directive.false:
            continue
        name = directive.name
        if name in _LIFETIME:
            lifetime = True
            public = public or name != "max-age"
        elif directive.target is None and (name == "no-store" or (name == "private" and not directive.qualified)):
            forbidden = True
    return _Said(lifetime, forbidden, public)


def _said_by(values: list[str]) -> _Said:
    """What every field of one name says: any of them counts."""
    if len(values) == 1:
        return _said(values[0])
    said = [_said(value) for value in values]
    return _Said(any(s.lifetime for s in said), any(s.forbidden for s in said), any(s.public for s in said))


@functools.lru_cache(maxsize=256)
def _varies_by_user(vary: str) -> bool:
    return bool({name.lower() for name in parse_set_header(vary)} & _PER_USER)


class _Caching(NamedTuple):
    control: _Said | None
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


#: The fields a CDN reads instead of ``Cache-Control``, in the order asked.
_CDN_FIELDS: Final = (*TARGETED_FIELDS, _SURROGATE)


def _caching(response: Response) -> _Caching:
    fields: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered in CACHING_FIELDS:
            fields.setdefault(lowered, []).append(value)
    controls = fields.get("cache-control")
    varies = fields.get("vary")
    targeted = None
    for name in _CDN_FIELDS:
        values = fields.get(name)
        if values and _said_by(values).storable:
            targeted = name
            break
    return _Caching(
        _said_by(controls) if controls else None,
        "expires" in fields,
        varies is not None and _varies_by_user(", ".join(varies)),
        targeted,
    )


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
