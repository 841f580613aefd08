"""Same-origin URL patterns: a small subset of URLPattern this package can match as
the browser does.

``*`` matches anything, ``:name`` one path segment, everything else itself:
``/articles/*``, ``/users/:name/feed``, ``/search?*q=*`` (a path and a query),
``?*token=*`` (any path, a query). A pattern is written as a URLPattern
dictionary with a ``pathname``, so in a speculation rule the protocol, host and
port come from the page (same origin only) and an absent ``search`` matches
any query (both seen in Chromium 156); every other character URLPattern gives
a meaning is escaped with ``\\``. Characters outside URLs are percent-encoded
as the URL parser does before the browser compares, and escapes are written
as the browser writes them: ``%6C`` (an unreserved character) as ``l``, ``%c3``
as ``%C3``.

The browser matches a link as its URL parser leaves it: it resolves ``.`` and
``..`` segments (``%2e`` included) and turns ``\\`` into ``/``, but keeps every
other escape as written (``/%6Cogout`` stays so in Chromium 156, as the URL
Standard says), and keeps ``//`` and ``;``. The server decodes escapes before it
routes. So a pattern sees one spelling while the server routes many:
:data:`SPELLING_GUARDS` and :func:`escape_variants` are the patterns that make
an exclusion hold for every spelling of a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from .._grammar import BAD_PERCENT, URI_ENCODABLE, URI_FORBIDDEN
from .._links import safe_repr
from ..errors import InvalidURLError

__all__ = [
    "QUERY_SPELLING_GUARDS",
    "SPELLING_GUARDS",
    "UrlPattern",
    "canonical_path",
    "contains",
    "escape_variants",
    "normalize_escapes",
    "parse_pattern",
    "route_pattern",
]

# URLPattern: a named group ":name" (an identifier), and every character that
# means something in its syntax (escaped with "\" when meant literally).
_NAME: Final = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_URLPATTERN_SPECIAL: Final = frozenset("+?*(){}\\:")


# RFC 3986 §2.1 pct-encoded; §2.3 unreserved characters, whose escapes mean
# the character itself (§6.2.2.2).
_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# A path as the server routes it, written back as a URL: what RFC 3986 allows
# in a path stays (pchar / "/"), everything else is percent-encoded as UTF-8.
_PATH_SAFE: Final = "/!$&'()*+,;=:@-._~"


def _escape(literal: str) -> str:
    return "".join("\\" + c if c in _URLPATTERN_SPECIAL else c for c in literal)


@dataclass(frozen=True)
class UrlPattern:
    """A same-origin URL pattern: a path pattern and, optionally, a query pattern.

    :param text: as given (for messages).
    :param pathname: the URLPattern ``pathname``, escaped.
    :param search: the URLPattern ``search`` (without ``?``), escaped; ``None``: any query.
    :param regex: matches ``path`` or ``path?query`` (percent-encoded) as the browser would.
    """

    text: str
    pathname: str
    search: str | None
    regex: re.Pattern[str] = field(compare=False)

    def as_json(self) -> dict[str, str]:
        """The URLPatternInit: a ``pathname`` (so the page's origin is inherited),
        and a ``search`` when the pattern has one."""
        found = {"pathname": self.pathname}
        if self.search is not None:
            found["search"] = self.search
        return found

    def matches(self, target: str) -> bool:
        """Whether the same-origin *target* (``/path?query``, encoded) matches."""
        path, _, query = target.split("#", 1)[0].partition("?")
        return self.regex.fullmatch(f"{path}\n{query}") is not None

    def under(self, root: str) -> UrlPattern:
        """This pattern (of a route) for an app mounted at *root* (its script
        root, as a URL path)."""
        if not root:
            return self
        escaped = _escape(root)
        return UrlPattern(
            self.text, escaped + self.pathname, self.search, re.compile(re.escape(root) + self.regex.pattern)
        )


def normalize_escapes(text: str) -> str:
    """*text* with its escapes as a browser writes them: an escaped unreserved
    character decoded (``%6C`` is ``l``), other escapes in upper case."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group().upper()

    return _ESCAPE.sub(fix, text)


def canonical_path(decoded: str) -> str:
    """A decoded path (as the server routes it: ``PATH_INFO``) written as the
    one URL path a browser sends for it."""
    return quote(decoded, safe=_PATH_SAFE, errors="surrogateescape")


def _compile(path_parts: list[tuple[str, str]], query_parts: list[tuple[str, str]] | None) -> re.Pattern[str]:
    regex = []
    for kind, text in path_parts:
        regex.append({"*": ".*", ":": "[^/\n]+"}.get(kind, re.escape(text)))
    regex.append("\n")
    if query_parts is None:
        regex.append(".*")
    else:
        regex.extend(".*" if kind == "*" else re.escape(text) for kind, text in query_parts)
    return re.compile("".join(regex), re.DOTALL)


def _split(text: str, names: bool) -> list[tuple[str, str]]:
    """``*`` wildcards, ``:name`` groups (when *names*) and literal runs."""
    parts: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "*":
            parts.append(("*", "*"))
            position += 1
            continue
        match = _NAME.match(text, position) if names and char == ":" else None
        if match:
            parts.append((":", match.group()))
            position = match.end()
            continue
        if parts and parts[-1][0] == "":
            parts[-1] = ("", parts[-1][1] + char)
        else:
            parts.append(("", char))
        position += 1
    return parts


def _render(parts: list[tuple[str, str]]) -> str:
    return "".join(text if kind else _escape(text) for kind, text in parts)


def _encode_match(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode())


def parse_pattern(value: object) -> UrlPattern:
    """Check and build a URL pattern (``/path*`` or ``/path?query*``, or
    ``?query*`` for any path).

    :raises InvalidURLError: for a pattern that is not a same-origin path
        pattern, holds a character no URL may hold, or repeats a ``:name``.
    """
    if not isinstance(value, str):
        raise InvalidURLError(f"a URL pattern must be a str, not {safe_repr(value)}", value)
    query: str | None
    if value.startswith("?"):
        # Any path: "/*", absolute. A pathname that does not start with "/"
        # is resolved against the rule set's base URL (URLPattern), so "*"
        # would mean "under the rules resource's folder".
        value_path, query = "/*", value[1:]
    else:
        value_path, sep, rest = value.partition("?")
        query = rest if sep else None
        if not value_path.startswith("/") or value_path.startswith("//"):
            raise InvalidURLError(
                f"URL pattern {value!r} must be a path on this site, starting with '/' (or '?' for a query): "
                "speculation stays on the page's origin",
                value,
            )
    bad = URI_FORBIDDEN.search(value) or re.search(r"#", value)
    if bad:
        raise InvalidURLError(f"URL pattern {value!r} holds {bad.group()!r}, which no URL pattern here may hold", value)
    if BAD_PERCENT.search(value):
        raise InvalidURLError(f"URL pattern {value!r} holds a '%' that starts no %XX escape", value)
    try:
        encoded = normalize_escapes(URI_ENCODABLE.sub(_encode_match, value_path))
        encoded_query = None if query is None else normalize_escapes(URI_ENCODABLE.sub(_encode_match, query))
    except UnicodeEncodeError:
        raise InvalidURLError(f"URL pattern {value!r} holds a character that is not valid Unicode", value) from None
    path_parts = _split(encoded, names=True)
    names = [text for kind, text in path_parts if kind == ":"]
    if len(names) != len(set(names)):
        raise InvalidURLError(f"URL pattern {value!r} names a :group twice", value)
    query_parts = None if encoded_query is None else _split(encoded_query, names=False)
    return UrlPattern(
        value,
        _render(path_parts),
        None if query_parts is None else _render(query_parts),
        _compile(path_parts, query_parts),
    )


def route_pattern(rule: str) -> UrlPattern:
    """The pattern of a Werkzeug route (``/articles/<slug>``): each variable
    becomes ``*``, which may span segments (an exclusion errs on the wide side)."""
    parts: list[tuple[str, str]] = []
    for index, piece in enumerate(re.split(r"<[^>]*>", rule)):
        if index:
            parts.append(("*", "*"))
        if piece:
            encoded = URI_ENCODABLE.sub(_encode_match, piece)
            parts.append(("", encoded))
    return UrlPattern(rule, _render(parts), None, _compile(parts, None))


def _anywhere(fragment: str, *, in_query: bool = False, start: bool = False) -> UrlPattern:
    """A pattern matching any same-origin URL whose path (or query) holds
    *fragment* (at its *start*), written as is (it may be an incomplete escape).

    Every pathname starts with ``/``: URLPattern resolves one that does not
    against the rule set's base URL (``*logout*`` in the rules resource
    ``/_firehose/speculation/k.json`` means ``/_firehose/speculation/*logout*``,
    seen in Chromium 156); a path always starts with ``/``, so ``/*x*`` is
    "holds x"."""
    if in_query:
        parts = [("*", "*"), ("", fragment), ("*", "*")]
        return UrlPattern(f"?*{fragment}*", "/*", _render(parts), _compile([("", "/"), ("*", "*")], parts))
    parts = [("", fragment), ("*", "*")] if start else [("", "/"), ("*", "*"), ("", fragment), ("*", "*")]
    return UrlPattern(_render(parts), _render(parts), None, _compile(parts, None))


def contains(word: str) -> UrlPattern:
    """The pattern of any same-origin path that holds *word* (as written)."""
    return _anywhere(URI_ENCODABLE.sub(_encode_match, word))


#: Links whose path a pattern cannot judge, left out of every document rule:
#: an escaped printable ASCII character (``%2F``, ``%6C``, ``%20``...: the
#: server decodes it before routing, so ``/admin%2Fx`` reaches ``/admin/x``
#: and ``/%6Cogout`` reaches ``/logout``), an empty segment (Werkzeug redirects
#: ``/admin//x`` to ``/admin/x``, which the browser follows without asking the
#: rules again) and a ``;`` parameter (some fronts drop it).
SPELLING_GUARDS: Final = (
    *(_anywhere(f"%{digit}") for digit in "234567"),
    _anywhere("//", start=True),
    _anywhere("//"),
    _anywhere(";"),
)
#: The same for queries, for rules that exclude query patterns.
QUERY_SPELLING_GUARDS: Final = tuple(_anywhere(f"%{digit}", in_query=True) for digit in "234567")
# An escape of a byte outside ASCII, in a pattern (always upper case).
_HIGH_ESCAPE: Final = re.compile(r"%[89A-F][0-9A-F]")


def _case_variants(escape: str) -> list[str]:
    spellings = [""]
    for char in escape:
        spellings = [s + c for s in spellings for c in dict.fromkeys((char, char.lower()))]
    return [spelling for spelling in spellings if spelling != escape]


def escape_variants(patterns: Iterable[UrlPattern]) -> list[UrlPattern]:
    """Patterns matching any URL that spells an escape of *patterns* in
    another case (``%c3`` for ``%C3``): the server decodes both alike, the
    browser's pattern matches only the one written. Escapes of ASCII are
    already left out by :data:`SPELLING_GUARDS`."""
    found: dict[tuple[str, bool], None] = {}
    for pattern in patterns:
        for escape in _HIGH_ESCAPE.findall(pattern.pathname):
            found.update(((variant, False), None) for variant in _case_variants(escape))
        for escape in _HIGH_ESCAPE.findall(pattern.search or ""):
            found.update(((variant, True), None) for variant in _case_variants(escape))
    return [_anywhere(variant, in_query=in_query) for variant, in_query in found]
