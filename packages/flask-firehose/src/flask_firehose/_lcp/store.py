"""Where the LCP samples are kept: the ``LcpStore`` protocol and the memory store.

A sample is one accepted report: for a store key (an app's endpoint on one
site) and a viewport class, which client (a keyed hash, never an address) saw
which LCP image (``""`` when the LCP was text or not in the initial
viewport). A store keeps a few newest samples per class, one per client, and
remembers each report id it was given so a token counts once.

:class:`MemoryLcpStore` keeps them in this process and stays bounded whatever
reports arrive: at most ``max_keys`` keys (least recently used out first),
``samples`` samples per class, ``max_ids`` report ids (oldest out first, and
each forgotten after ``ttl``). The Redis store implements the same protocol.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["LcpStore", "MemoryLcpStore", "Samples"]

#: Per viewport class, the ``(client, url)`` samples, oldest first.
Samples = dict[int, list[tuple[str, str]]]


@runtime_checkable
class LcpStore(Protocol):
    """What the LCP learner asks of a store (the memory store, Redis)."""

    def record(self, key: str, report_id: str, client: str, viewport: int, url: str) -> bool:
        """Keep one sample for (key, viewport class) unless report_id was used
        before (single use, remembered for the store's ttl); keep at most
        ``samples`` newest samples per class, one per client (a client's new
        sample replaces its old one). False: a replayed id."""
        ...

    def samples(self, key: str) -> Samples:
        """Per viewport class, the (client, url) samples, oldest first;
        samples older than the ttl are gone."""
        ...

    def forget(self, key: str) -> None:
        """Drop every sample of *key* (the page changed)."""
        ...


class MemoryLcpStore:
    """The LCP samples of this process, bounded and thread-safe.

    :param samples: the newest samples kept per key and viewport class.
    :param ttl: seconds a sample and a report id are kept.
    :param max_keys: keys kept; past it the least recently used goes.
    :param max_ids: report ids remembered; past it the oldest goes.
    :param clock: the wall clock, replaceable in tests.
    """

    def __init__(
        self,
        samples: int = 3,
        ttl: float = 86400,
        max_keys: int = 256,
        max_ids: int = 10000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("samples", samples), ("max_keys", max_keys), ("max_ids", max_ids)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        self.size = samples
        self.ttl = float(ttl)
        self.max_keys = max_keys
        self.max_ids = max_ids
        self._clock = clock
        self._lock = threading.Lock()
        # key -> viewport class -> client -> (time, url), oldest first
        self._keys: OrderedDict[str, dict[int, OrderedDict[str, tuple[float, str]]]] = OrderedDict()
        # report id -> time seen, oldest first
        self._ids: OrderedDict[str, float] = OrderedDict()

    def record(self, key: str, report_id: str, client: str, viewport: int, url: str) -> bool:
        now = self._clock()
        with self._lock:
            self._expire_ids(now)
            if report_id in self._ids:
                return False
            self._ids[report_id] = now
            while len(self._ids) > self.max_ids:
                self._ids.popitem(last=False)
            classes = self._keys.get(key)
            if classes is None:
                classes = self._keys[key] = {}
                while len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
            else:
                self._keys.move_to_end(key)
            kept = classes.setdefault(viewport, OrderedDict())
            kept.pop(client, None)
            kept[client] = (now, url)
            while len(kept) > self.size:
                kept.popitem(last=False)
            return True

    def samples(self, key: str) -> Samples:
        oldest = self._clock() - self.ttl
        with self._lock:
            classes = self._keys.get(key)
            if classes is None:
                return {}
            found: Samples = {}
            for viewport, kept in classes.items():
                while kept and next(iter(kept.values()))[0] <= oldest:
                    kept.popitem(last=False)
                if kept:
                    found[viewport] = [(client, url) for client, (_, url) in kept.items()]
            return found

    def forget(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def _expire_ids(self, now: float) -> None:
        oldest = now - self.ttl
        ids = self._ids
        while ids and next(iter(ids.values())) <= oldest:
            ids.popitem(last=False)

    def sizes(self) -> tuple[int, int, int]:
        """``(keys, report ids, the most samples of any class)``: what the
        bounds hold right now (the tests read it)."""
        with self._lock:
            most = max((len(kept) for classes in self._keys.values() for kept in classes.values()), default=0)
            return len(self._keys), len(self._ids), most
