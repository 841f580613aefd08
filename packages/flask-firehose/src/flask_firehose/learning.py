"""Learning each endpoint's hints from its own successful HTML responses.

What may be learned is narrow on purpose, so that nothing one user's page
holds can reach another user's 103:

* only links the page itself pushed, of a same-origin path under a public
  prefix (the app's and blueprints' static URL paths, or the configured ones);
* only ``preload`` and ``modulepreload`` links;
* only after the link appeared in ``min_seen`` responses of the endpoint.

Learning is per endpoint (``site.article``), never per URL with its arguments.
A newly built asset replaces the old one at once: ``main.3f9a1c.css`` and
``main.css?v=77e0`` share an identity with their earlier builds. Links not seen
for ``window`` responses are forgotten; endpoints and links per endpoint are
capped, so memory is bounded whatever the traffic.

The store is an interface: :class:`MemoryHintStore` keeps state per process;
a store shared by workers implements the same two methods.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .links import Link

__all__ = ["HintStore", "MemoryHintStore", "asset_identity", "learnable"]

# A build hash in a file name: 6+ hex digits after a separator (app.3f9a1c.css,
# chunk-5feceb66.js); the query string is dropped separately.
_BUILD_HASH = re.compile(r"[.\-_][0-9a-fA-F]{6,}(?=[.\-_]|$)")


@functools.lru_cache(maxsize=4096)
def asset_identity(target: str) -> str:
    """*target* without its build: no query, no fragment, no hex hash in the
    file name. Two builds of one asset share it."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    folder, _, name = path.rpartition("/")
    return f"{folder}/{_BUILD_HASH.sub('', name)}"


def learnable(link: Link, prefixes: Sequence[str]) -> bool:
    """Whether *link* may be learned: a preload of a path under *prefixes*."""
    rels = link.rels
    return (
        ("preload" in rels or "modulepreload" in rels)
        and link.target.startswith("/")
        and not link.target.startswith("//")
        and any(link.target.startswith(prefix) for prefix in prefixes)
    )


class HintStore(Protocol):
    """Where learned hints live. Both calls must be safe from many threads."""

    def learned(self, endpoint: str) -> list[Link]:
        """The hints learned for *endpoint*, oldest first."""
        ...

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        """Count one successful HTML response of *endpoint* holding *links*."""
        ...


@dataclass
class _Candidate:
    link: Link
    seen: int
    last: int


@dataclass
class _Endpoint:
    responses: int = 0
    candidates: OrderedDict[str, _Candidate] = field(default_factory=OrderedDict)


class MemoryHintStore:
    """Learned hints in this process's memory.

    :param min_seen: responses a link must appear in to be learned.
    :param window: responses after which an unseen link is forgotten.
    :param max_endpoints: endpoints remembered (least recently seen go first).
    :param max_links: links remembered per endpoint.
    """

    def __init__(self, min_seen: int = 2, window: int = 50, max_endpoints: int = 256, max_links: int = 32) -> None:
        self.min_seen = min_seen
        self.window = window
        self.max_endpoints = max_endpoints
        self.max_links = max_links
        self._endpoints: OrderedDict[str, _Endpoint] = OrderedDict()
        self._lock = threading.Lock()

    def learned(self, endpoint: str) -> list[Link]:
        with self._lock:
            state = self._endpoints.get(endpoint)
            if state is None:
                return []
            return [c.link for c in state.candidates.values() if c.seen >= self.min_seen]

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        with self._lock:
            state = self._endpoints.pop(endpoint, None) or _Endpoint()
            self._endpoints[endpoint] = state  # most recently seen last
            while len(self._endpoints) > self.max_endpoints:
                self._endpoints.popitem(last=False)
            state.responses += 1
            now = state.responses
            for link in links:
                self._count(state, link, now)
            stale = [key for key, c in state.candidates.items() if now - c.last >= self.window]
            for key in stale:
                del state.candidates[key]
            while len(state.candidates) > self.max_links:
                oldest = min(state.candidates, key=lambda key: state.candidates[key].last)
                del state.candidates[oldest]

    @staticmethod
    def _count(state: _Endpoint, link: Link, now: int) -> None:
        key = asset_identity(link.target)
        candidate = state.candidates.get(key)
        if candidate is None or candidate.link.target != link.target:
            # New, or a new build of a known asset: start over, old one gone.
            state.candidates[key] = _Candidate(link, 1, now)
        elif candidate.last != now:
            candidate.seen += 1
            candidate.last = now

    def endpoints(self) -> Iterable[str]:
        """The endpoints with state, for inspection."""
        with self._lock:
            return list(self._endpoints)
