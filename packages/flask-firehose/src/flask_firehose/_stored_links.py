"""What a hint store hands back, checked: links rebuilt from their fields.

A store may be shared with other apps, or written by someone else: what it
returns is not trusted. Each item must be a :class:`~flask_firehose.Link`,
and it is built anew from its fields (a stored copy's serialized text is
never used); anything else is left out and reported. A store in this process
hands out the same objects while nothing changes, so the rebuilt links are
remembered by identity, and by fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, Final

from ._hint_store import HintStore
from ._links import Link, safe_repr
from ._memo import IdentityMemo, Memo

__all__ = ["MAX_STORED", "StoredLinks", "printable", "stored_items"]

#: Most items read from one ``learned()`` answer (four pages' worth of links).
MAX_STORED: Final = 128


def printable(text: str) -> str:
    """*text* with every character that is not printable escaped."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def stored_items(found: object) -> tuple[object, ...]:
    """What a store's ``learned()`` returned, as a bounded tuple.

    :raises TypeError: for anything but an iterable of items (a store failure).
    """
    if found is None:
        return ()
    if type(found) is list or type(found) is tuple:  # what stores return: sliced as it is
        return tuple(found[:MAX_STORED])
    if isinstance(found, (str, bytes)) or not isinstance(found, Iterable):
        raise TypeError(f"hint store learned() returned {safe_repr(found)}, not a list of Link")
    return tuple(itertools.islice(found, MAX_STORED))


class StoredLinks:
    """Reads one store's learned links, checked."""

    def __init__(self, store: HintStore) -> None:
        self.store = store
        self._rebuilt: Memo[tuple[Any, ...], Link] = Memo(4096)
        self._read: IdentityMemo[tuple[Link, ...]] = IdentityMemo(256)

    def read(self, key: str, refused: Callable[[str, str], None]) -> tuple[Link, ...]:
        """The valid links stored under *key*; each item left out is told to
        *refused* (the key, what it was). While the store answers with the
        same links, the same tuple comes back (its identity says so).

        :raises Exception: whatever the store raised, or :exc:`TypeError`
            for an answer that is no list.
        """
        items = stored_items(self.store.learned(key))
        known = self._read.get(items)
        if known is not None:
            return known
        links = []
        failed = False
        for item in items:
            link = self.rebuild(item)
            if link is None:
                failed = True
                refused(key, f"{safe_repr(item)}, which is not a valid Link")
            else:
                links.append(link)
        read = tuple(links)
        if not failed:
            self._read.put(items, read)
        return read

    def rebuild(self, item: object) -> Link | None:
        """A :class:`~flask_firehose.Link` built anew from *item*'s fields;
        ``None`` when *item* is no ``Link`` or its fields make none.
        Remembered by those fields."""
        if not isinstance(item, Link):
            return None
        try:
            fields = (item.target, item.rel, item.as_, item.crossorigin, item.nopush, item.params)
            try:
                link = self._rebuilt.get(fields)
            except TypeError:  # a field that cannot be a key cannot be a valid link either
                link = None
            if link is None or type(link.nopush) is not type(item.nopush):
                link = Link(*fields)
                self._rebuilt.put(fields, link)
        except Exception:
            return None
        return link
