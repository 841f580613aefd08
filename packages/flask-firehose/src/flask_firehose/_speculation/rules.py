"""Speculation Rules: the rules model, its validation, the exclusion policy and the JSON.

A :class:`RuleSpec` is one ``speculate()`` or ``@speculation`` declaration,
checked when it is made. In a request it becomes rules of the Speculation Rules
JSON (WICG Speculation Rules, as Chromium reads it): a *list* rule for its URLs
and endpoints, a *document* rule for its URL patterns and selector. What must
never be speculated is the :class:`ExclusionPolicy`'s: the built-in words
(logout, sign-out...), routes that do not allow GET, views marked with
``no_speculation``, and the configured and declared exclusions. Document rules
get them as ``not`` clauses, so the browser applies them to every link of the
page; list URLs are filtered here, against the app's URL map.

URL patterns (``/articles/*``) live in :mod:`flask_firehose._speculation_patterns`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from .. import _grammar as grammar
from .._links import encode_target, safe_repr
from ..errors import ConfigurationError, InvalidURLError
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

__all__ = [
    "ACTIONS",
    "BUILTIN_EXCLUSIONS",
    "EAGERNESS",
    "ExclusionPolicy",
    "RuleSpec",
    "UrlPattern",
    "dumps",
    "is_logout_like",
    "is_prefetch_purpose",
    "make_spec",
    "parse_exclusion",
    "parse_pattern",
    "route_pattern",
    "same_origin_url",
    "script_json",
]

#: What a rule may ask the browser to do.
ACTIONS: Final = ("prefetch", "prerender")
#: When the browser acts: ``conservative`` on pointer or touch down, ``moderate``
#: on a 200 ms hover (or pointer down), ``eager`` and ``immediate`` at once.
EAGERNESS: Final = ("conservative", "moderate", "eager", "immediate")

# Endpoint names and paths that end a session: never speculated.
_LOGOUT: Final = re.compile(r"log[-_]?out|sign[-_]?out", re.IGNORECASE)
#: Path patterns excluded in every document rule, whatever the app's routes.
BUILTIN_EXCLUSIONS: Final = ("logout", "log-out", "log_out", "signout", "sign-out", "sign_out")
#: A link the page marks itself is never speculated.
NO_SPECULATION_SELECTOR: Final = "[data-no-speculation]"

# An endpoint name as Flask builds them: "view", "bp.view", "parent.child.view".
_ENDPOINT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*")
_MAX_SELECTOR: Final = 1024
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")

# RFC 8941 §3.1: sf-list = list-member *( OWS "," OWS list-member ), an item
# being a token or string with ";"-parameters. Sec-Purpose (Fetch) is such a
# list; its item "prefetch" (with "prerender" as a parameter when Chromium
# prerenders) marks a speculative request.
#   sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" )
_SF_PREFETCH: Final = re.compile(r"[ \t]*prefetch[ \t]*(?:;.*)?")


def is_prefetch_purpose(value: str | None) -> bool:
    """Whether a ``Sec-Purpose`` value marks a prefetch (or a prerender, which
    is ``prefetch;prerender``). Tokens are case-sensitive: ``Prefetch`` or
    ``prefetcher`` is not one."""
    if not value or len(value) > 256:
        return False
    return any(_SF_PREFETCH.fullmatch(item) for item in value.split(","))


def is_canonical_path(path: str) -> bool:
    """Whether *path* is already as the server will route it: no ``.`` or
    ``..`` segment (RFC 3986 §5.2.4 removes them) and no percent-encoded
    unreserved character (§6.2.2.2: ``%6F`` is ``o``)."""
    if any(segment in (".", "..") for segment in path.split("/")):
        return False
    return not any(
        grammar.UNRESERVED.fullmatch(chr(int(escape[1:], 16))) for escape in grammar.PCT_ENCODED.findall(path)
    )


def is_logout_like(text: str) -> bool:
    """Whether an endpoint name or path speaks of logging out."""
    return _LOGOUT.search(text) is not None


def parse_exclusion(value: object, key: str) -> str | UrlPattern:
    """An exclusion: a URL pattern (``/cart/*``, ``?*token=*``) or an endpoint name
    (``account.logout``, or a blueprint's name followed by ``.*``: every view of it).

    :raises ConfigurationError: naming *key* and the value.
    """
    if isinstance(value, str) and value.startswith(("/", "?")):
        try:
            return parse_pattern(value)
        except InvalidURLError as exc:
            raise ConfigurationError(f"{key} holds {value!r}: {exc}", key, value) from None
    if not isinstance(value, str) or not _ENDPOINT.fullmatch(value.removesuffix(".*")):
        raise ConfigurationError(
            f"{key} holds {safe_repr(value)}: each entry is an endpoint name ('account.logout', 'admin.*'), a "
            "path pattern ('/cart/*') or a query pattern ('?*token=*')",
            key,
            value,
        )
    return value


def _check_choice(value: object, choices: Sequence[str], key: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigurationError(
            f"{key} must be one of {', '.join(map(repr, choices))}, not {safe_repr(value)}", key, value
        )
    return value


def same_origin_url(value: object) -> str:
    """*value* as an encoded path on this site.

    :raises InvalidURLError: for anything else (another origin, a scheme, a bad character).
    """
    target = encode_target(value)
    if not target.startswith("/") or target.startswith("//"):
        raise InvalidURLError(
            f"speculation URL {value!r} must be a path on this site, starting with '/' (speculation stays on the "
            "page's origin; url_for() gives such paths)",
            value,
        )
    return target


EndpointValues = tuple[tuple[str, object], ...]


@dataclass(frozen=True, eq=False)
class RuleSpec:
    """One declaration, checked. ``eq=False``: two declarations are two rules."""

    action: str
    eagerness: str
    urls: tuple[str, ...] = ()
    endpoints: tuple[tuple[str, EndpointValues], ...] = ()
    href_matches: tuple[UrlPattern, ...] = ()
    selector_matches: str | None = None
    exclude: tuple[str | UrlPattern, ...] = ()

    @property
    def per_request(self) -> bool:
        """Whether an endpoint's values are callables, read in each request: such
        rules may hold one user's URLs, so they never go in the shared resource."""
        return any(callable(value) for _, values in self.endpoints for _, value in values)

    @property
    def is_document(self) -> bool:
        """Whether it makes a document rule (patterns, a selector, or neither list nor endpoints)."""
        return bool(self.href_matches or self.selector_matches is not None or not (self.urls or self.endpoints))


def _endpoint_entry(item: object) -> tuple[str, EndpointValues]:
    values: Mapping[object, object]
    if isinstance(item, str):
        name, values = item, {}
    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
        name, values = item
    else:
        raise ConfigurationError(
            f"endpoints holds {safe_repr(item)}: each entry is an endpoint name or (name, values)", "endpoints", item
        )
    if not isinstance(name, str) or not _ENDPOINT.fullmatch(name):
        # A relative name (".view") would depend on the request's blueprint:
        # the shared resource is rebuilt in a request that has none.
        raise ConfigurationError(
            f"endpoints holds {safe_repr(name)}, which is not a full endpoint name ('view', 'blueprint.view')",
            "endpoints",
            name,
        )
    for key in values:
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigurationError(
                f"endpoint {name!r} has the value name {safe_repr(key)}, which is not an identifier", "endpoints", key
            )
    return name, tuple((str(key), value) for key, value in values.items())


def _selector(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_SELECTOR or _CONTROL.search(value):
        raise ConfigurationError(
            f"selector_matches must be a CSS selector (a non-empty str of at most {_MAX_SELECTOR} characters, no "
            f"control characters), not {safe_repr(value)}",
            "selector_matches",
            value,
        )
    return value


def _strings(value: object, key: str) -> tuple[object, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{key} must be a list, not {safe_repr(value)}", key, value)
    return tuple(value)


def make_spec(
    action: object = "prerender",
    *,
    eagerness: object = "moderate",
    urls: Iterable[str] = (),
    endpoints: Iterable[str | tuple[str, Mapping[str, Any]]] = (),
    href_matches: str | Iterable[str] | None = None,
    selector_matches: str | None = None,
    exclude: Iterable[str] = (),
) -> RuleSpec:
    """Check one declaration's arguments (see ``Firehose.speculate``).

    :raises ConfigurationError: for a bad action, eagerness, endpoint,
        selector or exclusion, naming the argument and the value.
    :raises InvalidURLError: for a URL or URL pattern that is not a path on this site.
    """
    patterns: tuple[object, ...] = ()
    if isinstance(href_matches, str):
        patterns = (href_matches,)
    elif href_matches is not None:
        patterns = _strings(href_matches, "href_matches")
    return RuleSpec(
        action=_check_choice(action, ACTIONS, "action"),
        eagerness=_check_choice(eagerness, EAGERNESS, "eagerness"),
        urls=tuple(same_origin_url(url) for url in _strings(urls, "urls")),
        endpoints=tuple(_endpoint_entry(item) for item in _strings(endpoints, "endpoints")),
        href_matches=tuple(parse_pattern(pattern) for pattern in patterns),
        selector_matches=_selector(selector_matches),
        exclude=tuple(parse_exclusion(item, "exclude") for item in _strings(exclude, "exclude")),
    )


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


def dumps(rules: Mapping[str, Any]) -> str:
    """The rules as compact JSON, ASCII only, always in the same order."""
    return json.dumps(rules, ensure_ascii=True, separators=(",", ":"))


def script_json(rules: Mapping[str, Any]) -> str:
    """The rules as JSON that may stand inside ``<script>``: ``<``, ``>`` and
    ``&`` written as ``\\u`` escapes, so no ``</script>`` or ``<!--`` can end
    or change the element whatever a URL or selector holds."""
    return dumps(rules).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
