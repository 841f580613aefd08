"""Visitors' LCP samples in Redis, shared by every worker and host."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Final

import redis

from .._links import safe_repr
from .clients import Client, check_positive, make_client, slot_prefix
from .guard import Guard
from .values import reply_text

__all__ = ["RedisLcpStore"]

#: The longest client and URL a sample holds, in UTF-8 bytes (``lcp_record.lua`` keeps no longer one).
MAX_SAMPLE_BYTES: Final = 4096

#: A stored key's samples larger than this were not written by this module.
_MAX_STATE_BYTES: Final = 1 << 20

_CLASS: Final = re.compile(r"0|[1-9][0-9]*")

_RECORD: Final = files(__package__ or __name__).joinpath("lcp_record.lua").read_text(encoding="utf-8")
_RECORD_SHA: Final = hashlib.sha1(_RECORD.encode()).hexdigest()


class RedisLcpStore:
    """Visitors' LCP samples in Redis, shared by every worker and host that
    uses the same server (or cluster) and *prefix*: the ``LcpStore`` of the
    LCP learning, with the semantics of its memory store.

    Each :meth:`record` is one atomic Lua script (``lcp_record.lua``; one
    round trip, two right after Redis restarted): it marks the report id used
    (``SET NX EX``: a replayed id changes nothing), then keeps the sample as
    the newest of its viewport class, replacing the same client's earlier
    one, at most *samples* per class. Each :meth:`samples` is one ``HGET``.
    The store keeps two keys, a hash of every store key's samples
    (:attr:`samples_key`) and a sorted set of the store keys
    (:attr:`index_key`), plus one short marker per report id, all in one hash
    slot, so it runs on a Redis Cluster as on one server. Store keys are
    hash fields and set members, never part of a key's name; a report id is
    hashed into its marker's name.

    Bounded, whatever visitors send: at most *max_keys* store keys (the least
    recently sampled go first), *max_classes* classes each, *samples* samples
    per class, each sample at most 4096 bytes of client and of URL. A sample
    older than *ttl* seconds is gone, and both keys expire *ttl* seconds after
    the last sample. Each report id's marker (about 100 bytes) expires *ttl*
    seconds after its report: there are as many as reports were recorded in
    that time, which the report view's rate limits bound.
    Sample times are the caller's wall clock (*clock*), both when they are
    written and when they are read (a report id's marker expires by Redis's).

    Calls keep a deadline and a circuit breaker as
    :class:`~flask_firehose._redis.RedisHintStore` describes: each gives up
    *timeout* seconds after its first socket operation, and for *retry_after*
    seconds after a failure calls fail at once with
    :class:`~flask_firehose._redis.RedisUnavailableError`. What Redis hands
    back is checked: a stored value this store did not write is skipped,
    never raised.

    :param redis: a ``redis.Redis`` client, one from
        ``redis.sentinel.Sentinel(...).master_for(...)``, or a
        ``redis.cluster.RedisCluster``.
    :param url: instead of *redis*, a Redis URL for one server.
    :param prefix: the start of every key this store writes, and their hash
        tag (see :class:`~flask_firehose._redis.RedisHintStore`).
    :param samples: samples kept per viewport class.
    :param ttl: seconds a sample, and a report id, are remembered.
    :param max_keys: store keys (pages) remembered.
    :param max_classes: viewport classes a page may have (``0`` to ``max_classes - 1``).
    :param timeout: seconds a call may take once it touches the network.
    :param retry_after: seconds calls fail fast after Redis failed.
    :param clock: the wall clock samples are timed by, replaceable in tests.
    """

    def __init__(
        self,
        redis: Client | None = None,
        *,
        url: str | None = None,
        prefix: str = "firehose:lcp:",
        samples: int = 3,
        ttl: int = 86400,
        max_keys: int = 256,
        max_classes: int = 16,
        timeout: float = 0.05,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("samples", samples), ("ttl", ttl), ("max_keys", max_keys), ("max_classes", max_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {safe_repr(value)}")
        check_positive(timeout=timeout, retry_after=retry_after)
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning the time in seconds, not {safe_repr(clock)}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, not {safe_repr(prefix)}")
        start = slot_prefix(prefix)
        self.client = make_client(redis, url, timeout)
        self.prefix = prefix
        self.samples_per_class = samples
        self.ttl = ttl
        self.max_keys = max_keys
        self.max_classes = max_classes
        self.timeout = timeout
        self._guard = Guard(self.client, timeout, retry_after)
        self._clock = clock
        self._start = start
        #: The hash holding every store key's samples (field: the store key).
        self.samples_key = f"{start}samples"
        #: The sorted set of store keys, least recently sampled first.
        self.index_key = f"{start}keys"

    def __repr__(self) -> str:
        return f"RedisLcpStore(prefix={self.prefix!r}, samples={self.samples_per_class})"

    def id_key(self, report_id: str) -> str:
        """The name of *report_id*'s marker (a digest: any id makes a short, plain name)."""
        digest = hashlib.sha256(report_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
        return f"{self._start}id:{digest}"

    def record(self, key: str, report_id: str, client: str, viewport: int, url: str) -> bool:
        """Keep one sample for (*key*, *viewport* class) unless *report_id*
        was used before (single use, remembered for *ttl* seconds); at most
        *samples* newest per class, one per client (a client's new sample
        replaces its old one). ``False``: a replayed id.

        :raises TypeError: a key, id, client or URL that is not a str.
        :raises ValueError: one that is not UTF-8 text (a lone surrogate),
            an empty report id, a client or URL over 4096 bytes, a viewport
            class outside ``0 .. max_classes - 1``.
        """
        for name, value in (("key", key), ("report_id", report_id), ("client", client), ("url", url)):
            size = _utf8_size(name, value)
            if name in ("client", "url") and size > MAX_SAMPLE_BYTES:
                raise ValueError(f"{name} must be at most {MAX_SAMPLE_BYTES} bytes, not {safe_repr(value)}")
        if not report_id:
            raise ValueError("report_id must be a non-empty str")
        if isinstance(viewport, bool) or not isinstance(viewport, int) or not 0 <= viewport < self.max_classes:
            raise ValueError(f"viewport must be an int from 0 to {self.max_classes - 1}, not {safe_repr(viewport)}")
        now = int(self._clock() * 1000)
        args: list[str | int] = [
            key,
            int(viewport),
            client,
            url,
            now,
            self.samples_per_class,
            self.ttl,
            self.max_keys,
            self.max_classes,
        ]
        keys = (self.samples_key, self.index_key, self.id_key(report_id))
        return self._guard.call("LCP store record script", lambda: self._run(keys, args))

    def _run(self, keys: tuple[str, str, str], args: list[str | int]) -> bool:
        try:
            answer = self.client.evalsha(_RECORD_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            answer = self.client.eval(_RECORD, len(keys), *keys, *args)
        if type(answer) is not int or answer not in (0, 1):
            raise TypeError(f"Redis answered the LCP record script with {safe_repr(answer)}, not 0 or 1")
        return answer == 1

    def samples(self, key: str) -> dict[int, list[tuple[str, str]]]:
        """Per viewport class, the ``(client, url)`` samples under *key*,
        oldest first; samples older than *ttl* seconds are gone. Stored
        entries this store did not write are skipped."""
        _utf8_size("key", key)
        raw = reply_text(self._guard.call("LCP store HGET", lambda: self._get(key)), "HGET")
        if raw is None or len(raw) > _MAX_STATE_BYTES:
            return {}
        try:
            state = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            return {}
        if not isinstance(state, dict):
            return {}
        now = self._clock() * 1000
        oldest, newest = now - self.ttl * 1000, now + self.ttl * 1000
        found: dict[int, list[tuple[str, str]]] = {}
        for name, entries in state.items():
            if not (_CLASS.fullmatch(name) and int(name) < self.max_classes and isinstance(entries, list)):
                continue
            kept: dict[str, str] = {}  # client -> url, oldest first (a client once: its last)
            for entry in entries:
                if (
                    isinstance(entry, list)
                    and len(entry) == 3
                    and isinstance(entry[0], str)
                    and isinstance(entry[1], str)
                    and type(entry[2]) in (int, float)
                    and oldest < entry[2] <= newest
                    and len(entry[0]) <= MAX_SAMPLE_BYTES
                    and len(entry[1]) <= MAX_SAMPLE_BYTES
                ):
                    kept.pop(entry[0], None)
                    kept[entry[0]] = entry[1]
            if kept:
                found[int(name)] = list(kept.items())[-self.samples_per_class :]
        return dict(sorted(found.items()))

    def _get(self, key: str) -> object:
        try:
            return self.client.hget(self.samples_key, key)
        except redis.exceptions.ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):  # not written by this store: no samples
                return None
            raise

    def forget(self, key: str) -> None:
        """Drop every sample under *key* (its report ids stay used)."""
        _utf8_size("key", key)
        self._guard.call("LCP store HDEL/ZREM", lambda: self._forget(key))

    def _forget(self, key: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hdel(self.samples_key, key)
        pipe.zrem(self.index_key, key)
        for answer in pipe.execute(raise_on_error=False):
            if isinstance(answer, redis.exceptions.ResponseError) and not str(answer).startswith("WRONGTYPE"):
                raise answer  # WRONGTYPE: another type, nothing of ours to drop

    def endpoints(self) -> list[str]:
        """The store keys with samples, least recently sampled first (for inspection)."""
        names = self._guard.call("LCP store ZRANGE", self._endpoints)
        if not isinstance(names, list):
            raise TypeError(f"Redis answered ZRANGE with {safe_repr(names)}, not a list")
        return [text for name in names if (text := reply_text(name, "ZRANGE")) is not None]

    def _endpoints(self) -> object:
        try:
            return self.client.zrange(self.index_key, 0, -1)
        except redis.exceptions.ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):  # not written by this store: no keys
                return []
            raise

    def clear(self) -> None:
        """Forget every sample (both keys; the report ids' markers expire on their own)."""
        self._guard.call("LCP store DEL", lambda: self.client.delete(self.samples_key, self.index_key))

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def _utf8_size(name: str, value: object) -> int:
    """*value*'s size in UTF-8, or the error naming it (not a str, not text)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {safe_repr(value)}")
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be UTF-8 text, not {safe_repr(value)}") from None
