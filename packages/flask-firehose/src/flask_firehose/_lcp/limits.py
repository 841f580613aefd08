"""How often reports may come: per client and per store key, in fixed memory.

A client is a keyed hash of its address (:func:`client_id`; the address
itself is never kept). :class:`ClientLimiter` remembers, in a fixed array of
slots indexed by that hash, when each slot last had a report accepted: one
report per ``interval`` seconds per slot, whatever the number of clients (two
clients sharing a slot wait for each other, which costs a sample, never
memory). :class:`KeyLimiter` counts the accepted reports of each key per
minute, for at most ``max_keys`` keys (the least recently used go first).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Final

__all__ = ["ClientLimiter", "KeyLimiter", "client_id"]

_CLIENT_SALT: Final = b"flask-firehose.lcp client"


def client_id(secret: str | bytes, address: str) -> str:
    """A keyed hash of *address* (16 hex digits): the same client gives the
    same id in every worker sharing the secret; the address cannot be read
    back from it without the secret."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hashlib.blake2b(_network(address).encode("utf-8", "replace"), key=_derived(key), digest_size=8).hexdigest()


def _network(address: str) -> str:
    """*address* as one client: an IPv6 address by its /64 (one host
    commonly holds a whole /64, so its addresses are one visitor), any
    other value as it is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@lru_cache(maxsize=8)
def _derived(secret: bytes) -> bytes:
    return hmac.new(secret, _CLIENT_SALT, hashlib.sha256).digest()


class ClientLimiter:
    """At most one accepted report per *interval* seconds per client slot.

    :param slots: the fixed number of slots (the memory it ever takes).
    """

    def __init__(self, interval: float = 10.0, slots: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        if type(slots) is not int or slots < 1:
            raise ValueError(f"slots must be a positive int, not {slots!r}")
        self.interval = interval
        self._clock = clock
        self._last: list[float] = [float("-inf")] * slots
        self._lock = threading.Lock()

    def _slot(self, client: str) -> int:
        return int(client, 16) % len(self._last) if client else 0

    def allows(self, client: str) -> bool:
        """Whether *client* may have a report accepted now (nothing is spent)."""
        return self._clock() - self._last[self._slot(client)] >= self.interval

    def spend(self, client: str) -> bool:
        """Count an accepted report of *client*; ``False`` if it came too soon."""
        now = self._clock()
        slot = self._slot(client)
        with self._lock:
            if now - self._last[slot] < self.interval:
                return False
            self._last[slot] = now
            return True

    def __len__(self) -> int:
        return len(self._last)


class KeyLimiter:
    """At most *per_minute* accepted reports per key in any fixed minute."""

    def __init__(self, per_minute: int = 30, max_keys: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        if type(max_keys) is not int or max_keys < 1:
            raise ValueError(f"max_keys must be a positive int, not {max_keys!r}")
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._clock = clock
        # key -> (start of its minute, reports counted in it)
        self._counts: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allows(self, key: str) -> bool:
        """Whether *key* may have a report accepted now (nothing is spent)."""
        start, count = self._counts.get(key, (float("-inf"), 0))
        return self._clock() - start >= 60 or count < self.per_minute

    def spend(self, key: str) -> bool:
        """Count a report for *key*; ``False`` when its minute is full."""
        now = self._clock()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= 60:
                start, count = now, 0
            if count >= self.per_minute:
                return False
            self._counts[key] = (start, count + 1)
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._counts)
