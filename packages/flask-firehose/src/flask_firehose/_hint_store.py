"""Where learned hints are counted: the :class:`HintStore` interface and the
in-process :class:`MemoryHintStore`.

A store only counts. The :class:`~flask_firehose._learning.Learner` decides
what may be learned and checks, whole, every link a store hands back; the key
it passes is opaque (:func:`~flask_firehose._learning.scoped_key`: the app,
the site and the endpoint). Every store counts by one rule,
:func:`keyed_links`: a link is known by its :func:`asset_identity`, so a new
build of an asset replaces the old one at once.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from ._links import Link
from ._memo import IdentityMemo
from .errors import ConfigurationError

__all__ = ["HintStore", "MemoryHintStore", "asset_identity", "check_store", "keyed_links"]

# A separator, then a token that may be a content hash, up to the next
# separator or the end of the file name.
_HASH_CANDIDATE: Final = re.compile(r"[.\-_]([0-9A-Za-z]{8,})(?=[.\-_]|$)")
_HEX_LOWER: Final = re.compile(r"[0-9a-f]+")
_HEX_UPPER: Final = re.compile(r"[0-9A-F]+")


def _is_content_hash(token: str) -> bool:
    """Hex from a hash function (8+ digits mixing digits and letters, with
    the variety of random output: ``ffffff00`` is a colour), 12+ hex digits,
    or the 8 letters and digits of both cases Vite and Rollup write, with a
    digit inside (``Regular4`` is a name)."""
    has_digit = any(c.isdigit() for c in token)
    if _HEX_LOWER.fullmatch(token) or _HEX_UPPER.fullmatch(token):
        if len(token) >= 12:
            return True
        return has_digit and not token.isdigit() and len(set(token)) >= 5
    return (
        len(token) == 8
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
        and any(c.isdigit() for c in token[:-1])
        and len(set(token)) >= 6
    )


@functools.lru_cache(maxsize=4096)
def asset_identity(target: str) -> str:
    """*target* without its build: no query, no fragment, no content hash in
    the file name. Two builds of one asset share it; two files do not."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    folder, _, name = path.rpartition("/")
    bare = _HASH_CANDIDATE.sub(lambda m: "" if _is_content_hash(m.group(1)) else m.group(), name)
    return f"{folder}/{bare}"


@runtime_checkable
class HintStore(Protocol):
    """Where learned hints live. Both calls must be safe from many threads.

    The learner checks what goes in and, whole, every link that comes out
    (a link that is not a public asset of the app asking is left out, and
    logged once in a while), so a store only counts; a store that raises is
    handled by the failure policy. ``Link`` objects are immutable: the
    learner remembers what it rebuilt from the objects ``learned()``
    returned, so a store hands out new ones when its hints change, never the
    old ones altered.

    *key* is an opaque string naming the app, the site (host and script
    root) and the endpoint (``"shop example.com/app site.article"``); a store
    keeps each key's counts apart and may list its keys with an optional
    ``endpoints()`` method, which ``flask firehose routes`` reads.

    .. versionchanged:: 1.0
        The key was the endpoint's name alone; two apps, or two hosts of one
        app, then shared their learned hints.
    """

    def learned(self, key: str) -> list[Link]:
        """The hints learned under *key*."""
        ...

    def observe(self, key: str, links: Sequence[Link]) -> None:
        """Count one successful HTML response, counted under *key*, holding *links*."""
        ...


def check_store(store: object) -> None:
    """Check a ``Firehose(hint_store=...)`` argument at ``init_app``.

    :raises ConfigurationError: a class instead of an instance, or a missing method.
    """
    if isinstance(store, type):
        raise ConfigurationError(
            f"hint_store must be an instance, not the class {store.__qualname__}: pass {store.__qualname__}()",
            "hint_store",
            store,
        )
    for name in ("learned", "observe"):
        if not callable(getattr(store, name, None)):
            raise ConfigurationError(
                f"hint_store {store!r} has no {name}() method: a hint store provides learned(key) and "
                "observe(key, links)",
                "hint_store",
                store,
            )


def keyed_links(links: Sequence[Link], max_links: int) -> list[tuple[str, Link]]:
    """The links one response contributes, each with the key it is counted under.

    Past *max_links*, the highest-priority ones (stably). The key is the
    target's :func:`asset_identity`, so a new build
    replaces the old one; targets sharing an identity within one response are
    distinct files (lazy chunks named alike) and keep their own target as key.
    Every store counts by this rule (:class:`MemoryHintStore`, the Redis store).
    """
    if len(links) > max_links:
        links = heapq.nsmallest(max_links, links, key=lambda link: link.priority)
    identities = [asset_identity(link.target) for link in links]
    counts = Counter(identities)
    return [(link.target if counts[key] > 1 else key, link) for key, link in zip(identities, links, strict=True)]


