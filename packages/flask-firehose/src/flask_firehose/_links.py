"""One link: validated when it is built, serialized once, ordered by priority.

A :class:`Link` can only exist in a state that serializes to a valid RFC 8288
``link-value``; every check runs in ``__post_init__``. :func:`link_from_push`
turns the loose arguments ``push(url, *args, **attrs)`` has accepted since
0.2.3 into one, filling in what browsers need (``as`` from the file
extension, ``crossorigin`` on fonts) and marking links a proxy cannot push.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from . import _grammar as grammar
from ._targets import MAX_URL, encode_target
from .errors import InvalidAsError, InvalidAttributeError, InvalidLinkError, InvalidURLError

__all__ = [
    "CROSSORIGIN_VALUES",
    "DESTINATIONS",
    "LINK_FIELDS",
    "PLAIN_LINKS",
    "Link",
    "encode_target",
    "infer_as",
    "is_same_origin_path",
    "link_from_push",
    "link_with_attributes",
    "plain_link",
    "safe_repr",
]

#: ``as`` values a browser acts on in a preload: the HTML standard's
#: "potential destinations" minus the ones that never come from a ``<link>``.
#: ``stylesheet``, ``img`` and ``link`` are common mistakes browsers ignore.
DESTINATIONS: Final = frozenset(
    {
        "audio", "audioworklet", "document", "embed", "fetch", "font", "image",
        "manifest", "object", "paintworklet", "script", "serviceworker",
        "sharedworker", "style", "track", "video", "worker", "xslt",
    }
)  # fmt: skip

_AS_BY_EXTENSION: Final = {
    "css": "style",
    "js": "script", "mjs": "script",
    "woff2": "font", "woff": "font", "ttf": "font", "otf": "font", "eot": "font",
    "avif": "image", "webp": "image", "png": "image", "jpg": "image", "jpeg": "image",
    "gif": "image", "svg": "image", "ico": "image", "bmp": "image",
    "json": "fetch", "wasm": "fetch",
    "mp4": "video", "webm": "video",
    "mp3": "audio", "ogg": "audio", "wav": "audio", "flac": "audio",
    "vtt": "track",
}  # fmt: skip

#: Destinations fetched in CORS mode: a preload without ``crossorigin`` is not
#: reused by the real request, so the file downloads twice.
_CORS_DESTINATIONS: Final = frozenset({"font", "fetch"})

#: The values of ``crossorigin`` (HTML's CORS settings attribute; bare is ``""``).
CROSSORIGIN_VALUES: Final = frozenset({"", "anonymous", "use-credentials"})

# Ordered for Largest Contentful Paint: what blocks rendering (styles, then
# scripts the parser waits for), then the LCP image (an image preload at
# ``fetchpriority=high``), then fonts, then what runs after parsing (module
# scripts, which Chromium still loads at high priority, then scripts hinted
# at ``fetchpriority=low``: deferred and async ones), data and connections,
# other media, everything else. When a budget
# forces a choice, the tail is dropped.
_PRIORITY_BY_AS: Final = {"style": 0, "script": 1, "font": 3, "fetch": 6}
_PRIORITY_LCP_IMAGE: Final = 2
_PRIORITY_LATE_SCRIPT: Final = 5
#: :attr:`Link.priority` of an LCP image (``as=image``, ``fetchpriority=high``)
#: and of a script hinted at ``fetchpriority=low`` (deferred, async).
LCP_IMAGE_PRIORITY: Final = _PRIORITY_LCP_IMAGE
LATE_SCRIPT_PRIORITY: Final = _PRIORITY_LATE_SCRIPT
_PRIORITY_BY_REL: Final = {"modulepreload": 4, "preconnect": 6, "dns-prefetch": 6}
_PRIORITY_MEDIA: Final = 7
_PRIORITY_LAST: Final = 8

#: The parameters a :class:`Link` has fields for (the others are its ``params``).
LINK_FIELDS: Final = frozenset({"rel", "as", "crossorigin", "nopush"})


def is_same_origin_path(target: str) -> bool:
    """Whether *target* is a path on this origin (``/x.css``, not ``//cdn/x.css``)."""
    # nginx, Apache and h2o push only a path-absolute reference ("/x.css").
    return target.startswith("/") and not target.startswith("//")


@dataclass(frozen=True, slots=True)
class Link:
    """One ``Link`` header entry (RFC 8288), immutable and always valid.

    :param target: the URI-reference, already percent-encoded
        (:func:`encode_target` does that).
    :param rel: one or more space-separated relation types, lower case.
    :param as_: the request destination, one of :data:`DESTINATIONS`.
    :param crossorigin: ``None`` (absent), ``""`` (bare), ``"anonymous"`` or
        ``"use-credentials"``.
    :param nopush: ask proxies not to push it (the hint still reaches the browser).
    :param params: any other ``(name, value)`` parameters in order; ``None``
        as the value writes a bare parameter.
    :raises InvalidLinkError: a subclass naming the bad value.
    """

    target: str
    rel: str = "preload"
    as_: str | None = None
    crossorigin: str | None = None
    nopush: bool = False
    params: tuple[tuple[str, str | None], ...] = ()
    text: str = field(init=False, repr=False, compare=False)
    """The serialized ``link-value``, computed once."""
    pushable: bool = field(init=False, repr=False, compare=False)
    """Whether a proxy honouring ``http2_push_preload`` would push it: a
    ``preload`` of a same-origin path, without ``nopush``."""
    priority: int = field(init=False, repr=False, compare=False)
    """Sort key, lowest first, ordered for Largest Contentful Paint: styles,
    scripts, the LCP image (``as=image`` at ``fetchpriority=high``), fonts,
    module scripts and scripts at ``fetchpriority=low``, data and
    connections, other media, then everything else (``prefetch`` included)."""
    rels: frozenset[str] = field(init=False, repr=False, compare=False)
    """The relation types, as a set."""
    key: tuple[str, str] = field(init=False, repr=False, compare=False)
    """``(target, rel)``: two links with the same key are one link of a response."""
    _hash: int = field(init=False, repr=False, compare=False)
    _toggled: Link | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A str subclass could format itself as anything: keep its characters only.
        for name in ("target", "rel", "as_", "crossorigin"):
            value = getattr(self, name)
            if isinstance(value, str) and type(value) is not str:
                object.__setattr__(self, name, str.__str__(value))
        if isinstance(self.params, tuple) and any(
            type(item) is not tuple or any(isinstance(v, str) and type(v) is not str for v in item)
            for item in self.params
        ):
            object.__setattr__(self, "params", tuple(_plain_pair(item) for item in self.params))
        if isinstance(self.target, str) and len(self.target) > MAX_URL:
            raise InvalidURLError(
                f"link target is {len(self.target):,} characters long, more than the {MAX_URL:,} a Link header "
                f"can carry: {self.target[:60]!r}...",
                self.target,
            )
        if not isinstance(self.target, str) or not self.target or not grammar.URI_REFERENCE.fullmatch(self.target):
            raise InvalidURLError(f"link target is not a URI-reference: {self.target!r}", self.target)
        scheme = grammar.SCHEME.match(self.target)
        if scheme and scheme.group(1).lower() not in ("http", "https"):
            raise InvalidURLError(f"URL scheme {scheme.group(1)!r} cannot be preloaded: {self.target!r}", self.target)
        if not isinstance(self.rel, str):
            raise InvalidAttributeError(f"rel must be a str, not {self.rel!r}", self.rel, "rel")
        if not isinstance(self.nopush, bool):
            raise InvalidAttributeError(f"nopush must be True or False, not {self.nopush!r}", self.nopush, "nopush")
        if not isinstance(self.params, tuple) or not all(
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], (str, type(None)))
            for item in self.params
        ):
            raise InvalidAttributeError(
                f"params must be a tuple of (name, str or None) pairs, not {self.params!r}", self.params, "params"
            )
        rels = self.rel.split(" ")
        if not all(grammar.REG_REL_TYPE.fullmatch(r) or grammar.SCHEME.match(r) for r in rels) or not all(
            grammar.URI_REFERENCE_CHARS.fullmatch(r) for r in rels
        ):
            raise InvalidAttributeError(
                f"invalid rel {self.rel!r}: expected lower-case relation types", self.rel, "rel"
            )
        if self.as_ is not None and (not isinstance(self.as_, str) or self.as_ not in DESTINATIONS):
            raise InvalidAsError(
                f"invalid as {self.as_!r}: expected one of {', '.join(sorted(DESTINATIONS))}", self.as_
            )
        if self.crossorigin is not None and (
            not isinstance(self.crossorigin, str) or self.crossorigin not in CROSSORIGIN_VALUES
        ):
            raise InvalidAttributeError(
                f"invalid crossorigin {self.crossorigin!r}: expected 'anonymous' or 'use-credentials'",
                self.crossorigin,
                "crossorigin",
            )
        for name, value in self.params:
            _check_param(name, value)
        # Computed once here: the response hook reads them for every link.
        object.__setattr__(self, "text", self._serialize())
        object.__setattr__(self, "pushable", not self.nopush and "preload" in rels and is_same_origin_path(self.target))
        object.__setattr__(self, "priority", _priority(self.as_, rels, self.params))
        object.__setattr__(self, "rels", frozenset(rels))
        object.__setattr__(self, "key", (self.target, self.rel))
        object.__setattr__(
            self, "_hash", hash((self.target, self.rel, self.as_, self.crossorigin, self.nopush, self.params))
        )
        object.__setattr__(self, "_toggled", None)

    def __hash__(self) -> int:
        # Computed once: links are hashed on every request (caches, collections).
        return self._hash

    def _serialize(self) -> str:
        parts = [f"<{self.target}>", f"rel={grammar.quote(self.rel)}"]
        if self.as_ is not None:
            parts.append(f"as={self.as_}")
        if self.crossorigin is not None:
            parts.append(f"crossorigin={self.crossorigin}" if self.crossorigin else "crossorigin")
        parts.extend(name if value is None else f"{name}={grammar.quote(value)}" for name, value in self.params)
        if self.nopush:
            parts.append("nopush")
        return "; ".join(parts)

    def __reduce__(self) -> tuple[type[Link], tuple[object, ...]]:
        # Pickled by its fields only, so unpickling validates and serializes
        # again: a stored copy cannot carry a forged ``text``.
        return (Link, (self.target, self.rel, self.as_, self.crossorigin, self.nopush, self.params))

    def as_hint(self) -> Link:
        """This link with ``nopush``: the browser still gets the hint, no
        proxy pushes it."""
        return self if self.nopush else self._toggle()

    def without_nopush(self) -> Link:
        """This link without ``nopush``."""
        return self._toggle() if self.nopush else self

    def _toggle(self) -> Link:
        # Kept on the link: a returning visitor gets the same hints on every page.
        toggled = self._toggled
        if toggled is None:
            toggled = dataclasses.replace(self, nopush=not self.nopush)
            object.__setattr__(self, "_toggled", toggled)
        return toggled


