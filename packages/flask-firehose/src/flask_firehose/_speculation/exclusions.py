"""What is never speculated: the built-in words, routes without GET, views
marked with ``no_speculation``, and the configured and declared exclusions.

The :class:`ExclusionPolicy` of an app is worked out once from its URL map.
Document rules get its patterns as ``not`` clauses, so the browser applies
them to every link of the page; list URLs are filtered against it; and a
speculative request for an excluded route is refused before its view runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final
from urllib.parse import unquote

from .patterns import (
    QUERY_SPELLING_GUARDS,
    SPELLING_GUARDS,
    UrlPattern,
    canonical_path,
    contains,
    escape_variants,
    normalize_escapes,
    parse_pattern,
    route_pattern,
)
from .rules import NO_SPECULATION_SELECTOR, dumps, is_canonical_path

__all__ = ["BUILTIN_EXCLUSIONS", "ExclusionPolicy", "is_logout_like"]

# Endpoint names and paths that end a session: never speculated.
_LOGOUT: Final = re.compile(r"log[-_]?out|sign[-_]?out", re.IGNORECASE)
#: Path patterns excluded in every document rule, whatever the app's routes.
BUILTIN_EXCLUSIONS: Final = ("logout", "log-out", "log_out", "signout", "sign-out", "sign_out")


def is_logout_like(text: str) -> bool:
    """Whether an endpoint name or path speaks of logging out."""
    return _LOGOUT.search(text) is not None


class ExclusionPolicy:
    """What is never speculated in one app, worked out once from its URL map.

    Three kinds of pattern: the built-in words (any path holding ``logout``...),
    the configured and declared ones (taken as written: paths on the origin),
    and those of refused routes (relative to the app, so put under its script
    root when written or matched).

    :param routes: ``(rule string, endpoint, methods, marked)`` of each route.
    :param exclude: the configured exclusions (``FIREHOSE_SPECULATION_EXCLUDE``).
    :param match: maps an app-relative path to its GET endpoint: returns the
        endpoint, ``None`` when no route has the path, or raises when the path
        has no GET route.
    """

    def __init__(
        self,
        routes: Iterable[tuple[str, str, frozenset[str], bool]],
        exclude: Sequence[str | UrlPattern],
        match: Callable[[str], str | None],
    ) -> None:
        self._match = match
        self._names = [item for item in exclude if isinstance(item, str)]
        self.patterns: list[UrlPattern] = [contains(word) for word in BUILTIN_EXCLUSIONS]
        self.patterns.extend(_with_twins(item for item in exclude if isinstance(item, UrlPattern)))
        self._routes = list(routes)
        with_get = {rule for rule, _, methods, _ in self._routes if "GET" in methods}
        self.endpoints: set[str] = set()
        self.route_patterns: list[UrlPattern] = []
        for rule, endpoint, methods, marked in self._routes:
            refused = (
                marked
                or is_logout_like(endpoint)
                or is_logout_like(rule)
                or _names_match(endpoint, self._names)
                or ("GET" not in methods and rule not in with_get)
            )
            if refused:
                self.endpoints.add(endpoint)
                for pattern in _route_patterns(rule):
                    if pattern not in self.route_patterns:
                        self.route_patterns.append(pattern)

    def _named(self, names: Sequence[str]) -> list[UrlPattern]:
        """The patterns of the routes whose endpoints *names* name."""
        return [
            pattern
            for rule, endpoint, _, _ in self._routes
            if _names_match(endpoint, names)
            for pattern in _route_patterns(rule)
        ]

    def refuses(self, target: str, root: str = "", extra: Sequence[str | UrlPattern] = ()) -> bool:
        """Whether the same-origin *target* (a path on the origin) must not be
        speculated in an app mounted at *root* (its script root, as a URL
        path), given a rule's own *extra* exclusions.

        A path that is not in its plain form (a dot segment, or a
        percent-encoded character that needs no encoding: ``/log%6Fut``) is
        refused. Other escapes are judged as the server routes them:
        ``/admin%2Fx`` is ``/admin/x``."""
        path, _, query = target.split("#", 1)[0].partition("?")
        if not is_canonical_path(path):
            return True
        decoded = unquote(path, errors="replace")
        spellings = {target.split("#", 1)[0], _joined(canonical_path(decoded), normalize_escapes(query))}
        own = [p for p in extra if isinstance(p, UrlPattern)]
        if any(p.matches(spelling) for spelling in spellings for p in [*self.patterns, *_with_twins(own)]):
            return True
        canonical = canonical_path(decoded)
        if root:
            if not (canonical == root or canonical.startswith(root + "/")):
                return False  # not this app's: only the patterns apply
            canonical = canonical[len(root) :] or "/"
            decoded = decoded[len(unquote(root)) :] or "/"
        relative = _joined(canonical, query)
        names = [item for item in extra if isinstance(item, str)]
        if any(p.matches(relative) for p in [*self.route_patterns, *self._named(names)]):
            return True
        try:
            endpoint = self._match(decoded)
        except Exception:  # a route with no GET at this path (or an odd one): refused
            return True
        return endpoint is not None and (endpoint in self.endpoints or _names_match(endpoint, names))

    def endpoint_of(self, target: str, root: str = "") -> str | None:
        """The endpoint that answers GET for the same-origin *target* (a path
        on the origin, in an app mounted at *root*), or ``None`` (not this
        app's, no route, or no GET)."""
        path = target.split("#", 1)[0].partition("?")[0]
        decoded = unquote(path, errors="replace")
        if root:
            if not (decoded == unquote(root) or decoded.startswith(unquote(root) + "/")):
                return None
            decoded = decoded[len(unquote(root)) :] or "/"
        try:
            return self._match(decoded)
        except Exception:  # no GET route at this path
            return None

    def refuses_request(self, path: str, query: str) -> bool:
        """Whether a request for *path* (decoded, as the server routes it,
        script root included) and *query* (as sent) matches a pattern of what
        is never speculated, whatever spelling the browser matched."""
        spellings = {_joined(canonical_path(path), query), _joined(canonical_path(path), normalize_escapes(query))}
        return any(p.matches(spelling) for spelling in spellings for p in self.patterns)

    def not_clauses(self, extra: Sequence[str | UrlPattern], root: str) -> list[Any]:
        """The ``not`` clauses of a document rule of an app mounted at *root*
        (its script root, as a URL path): every exclusion pattern, a rule's
        *extra* ones, the spellings no pattern can judge, and links the page
        marks with ``data-no-speculation``."""
        names = [item for item in extra if isinstance(item, str)]
        found = [*self.patterns, *_with_twins(p for p in extra if isinstance(p, UrlPattern))]
        found.extend(p.under(root) for p in [*self.route_patterns, *self._named(names)])
        found.extend(SPELLING_GUARDS)
        if any(p.search is not None for p in found):
            found.extend(QUERY_SPELLING_GUARDS)
        found.extend(escape_variants(found))
        patterns = [p.as_json() for p in found]
        unique = list({dumps(p): p for p in patterns}.values())
        return [{"not": {"href_matches": unique}}, {"not": {"selector_matches": NO_SPECULATION_SELECTOR}}]


def _joined(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _route_patterns(rule: str) -> list[UrlPattern]:
    """A route's pattern, and its twin with the other trailing slash: Werkzeug
    redirects ``/admin`` to a route ``/admin/`` (and the browser follows)."""
    found = [route_pattern(rule)]
    if rule != "/" and not rule.endswith(">"):
        found.append(route_pattern(rule[:-1] if rule.endswith("/") else rule + "/"))
    return found


def _with_twins(patterns: Iterable[UrlPattern]) -> list[UrlPattern]:
    """Path patterns, and for each ``/folder/*`` the bare ``/folder``, which
    Werkzeug redirects into it when a route ``/folder/`` exists."""
    found: list[UrlPattern] = []
    for pattern in patterns:
        found.append(pattern)
        if (
            pattern.search is None
            and pattern.text.endswith("/*")
            and pattern.text.startswith("/")
            and len(pattern.text) > 2
        ):
            found.append(parse_pattern(pattern.text[:-2]))
    return found


def _names_match(endpoint: str, names: Iterable[str]) -> bool:
    """Whether *endpoint* is one of *names*, or in a blueprint named ``bp.*``."""
    for name in names:
        if name.endswith(".*"):
            if endpoint.startswith(name[:-1]):
                return True
        elif endpoint == name:
            return True
    return False