@dataclass
class _Candidate:
    link: Link
    seen: int
    last: int
    order: int
    """When it first entered: among equal priorities, earlier ones stay."""


@dataclass
class _Endpoint:
    responses: int = 0
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    steady: tuple[Link, ...] | None = None
    """The last response's links, when they were every candidate, all learned."""
    learned: tuple[int, list[Link]] | None = None
    """What :meth:`MemoryHintStore.learned` answered (with its ``min_seen``),
    until a response is counted."""


class MemoryHintStore:
    """Learned hints in this process's memory.

    :param min_seen: responses a link must appear in to be learned.
    :param window: responses after which an unseen link is forgotten.
    :param max_endpoints: keys remembered (least recently seen go first).
        Each key is one endpoint of one app on one site (host and script
        root): an app that answers for any ``Host`` may see this many made
        up by visitors push its real pages out. Flask's ``TRUSTED_HOSTS``
        stops that (an untrusted host is answered 400, before any view).
    :param max_links: links remembered per key; when more compete, the
        highest-priority ones stay, and among equals the ones seen first.
    """

    def __init__(self, min_seen: int = 2, window: int = 50, max_endpoints: int = 256, max_links: int = 32) -> None:
        self.min_seen = min_seen
        self.window = window
        self.max_endpoints = max_endpoints
        self.max_links = max_links
        self._endpoints: OrderedDict[str, _Endpoint] = OrderedDict()
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._keyed: IdentityMemo[list[tuple[str, Link]]] = IdentityMemo(256)

    def learned(self, key: str) -> list[Link]:
        """The links seen in at least ``min_seen`` of *key*'s recent responses."""
        with self._lock:
            state = self._endpoints.get(key)
            if state is None:
                return []
            known = state.learned
            if known is None or known[0] != self.min_seen:
                known = state.learned = (
                    self.min_seen,
                    [c.link for c in state.candidates.values() if c.seen >= self.min_seen],
                )
            return list(known[1])  # the caller's own list

    def observe(self, key: str, links: Sequence[Link]) -> None:
        """Count one response, under *key*, holding *links*."""
        given = links if type(links) is tuple else tuple(links)
        with self._lock:
            state = self._endpoints.get(key)
            if state is not None and state.steady is not None and state.steady == given:
                # The same links as the last response, which held every
                # candidate, all learned: counting it would raise each count
                # and "last seen" alike and forget nothing, so what learned()
                # answers, now and after any later response, is unchanged.
                self._endpoints.move_to_end(key)  # most recently seen last
                return
        keyed = self._keyed_of(given)  # outside the lock
        with self._lock:
            state = self._endpoints.get(key)
            if state is None:
                state = self._endpoints[key] = _Endpoint()
                while len(self._endpoints) > self.max_endpoints:
                    self._endpoints.popitem(last=False)
            else:
                self._endpoints.move_to_end(key)  # most recently seen last
            state.responses += 1
            state.learned = None
            now = state.responses
            candidates = state.candidates
            for identity, link in keyed:
                self._count(candidates, identity, link, now)
            for identity in [name for name, c in candidates.items() if now - c.last >= self.window]:
                del candidates[identity]
            steady = len(keyed) == len(candidates) and all(
                c.last == now and c.seen >= self.min_seen for c in candidates.values()
            )
            state.steady = given if steady else None

    def _keyed_of(self, links: tuple[Link, ...]) -> list[tuple[str, Link]]:
        """:func:`keyed_links` of *links*, remembered (a page sends the same ones)."""
        found = self._keyed.get(links)
        if found is not None:
            return found
        keyed = keyed_links(links, self.max_links)
        self._keyed.put(links, keyed)
        return keyed

    def _count(self, candidates: dict[str, _Candidate], identity: str, link: Link, now: int) -> None:
        candidate = candidates.get(identity)
        if candidate is not None:
            if candidate.link.target != link.target:
                # A new build of a known asset: start over, old one gone.
                candidates[identity] = _Candidate(link, 1, now, candidate.order)
            elif candidate.last != now:
                candidate.seen += 1
                candidate.last = now
            return
        order = next(self._order)
        if len(candidates) >= self.max_links:
            worst_key = max(candidates, key=lambda k: (candidates[k].link.priority, candidates[k].order))
            worst = candidates[worst_key]
            if (link.priority, order) >= (worst.link.priority, worst.order):
                return  # the kept set is better: stay stable
            del candidates[worst_key]
        candidates[identity] = _Candidate(link, 1, now, order)

    def endpoints(self) -> Iterable[str]:
        """The keys with state, least recently observed first (for
        inspection, and for ``flask firehose routes``)."""
        with self._lock:
            return list(self._endpoints)
