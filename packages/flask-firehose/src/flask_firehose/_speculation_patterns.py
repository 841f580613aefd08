"""Same-origin URL patterns: a small subset of URLPattern this package can match as
the browser does.

``*`` matches anything, ``:name`` one path segment, everything else itself:
``/articles/*``, ``/users/:name/feed``, ``/search?*q=*`` (a path and a query),
``?*token=*`` (any path, a query). A pattern is written as a URLPattern
dictionary with a ``pathname``, so in a speculation rule the protocol, host and
port come from the page (same origin only) and an absent ``search`` matches
any query (both seen in Chromium 156); every other character URLPattern gives
a meaning is escaped with ``\\``. Characters outside URLs are percent-encoded
as the URL parser does before the browser compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from ._grammar import BAD_PERCENT, URI_ENCODABLE, URI_FORBIDDEN
from ._links import safe_repr
from .errors import InvalidURLError

__all__ = ["UrlPattern", "parse_pattern", "route_pattern"]

# URLPattern: a named group ":name" (an identifier), and every character that
# means something in its syntax (escaped with "\" when meant literally).
_NAME: Final = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_URLPATTERN_SPECIAL: Final = frozenset("+?*(){}\\:")


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
        """This pattern for an app mounted at *root* (its script root)."""
        if not root or self.pathname.startswith("*"):
            return self
        escaped = _escape(root)
        return UrlPattern(
            self.text, escaped + self.pathname, self.search, re.compile(re.escape(root) + self.regex.pattern)
        )


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


def parse_pattern(value: object, *, anywhere: bool = False) -> UrlPattern:
    """Check and build a URL pattern (``/path*`` or ``/path?query*``, or
    ``?query*`` for any path).

    :param anywhere: allow a path pattern that does not start with ``/``
        (``*logout*``: the built-in exclusions).
    :raises InvalidURLError: for a pattern that is not a same-origin path
        pattern, holds a character no URL may hold, or repeats a ``:name``.
    """
    if not isinstance(value, str):
        raise InvalidURLError(f"a URL pattern must be a str, not {safe_repr(value)}", value)
    query: str | None
    if value.startswith("?"):
        value_path, query = "*", value[1:]
    else:
        value_path, sep, rest = value.partition("?")
        query = rest if sep else None
        if not anywhere and (not value_path.startswith("/") or value_path.startswith("//")):
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
        encoded = URI_ENCODABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value_path)
        encoded_query = (
            None
            if query is None
            else URI_ENCODABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), query)
        )
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
            encoded = URI_ENCODABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), piece)
            parts.append(("", encoded))
    return UrlPattern(rule, _render(parts), None, _compile(parts, None))