def _plain_pair(item: object) -> object:
    if not isinstance(item, tuple) or len(item) != 2:
        return item  # rejected by the type check that follows
    return tuple(str.__str__(v) if isinstance(v, str) else v for v in item)


def _priority(as_: str | None, rels: list[str], params: tuple[tuple[str, str | None], ...]) -> int:
    if "preload" in rels:
        if params and as_ in ("image", "script"):
            fetchpriority = next((value or "" for name, value in params if name == "fetchpriority"), "").lower()
            if as_ == "image" and fetchpriority == "high":
                return _PRIORITY_LCP_IMAGE
            if as_ == "script" and fetchpriority == "low":
                return _PRIORITY_LATE_SCRIPT
        return _PRIORITY_BY_AS.get(as_ or "", _PRIORITY_MEDIA)
    return min(_PRIORITY_BY_REL.get(rel, _PRIORITY_LAST) for rel in rels)


def _check_param(name: str, value: str | None) -> None:
    if not grammar.TOKEN.fullmatch(name) or name != name.lower():
        raise InvalidAttributeError(f"invalid attribute name {name!r}: expected a lower-case token", name, name)
    if name in LINK_FIELDS:
        raise InvalidAttributeError(f"attribute {name!r} has a field of its own on Link", name, name)
    if value is not None and not grammar.TEXT.fullmatch(value):
        raise InvalidAttributeError(
            f"invalid value for {name!r}: {value!r} (only printable ASCII, space and tab)", value, name
        )


