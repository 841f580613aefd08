"""A bounded memo: what the per-request path remembers between requests.

Pages send the same few links to every visitor, so several answers are worth
keeping (a link's learnable form, the final header's outcome, a digest with a
page's files added). Each is kept in a :class:`Memo`: a dict that forgets its
oldest entry past *size*, so memory stays bounded whatever the traffic.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from contextlib import suppress
from typing import Generic, TypeVar, overload

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class Memo(Generic[K, V]):
    """At most *size* entries, oldest first out. Safe to share between
    threads: a lost race costs a recomputation, never a wrong answer."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        """The value kept for *key*, else *default*."""
        return self._entries.get(key, default)

    def put(self, key: K, value: V) -> None:
        """Keep *value* for *key*; forget the oldest entry past the size."""
        self._entries[key] = value
        if len(self._entries) > self.size:
            with suppress(KeyError):  # another thread may have trimmed it
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
