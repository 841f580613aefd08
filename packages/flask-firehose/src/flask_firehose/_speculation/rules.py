"""Speculation Rules: the rules model, its validation and the JSON.

A :class:`RuleSpec` is one ``speculate()`` or ``@speculation`` declaration,
checked when it is made. In a request it becomes rules of the Speculation Rules
JSON (WICG Speculation Rules, as Chromium reads it): a *list* rule for its URLs
and endpoints, a *document* rule for its URL patterns and selector. What must
never be speculated is the
:class:`~flask_firehose._speculation.exclusions.ExclusionPolicy`'s: the built-in words
(logout, sign-out...), routes that do not allow GET, views marked with
``no_speculation``, and the configured and declared exclusions. Document rules
get them as ``not`` clauses, so the browser applies them to every link of the
page; list URLs are filtered here, against the app's URL map.

URL patterns (``/articles/*``) live in :mod:`flask_firehose._speculation.patterns`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack

from .. import _grammar as grammar
from .._links import encode_target, safe_repr
from ..errors import ConfigurationError, InvalidURLError
from .patterns import (
    UrlPattern,
    parse_pattern,
    route_pattern,
)

__all__ = [
    "ACTIONS",
    "EAGERNESS",
    "PRERENDERS",
    "SIGNED_IN_CHOICES",
    "TARGET_HINTS",
    "RuleSpec",
    "UrlPattern",
    "check_tag",
    "dumps",
    "make_spec",
    "parse_exclusion",
    "parse_pattern",
    "route_pattern",
    "same_origin_url",
    "script_json",
]

#: What a rule may ask the browser to do. ``prerender_until_script`` loads the
#: page and its files but runs none of its scripts until the click; it is
#: written with a ``prefetch`` twin, which browsers without it follow.
ACTIONS: Final = ("prefetch", "prerender", "prerender_until_script")
#: The actions that load the page in a hidden tab (``target_hint`` applies to them).
PRERENDERS: Final = ("prerender", "prerender_until_script")
#: When the browser acts: ``conservative`` on pointer or touch down,
#: ``moderate`` on a 200 ms hover (or pointer down), ``eager`` on a short hover
#: on desktop (Chromium 141+; in view on mobile), ``immediate`` at once.
EAGERNESS: Final = ("conservative", "moderate", "eager", "immediate")
#: Where a prerendered page is meant to be shown: ``_blank`` for links that
#: open a new tab (``target="_blank"``), ``_self`` for the page's own tab.
TARGET_HINTS: Final = ("_self", "_blank")
#: What a signed-in user's pages may ask for (``FIREHOSE_SPECULATION_SIGNED_IN``,
#: see :mod:`~flask_firehose._speculation.signed_in`).
SIGNED_IN_CHOICES: Final = ("prefetch", "off", "declared")
#: The longest tag (a ruleset's or a rule's): the browser repeats it in a request header.
MAX_TAG: Final = 64

#: A link the page marks itself is never speculated.
NO_SPECULATION_SELECTOR: Final = "[data-no-speculation]"

# An endpoint name as Flask builds them: "view", "bp.view", "parent.child.view".
_ENDPOINT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*")
_MAX_SELECTOR: Final = 1024
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# What a tag may hold: printable ASCII (Chromium refuses anything else, and
# sends it back as an RFC 9651 sf-string).
_TAG: Final = re.compile(r"[\x20-\x7e]+")


def check_tag(value: object, key: str) -> str:
    """A speculation tag: a non-empty str of at most :data:`MAX_TAG`
    printable ASCII characters.

    :raises ConfigurationError: naming *key* and the value.
    """
    if not isinstance(value, str) or len(value) > MAX_TAG or not _TAG.fullmatch(value) or not value.strip():
        raise ConfigurationError(
            f"{key} must be 1 to {MAX_TAG} printable ASCII characters, not only spaces; got {safe_repr(value)}",
            key,
            value,
        )
    return value


def is_canonical_path(path: str) -> bool:
    """Whether *path* is already as the server will route it: no ``.`` or
    ``..`` segment (RFC 3986 §5.2.4 removes them) and no percent-encoded
    unreserved character (§6.2.2.2: ``%6F`` is ``o``)."""
    if any(segment in (".", "..") for segment in path.split("/")):
        return False
    return not any(
        grammar.UNRESERVED.fullmatch(chr(int(escape[1:], 16))) for escape in grammar.PCT_ENCODED.findall(path)
    )


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
    target_hint: str | None = None
    tag: str | None = None

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
    """*value*'s items in a fixed order: a set's in sorted order, so every
    process writes the same JSON (the rules resource's name is its hash)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{key} must be a list, not {safe_repr(value)}", key, value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value, key=repr))
    return tuple(value)


class RuleOptions(TypedDict, total=False):
    """The keyword arguments of one rule: the one parameter list of
    ``Firehose.speculate()``, ``@speculation`` and :func:`make_spec`
    (documented on ``Firehose.speculate``)."""

    eagerness: str
    urls: Iterable[str]
    endpoints: Iterable[str | tuple[str, Mapping[str, Any]]]
    href_matches: str | Iterable[str] | None
    selector_matches: str | None
    exclude: Iterable[str]
    target_hint: str | None
    tag: str | None


#: The names :class:`RuleOptions` holds.
RULE_OPTIONS: Final = frozenset(RuleOptions.__annotations__)


def make_spec(action: object = "prerender", **options: Unpack[RuleOptions]) -> RuleSpec:
    """Check one declaration's arguments (see ``Firehose.speculate``).

    :raises TypeError: for a keyword that is not one of :class:`RuleOptions`.
    :raises ConfigurationError: for a bad action, eagerness, endpoint,
        selector or exclusion, naming the argument and the value.
    :raises InvalidURLError: for a URL or URL pattern that is not a path on this site.
    """
    unknown = sorted(set(options) - RULE_OPTIONS)
    if unknown:
        raise TypeError(
            f"speculation rules take no argument {unknown[0]!r}; they take: {', '.join(sorted(RULE_OPTIONS))}"
        )
    eagerness: object = options.get("eagerness", "moderate")
    urls = options.get("urls", ())
    endpoints = options.get("endpoints", ())
    href_matches = options.get("href_matches")
    selector_matches = options.get("selector_matches")
    exclude = options.get("exclude", ())
    tag: object = options.get("tag")
    action = _check_choice(action, ACTIONS, "action")
    target_hint: str | None = None
    if options.get("target_hint") is not None:
        target_hint = _check_choice(options.get("target_hint"), TARGET_HINTS, "target_hint")
        if action not in PRERENDERS:
            raise ConfigurationError(
                f"target_hint={target_hint!r} is for prerender rules (the browser drops a {action} rule holding it)",
                "target_hint",
                target_hint,
            )
    patterns: tuple[object, ...] = ()
    if isinstance(href_matches, str):
        patterns = (href_matches,)
    elif href_matches is not None:
        patterns = _strings(href_matches, "href_matches")
    return RuleSpec(
        action=action,
        eagerness=_check_choice(eagerness, EAGERNESS, "eagerness"),
        urls=tuple(same_origin_url(url) for url in _strings(urls, "urls")),
        endpoints=tuple(_endpoint_entry(item) for item in _strings(endpoints, "endpoints")),
        href_matches=tuple(parse_pattern(pattern) for pattern in patterns),
        selector_matches=_selector(selector_matches),
        exclude=tuple(parse_exclusion(item, "exclude") for item in _strings(exclude, "exclude")),
        target_hint=target_hint,
        tag=None if tag is None else check_tag(tag, "tag"),
    )


def dumps(rules: Mapping[str, Any]) -> str:
    """The rules as compact JSON, ASCII only, always in the same order."""
    return json.dumps(rules, ensure_ascii=True, separators=(",", ":"))


def script_json(rules: Mapping[str, Any]) -> str:
    """The rules as JSON that may stand inside ``<script>``: ``<``, ``>`` and
    ``&`` written as ``\\u`` escapes, so no ``</script>`` or ``<!--`` can end
    or change the element whatever a URL or selector holds."""
    return dumps(rules).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