def infer_as(target: str) -> str | None:
    """Guess the ``as`` destination from the extension of *target*'s path,
    or ``None`` when the extension says nothing."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    return _AS_BY_EXTENSION.get(name.rsplit(".", 1)[1].lower())


def _attr_name(key: str) -> str:
    # ``as_`` (and any keyword-escaped name) means ``as``.
    name = key[:-1] if key.endswith("_") else key
    if not grammar.TOKEN.fullmatch(name):
        raise InvalidAttributeError(f"invalid attribute name {key!r}: expected a token", key, key)
    return name.lower()


def _attr_value(name: str, value: object) -> str | None:
    if value is True:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__repr__(value)  # the digits, whatever a subclass's __str__ says
    if not isinstance(value, str):
        raise InvalidAttributeError(f"invalid value for {name!r}: {value!r} (expected str, int or True)", value, name)
    if not grammar.TEXT.fullmatch(value):
        raise InvalidAttributeError(
            f"invalid value for {name!r}: {value!r} (only printable ASCII, space and tab)", value, name
        )
    return str.__str__(value)


def _collect_attrs(args: tuple[object, ...], attrs: Mapping[str, object]) -> dict[str, str | None]:
    """Merge keyword and positional attributes; ``None``/``False`` drop one."""
    merged: dict[str, str | None] = {}

    def put(raw_name: str, value: object) -> None:
        name = _attr_name(raw_name)
        if name in merged:
            raise InvalidAttributeError(f"attribute {name!r} given twice (as {raw_name!r})", raw_name, name)
        if value is None or value is False:
            return
        merged[name] = _attr_value(name, value)

    for key, value in attrs.items():
        put(key, value)
    for item in args:
        # 0.2.3 wrote positional items verbatim: "nopush", "crossorigin", "type=font/woff2".
        if not isinstance(item, str):
            raise InvalidAttributeError(f"positional attribute must be a str: {item!r}", item, repr(item))
        name, sep, value = item.partition("=")
        put(name.strip(), value.strip().strip('"') if sep else True)
    return merged


def link_from_push(url: object, args: tuple[object, ...] = (), attrs: Mapping[str, object] | None = None) -> Link:
    """Build the :class:`Link` that ``push(url, *args, **attrs)`` asks for.

    ``rel`` defaults to ``preload``; for a preload, ``as`` is inferred from
    the extension when missing; fonts and ``fetch`` preloads get
    ``crossorigin``; anything but a same-origin path gets ``nopush``.
    Results are cached: templates push the same few URLs on every request.

    :raises InvalidLinkError: for any input that cannot become a link, and
        only that: an unexpected error on odd input is wrapped in one.
    """
    try:
        items = tuple((key, type(value), value) for key, value in attrs.items()) if attrs else ()
        try:
            return _cached_build(url, args, items)
        except TypeError as exc:  # an unhashable argument: build without the cache
            if "unhashable" not in str(exc):
                raise
            return _build(url, args, dict(attrs or {}))
    except InvalidLinkError:
        raise
    except Exception as exc:
        raise InvalidLinkError(f"cannot build a link from {safe_repr(url)}: {type(exc).__name__}", url) from exc


#: ``push(url)`` without attributes, the call pages make most, by URL: read
#: with one dict lookup on every push (see :func:`plain_link`); bounded.
PLAIN_LINKS: dict[str, Link] = {}
_MAX_PLAIN_LINKS: Final = 2048


def plain_link(url: str) -> Link:
    """``link_from_push(url)`` for a ``str`` URL without attributes,
    remembered in :data:`PLAIN_LINKS` (emptied when full: a site pushes a
    few hundred files at most; more means URLs made per request).

    :raises InvalidLinkError: as :func:`link_from_push`.
    """
    link = link_from_push(url)
    if len(PLAIN_LINKS) >= _MAX_PLAIN_LINKS:
        PLAIN_LINKS.clear()
    PLAIN_LINKS[url] = link
    return link


#: ``push(url, *args, **attrs)`` with attributes (the 0.2.3 README's
#: template call), by its arguments and the attribute values' types (so that
#: ``True``, a bare attribute, and ``1`` never share an entry); bounded.
ATTRIBUTE_LINKS: dict[tuple[object, ...], Link] = {}


def link_with_attributes(url: object, args: tuple[object, ...], attrs: Mapping[str, object]) -> Link:
    """``link_from_push(url, args, attrs)``, remembered in
    :data:`ATTRIBUTE_LINKS` once it built (a call that fails is built, and
    fails, every time). A key that cannot be hashed or compared (an odd
    attribute value) skips the memo.

    :raises InvalidLinkError: as :func:`link_from_push`.
    """
    key = (url, args, *attrs.items(), *map(type, attrs.values()))
    try:
        link = ATTRIBUTE_LINKS.get(key)
    except Exception:  # unhashable, or a hash or comparison that fails
        return link_from_push(url, args, attrs)
    if link is None:
        link = link_from_push(url, args, attrs)
        if len(ATTRIBUTE_LINKS) >= _MAX_PLAIN_LINKS:
            ATTRIBUTE_LINKS.clear()
        ATTRIBUTE_LINKS[key] = link
    return link


def safe_repr(value: object, limit: int = 200) -> str:
    """``repr(value)``, shortened, and never raising (the value may be hostile)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.lru_cache(maxsize=2048)
def _cached_build(url: object, args: tuple[object, ...], items: tuple[tuple[str, type, object], ...]) -> Link:
    # The type is part of the key so that True (a bare attribute) and 1 differ.
    return _build(url, args, {key: value for key, _, value in items})


def _build(url: object, args: tuple[object, ...], attrs: Mapping[str, object]) -> Link:
    target = encode_target(url)
    merged = _collect_attrs(args, attrs)
    rel = (merged.pop("rel", None) or "preload").lower()
    rel = " ".join(rel.split())
    as_ = merged.pop("as", None)
    if as_ is not None:
        as_ = as_.lower()
    elif "preload" in rel.split(" "):
        as_ = infer_as(target)
    crossorigin: str | None = None
    if "crossorigin" in merged:
        crossorigin = (merged.pop("crossorigin") or "").lower()
    elif as_ in _CORS_DESTINATIONS:
        crossorigin = ""
    nopush = "nopush" in merged
    merged.pop("nopush", None)
    if not is_same_origin_path(target):
        nopush = True
    return Link(target, rel, as_, crossorigin, nopush, tuple(merged.items()))
