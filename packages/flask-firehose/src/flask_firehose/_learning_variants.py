"""One URL or many: whether a link belongs to an endpoint or to one of its URLs.

A link pushed by one URL of an endpoint only (``/share/<token>`` pushing that
token's file, ``/search?q=alice`` pushing a result) belongs to that URL: it
must not be learned for the endpoint, where every visitor's 103 would carry
it. :class:`UrlVariants` remembers, per store key and link target, the first
URL a link was seen under, and lets it through once another URL pushed it
too. One URL stays one URL whatever else its query holds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final, cast
from urllib.parse import parse_qsl

from ._links import Link
from ._memo import Memo

__all__ = ["UrlVariants", "other_url", "url_variant"]

#: (key, target) pairs remembered while waiting for a second URL.
MAX_VARIANTS: Final = 8192
_COMMON: Final = object()

#: What tells one URL of an endpoint from another: its URL arguments, and the
#: (name, value) pairs of its query, decoded.
Variant = tuple[tuple[tuple[str, str], ...], frozenset[tuple[str, str]]]


def url_variant(view_args: Mapping[str, Any], query: bytes) -> Variant:
    """What tells this request's URL from the endpoint's other URLs."""
    args = tuple(sorted((name, repr(value)) for name, value in view_args.items()))
    return args, frozenset(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def other_url(first: Variant, then: Variant) -> bool:
    """Whether two requests of one endpoint asked for different URLs, as far
    as a link pushed from both may be public: different URL arguments; or,
    for an endpoint without any, queries with no (name, value) pair in
    common. Extra parameters (``?utm_source=a`` and ``=b``, ``&x=1``) never
    make the same share link or search two URLs."""
    if first[0] or then[0]:
        return first[0] != then[0]
    return bool(first[1]) and bool(then[1]) and first[1].isdisjoint(then[1])


class UrlVariants:
    """The URLs each (store key, link target) was seen under, bounded."""

    def __init__(self, size: int = MAX_VARIANTS) -> None:
        self._lock = threading.Lock()
        # (key, target) -> the first URL's variant, or _COMMON once seen under two.
        self._seen: Memo[tuple[str, str], object] = Memo(size)

    def common(self, key: str, view_args: Mapping[str, Any], query: bytes, forms: tuple[Link, ...]) -> tuple[Link, ...]:
        """Of *forms*, pushed by this request's URL, those seen under *key*
        from another URL too (:func:`other_url`)."""
        try:
            variant = url_variant(view_args, query)
        except Exception:
            return ()
        common = []
        with self._lock:
            for form in forms:
                pair = (key, form.target)
                first = self._seen.get(pair)
                if first is None:
                    self._seen.put(pair, variant)
                elif first is _COMMON or other_url(cast("Variant", first), variant):
                    self._seen.put(pair, _COMMON)
                    common.append(form)
        return tuple(common)
