"""A bounded memo: what the per-request path remembers between requests.

Pages send the same few links to every visitor, so several answers are worth
keeping (a link's learnable form, the final header's outcome, a digest with a
page's files added). Each is kept in a :class:`Memo`: a dict that forgets its
oldest entry past *size*, so memory stays bounded whatever the traffic.

Many of those answers are computed from objects the app hands out again and
again (``push()`` returns the same :class:`~flask_firehose.Link` for the same
call, a store in this process the same list): an :class:`IdentityMemo` keys
them by the objects' identities, which is cheaper than hashing each.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from contextlib import suppress
from typing import Any, Generic, TypeVar, overload

__all__ = ["IdentityMemo", "Memo"]

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


class IdentityMemo(Generic[V]):
    """At most *size* answers, each remembered by the identities of the
    objects it was computed from (and an optional hashable *extra*).

    An entry holds its objects, so their ids cannot be reused while it is
    kept; and it is taken only for objects equal to them (``==``, which
    tuples start with an identity check, so the same objects cost nothing):
    new objects that happen to get old ids never get another's answer.
    """

    __slots__ = ("_memo",)

    def __init__(self, size: int) -> None:
        self._memo: Memo[Hashable, tuple[tuple[Any, ...], V]] = Memo(size)

    def get(self, objects: tuple[Any, ...], extra: Hashable = None, ids: tuple[int, ...] | None = None) -> V | None:
        """The answer kept for these very *objects* (and *extra*), else ``None``
        (*ids*: ``tuple(map(id, objects))``, if the caller has it)."""
        # The dict itself, not Memo.get: this runs several times per request.
        entry = self._memo._entries.get((extra, tuple(map(id, objects)) if ids is None else ids))
        if entry is not None and entry[0] == objects:
            return entry[1]
        return None

    def put(
        self, objects: tuple[Any, ...], value: V, extra: Hashable = None, ids: tuple[int, ...] | None = None
    ) -> None:
        """Keep *value* for these *objects* (and *extra*)."""
        self._memo.put((extra, tuple(map(id, objects)) if ids is None else ids), (objects, value))

    def __len__(self) -> int:
        return len(self._memo)
