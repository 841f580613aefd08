"""Learned hints and pushed URLs kept in Redis, shared by every worker and host.

This module owns the two Redis backends and what they need in common:

* :class:`RedisHintStore`, a :class:`~flask_firehose.HintStore`
  with the semantics of :class:`~flask_firehose.MemoryHintStore`
  (``min_seen``, ``window``, ``max_endpoints``, ``max_links`` with the stable
  highest-priority cap, a new build replacing the old one at once), whose
  counting runs atomically inside Redis in one Lua script, so that any number
  of processes can learn together;
* :class:`RedisConnector`, the 0.2.3 connector protocol
  (``get_pushed()``/``set_pushed()``) over one Redis set per client;
* the connection guard both use: a call that cannot reach Redis raises
  quickly, then for ``retry_after`` seconds calls fail at once without
  touching the network (a circuit breaker), after which one call tries again.

It owns no policy: what may be learned, and what a failure does to the
response, are decided by :class:`~flask_firehose._learning.Learner` and the
failure policy (:mod:`flask_firehose._failure`), which wrap every call made
here. Stored data is never trusted: links are kept as JSON of their fields
(never pickled) and rebuilt with :class:`~flask_firehose.Link`, which
validates them again; anything malformed is skipped.

Install with ``pip install Flask-Firehose[redis]`` (redis-py).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._learning import keyed_links
from ._links import Link, safe_repr
from ._memo import Memo

__all__ = ["RedisConnector", "RedisHintStore", "RedisUnavailableError", "link_from_json", "link_to_json"]

T = TypeVar("T")

#: A stored endpoint state larger than this was not written by this module.
_MAX_STATE_BYTES: Final = 1 << 20

# Errors that say Redis cannot be reached (or answered too late): they open
# the breaker. redis-py wraps socket errors in its own ConnectionError and
# TimeoutError; OSError covers a client that lets one through.
_UNREACHABLE: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisUnavailableError(redis.exceptions.ConnectionError):
    """Redis failed recently: the call was not attempted (the circuit is open)."""


def _client(client: redis.Redis | None, url: str | None, timeout: float) -> redis.Redis:
    if (client is None) == (url is None):
        raise TypeError("pass either a redis.Redis client or url=..., not both and not neither")
    if client is not None:
        if not isinstance(client, redis.Redis):
            raise TypeError(f"redis must be a redis.Redis client, not {safe_repr(client)}")
        return client
    if not isinstance(url, str):
        raise TypeError(f"url must be a str such as 'redis://127.0.0.1:6379/0', not {safe_repr(url)}")
    # No retries: a retry after a timeout would block the request for
    # another timeout; the breaker decides when to try again.
    built = redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )
    # Options in the URL's query (?socket_timeout=5) win over the keywords in
    # redis-py: put the bound back, since no request may wait longer.
    built.connection_pool.connection_kwargs.update(
        socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
    )
    return built


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number, not {safe_repr(value)}")


class _Guard:
    """Runs calls into Redis behind a thread-safe circuit breaker.

    Closed, every call goes through. A call failing to reach Redis opens it:
    for *retry_after* seconds every call raises :class:`RedisUnavailableError`
    at once. The first call after that is let through as a probe (the others
    still fail fast); its success closes the breaker, its failure opens it
    again.
    """

    def __init__(self, retry_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._cause = ""

    @property
    def is_open(self) -> bool:
        """Whether calls fail fast right now."""
        with self._lock:
            return self._open_until is not None and self._clock() < self._open_until

    def call(self, what: str, func: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            if self._open_until is not None:
                if now < self._open_until:
                    raise RedisUnavailableError(
                        f"{what} not attempted: Redis was unreachable ({self._cause}); "
                        f"next attempt in {self._open_until - now:.1f}s"
                    )
                self._open_until = now + self.retry_after  # this call is the probe
        try:
            result = func()
        except _UNREACHABLE as exc:
            with self._lock:
                self._open_until = self._clock() + self.retry_after
                self._cause = f"{type(exc).__name__}: {exc}"[:200]
            raise
        except BaseException:  # Redis answered, if oddly: it is reachable
            self._close()
            raise
        self._close()
        return result

    def _close(self) -> None:
        with self._lock:
            self._open_until = None


def link_to_json(link: Link) -> str:
    """*link* as JSON of its fields (what :class:`Link` is built from)."""
    return json.dumps(
        {
            "target": link.target,
            "rel": link.rel,
            "as": link.as_,
            "crossorigin": link.crossorigin,
            "nopush": link.nopush,
            "params": [list(pair) for pair in link.params],
        },
        separators=(",", ":"),
    )


def link_from_json(text: str | bytes) -> Link:
    """The :class:`Link` stored as *text* by :func:`link_to_json`, validated again.

    :raises ValueError: when *text* is not such JSON, or holds an invalid link
        (:class:`~flask_firehose.InvalidLinkError` is a ``ValueError``).
    """
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"stored link is not a JSON object: {safe_repr(data)}")
    target = data.get("target")
    if not isinstance(target, str):
        raise ValueError(f"stored link target is not a str: {safe_repr(target)}")
    params = data.get("params", [])
    if not isinstance(params, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in params):
        raise ValueError(f"stored link params are not a list of pairs: {safe_repr(params)}")
    return Link(
        target,  # the other fields are type-checked by Link itself
        data.get("rel", "preload"),
        data.get("as"),
        data.get("crossorigin"),
        data.get("nopush", False),
        tuple((name, value) for name, value in params),
    )


# The counting of MemoryHintStore.observe, atomically in Redis.
#
# KEYS[1]  the endpoint's state: JSON {"n": responses, "o": next order,
#          "c": [[key, target, seen, last, order, priority, link JSON], ...]}
#          in order of arrival (ascending order)
# KEYS[2]  the endpoints, scored by when last observed (a sorted set)
# ARGV     endpoint, window, max_links, max_endpoints, ttl, prefix of the
#          endpoints' keys, then key, target, priority, link JSON per link
_OBSERVE: Final = r"""
local window = tonumber(ARGV[2])
local max_links = tonumber(ARGV[3])
local max_endpoints = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])

local function count(x)
  return type(x) == 'number' and x == x and x >= 0 and x < 9007199254740992
end

local n, next_order, candidates, index = 0, 0, {}, {}
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'string' and #raw <= 1048576 then
  local ok, state = pcall(cjson.decode, raw)
  if ok and type(state) == 'table' and count(state.n) and count(state.o) and type(state.c) == 'table' then
    n, next_order = state.n, state.o
    for _, c in ipairs(state.c) do
      if #candidates >= max_links then break end
      if type(c) == 'table' and type(c[1]) == 'string' and type(c[2]) == 'string' and count(c[3])
          and count(c[4]) and count(c[5]) and count(c[6]) and type(c[7]) == 'string' and index[c[1]] == nil then
        local kept = {c[1], c[2], c[3], c[4], c[5], c[6], c[7]}
        candidates[#candidates + 1] = kept
        index[c[1]] = kept
        if c[4] > n then n = c[4] end
        if c[5] >= next_order then next_order = c[5] + 1 end
      end
    end
    table.sort(candidates, function(a, b) return a[5] < b[5] end)
  end
end

n = n + 1
local now = n
local live = #candidates
for i = 7, #ARGV, 4 do
  local key, target, priority, link = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local c = index[key]
  if c ~= nil then
    if c[2] ~= target then
      -- A new build of a known asset: start over, old one gone, place kept.
      c[2], c[3], c[4], c[6], c[7] = target, 1, now, priority, link
    elseif c[4] ~= now then
      c[3], c[4] = c[3] + 1, now
    end
  else
    local order = next_order
    next_order = next_order + 1
    local admit = true
    if live >= max_links then
      local worst = nil
      for _, w in ipairs(candidates) do
        if not w.gone and (worst == nil or w[6] > worst[6] or (w[6] == worst[6] and w[5] > worst[5])) then
          worst = w
        end
      end
      if priority > worst[6] or (priority == worst[6] and order >= worst[5]) then
        admit = false -- the kept set is better: stay stable
      else
        worst.gone = true
        index[worst[1]] = nil
        live = live - 1
      end
    end
    if admit then
      local new = {key, target, 1, now, order, priority, link}
      candidates[#candidates + 1] = new
      index[key] = new
      live = live + 1
    end
  end
end

local kept = {}
for _, c in ipairs(candidates) do
  if not c.gone and now - c[4] < window then
    kept[#kept + 1] = {c[1], c[2], c[3], c[4], c[5], c[6], c[7]}
  end
end
local encoded = '[]'
if #kept > 0 then encoded = cjson.encode(kept) end
redis.call('SET', KEYS[1], '{"n":' .. string.format('%d', n) .. ',"o":' .. string.format('%d', next_order)
  .. ',"c":' .. encoded .. '}', 'EX', ttl)

local kind = redis.call('TYPE', KEYS[2])
if type(kind) == 'table' then kind = kind.ok end
if kind ~= 'zset' and kind ~= 'none' then redis.call('DEL', KEYS[2]) end
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local score = 1
if top[2] ~= nil then score = tonumber(top[2]) + 1 end
redis.call('ZADD', KEYS[2], score, ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - max_endpoints
if extra > 0 then
  for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do
    redis.call('DEL', ARGV[6] .. name)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('EXPIRE', KEYS[2], ttl)
return #kept
"""
_OBSERVE_SHA: Final = hashlib.sha1(_OBSERVE.encode()).hexdigest()


def _text(value: object, what: str) -> str | None:
    """A reply that should be a string (or nil): ``None``, the text, or TypeError."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"Redis answered {what} with {safe_repr(value)}, not a string or nil")


class RedisHintStore:
    """Learned hints in Redis, shared by every worker and host that uses the
    same server and *prefix*.

    Learning works as in :class:`~flask_firehose.MemoryHintStore`;
    each :meth:`observe` is one atomic Lua script (one round trip; two right
    after Redis restarted, to load the script again), each :meth:`learned`
    one ``GET``. Every key expires *ttl* seconds after its endpoint was last
    observed, and at most *max_endpoints* endpoints are kept (the least
    recently observed go first), so the store stays bounded.

    A call that cannot reach Redis within *timeout* raises (the failure policy
    logs it and the page goes on without learned hints); for *retry_after*
    seconds after that, calls fail at once, then one tries again.

    :param redis: a ``redis.Redis`` client. Give it a ``socket_timeout``, a
        ``socket_connect_timeout`` and ``retry=Retry(NoBackoff(), 0)``: its
        own settings decide how long a call may block.
    :param url: instead of *redis*, a Redis URL; the client built for it
        waits at most *timeout* seconds to connect and for each answer, and
        does not retry.
    :param prefix: the start of every key this store writes.
    :param min_seen: responses a link must appear in to be learned.
    :param window: responses of its endpoint after which an unseen link is forgotten.
    :param max_endpoints: endpoints remembered.
    :param max_links: links remembered per endpoint.
    :param ttl: seconds an endpoint's state lives after its last observation.
    :param timeout: seconds a call may wait for Redis (with *url*).
    :param retry_after: seconds calls fail fast after Redis failed.
    :param reuse: seconds this process reuses what :meth:`learned` read for
        an endpoint, and keeps from sending again a response whose links are
        the same as the last one it sent for the endpoint, when those were
        every link the endpoint has, all learned (counting it would change
        nothing). What another worker learns reaches this one within that
        time. ``0``: every call goes to Redis.
    """

    def __init__(
        self,
        redis: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = "firehose:hints:",
        min_seen: int = 2,
        window: int = 50,
        max_endpoints: int = 256,
        max_links: int = 32,
        ttl: int = 7 * 86400,
        timeout: float = 0.05,
        retry_after: float = 5.0,
        reuse: float = 1.0,
    ) -> None:
        if isinstance(reuse, bool) or not isinstance(reuse, (int, float)) or not 0 <= reuse < float("inf"):
            raise ValueError(f"reuse must be a number of seconds, 0 or more, not {safe_repr(reuse)}")
        for name, value in (
            ("min_seen", min_seen),
            ("window", window),
            ("max_endpoints", max_endpoints),
            ("max_links", max_links),
            ("ttl", ttl),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {safe_repr(value)}")
        _check_positive(timeout=timeout, retry_after=retry_after)
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, not {safe_repr(prefix)}")
        self.client = _client(redis, url, timeout)
        self.prefix = prefix
        self.min_seen = min_seen
        self.window = window
        self.max_endpoints = max_endpoints
        self.max_links = max_links
        self.ttl = ttl
        self.timeout = timeout
        self._guard = _Guard(retry_after)
        self.reuse = float(reuse)
        # endpoint -> (until, the links read); endpoint -> (until, what was sent last, found steady)
        self._reads: Memo[str, tuple[float, tuple[Link, ...]]] = Memo(max_endpoints)
        self._quiet: Memo[str, tuple[float, tuple[tuple[str, str], ...]]] = Memo(max_endpoints)
        self._index_key = f"{prefix}endpoints"
        self._endpoint_prefix = f"{prefix}e:"

    def __repr__(self) -> str:
        return f"RedisHintStore(prefix={self.prefix!r}, min_seen={self.min_seen})"

    def key(self, endpoint: str) -> str:
        """The Redis key holding *endpoint*'s state."""
        return self._endpoint_prefix + endpoint

    def learned(self, endpoint: str) -> list[Link]:
        """The links seen in at least ``min_seen`` of *endpoint*'s recent
        responses, in the order they were first seen. Stored entries that do
        not make a valid :class:`Link` are skipped."""
        if not isinstance(endpoint, str):
            raise TypeError(f"endpoint must be a str, not {safe_repr(endpoint)}")
        if self.reuse:
            read = self._reads.get(endpoint)
            if read is not None and time.monotonic() < read[0]:
                return list(read[1])
        found = self._read_learned(endpoint)
        if self.reuse:
            self._reads.put(endpoint, (time.monotonic() + self.reuse, tuple(found)))
        return found

    def _read_learned(self, endpoint: str) -> list[Link]:
        raw = _text(self._guard.call("hint store GET", lambda: self._get(self.key(endpoint))), "GET")
        if raw is None or len(raw) > _MAX_STATE_BYTES:
            return []
        try:
            state = json.loads(raw)
        except ValueError:
            return []
        entries = state.get("c") if isinstance(state, dict) else None
        if not isinstance(entries, list):
            return []
        found: list[tuple[int, Link]] = []
        for entry in entries[: self.max_links]:
            if not (
                isinstance(entry, list)
                and len(entry) == 7
                and type(entry[2]) is int
                and type(entry[4]) is int
                and isinstance(entry[6], str)
            ):
                continue
            if entry[2] < self.min_seen:
                continue
            try:
                found.append((entry[4], link_from_json(entry[6])))
            except ValueError:
                continue
        found.sort(key=lambda item: item[0])
        return [link for _, link in found]

    def _get(self, key: str) -> object:
        try:
            return self.client.get(key)
        except redis.exceptions.ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):  # not written by this store: nothing learned
                return None
            raise

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        """Count one response of *endpoint* holding *links*, atomically."""
        if not isinstance(endpoint, str):
            raise TypeError(f"endpoint must be a str, not {safe_repr(endpoint)}")
        args: list[str | int] = [
            endpoint,
            self.window,
            self.max_links,
            self.max_endpoints,
            self.ttl,
            self._endpoint_prefix,
        ]
        keyed = keyed_links(links, self.max_links)
        sent = tuple((key, link.target) for key, link in keyed)
        if self.reuse:
            quiet = self._quiet.get(endpoint)
            if quiet is not None and time.monotonic() < quiet[0] and quiet[1] == sent:
                return  # the same links as a steady page's last response: nothing to count
        for key, link in keyed:
            args += [key, link.target, link.priority, link_to_json(link)]
        keys = [self.key(endpoint), self._index_key]
        live = self._guard.call("hint store observe script", lambda: self._run(keys, args))
        if not self.reuse:
            return
        # Steady: what this process read before the response was learned,
        # and the response held exactly those links, the only live ones.
        read = self._reads.get(endpoint)
        self._reads.put(endpoint, (0.0, ()))  # read again next time: this process sees its own counts
        distinct = {key for key, _ in sent}
        steady = (
            read is not None
            and time.monotonic() < read[0]
            and live == len(distinct) == len(read[1])
            and {link.target for link in read[1]} == {target for _, target in sent}
        )
        # Only the last response sent counts: any other one ends a quiet spell.
        self._quiet.put(endpoint, (time.monotonic() + self.reuse if steady else 0.0, sent))

    def _run(self, keys: list[str], args: list[str | int]) -> int:
        """Run the observe script; its answer: how many links the endpoint keeps."""
        try:
            answer = self.client.evalsha(_OBSERVE_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            answer = self.client.eval(_OBSERVE, len(keys), *keys, *args)
        if type(answer) is not int:
            raise TypeError(f"Redis answered the observe script with {safe_repr(answer)}, not an integer")
        return answer

    def endpoints(self) -> list[str]:
        """The endpoints with state, least recently observed first (for inspection)."""
        names = self._guard.call("hint store ZRANGE", lambda: self.client.zrange(self._index_key, 0, -1))
        if not isinstance(names, list):
            raise TypeError(f"Redis answered ZRANGE with {safe_repr(names)}, not a list")
        return [text for name in names if (text := _text(name, "ZRANGE")) is not None]

    def clear(self) -> None:
        """Forget everything this store learned (every endpoint it indexes)."""
        keys = [self.key(name) for name in self.endpoints()] + [self._index_key]
        self._guard.call("hint store DEL", lambda: self.client.delete(*keys))
        self._reads = Memo(self.max_endpoints)
        self._quiet = Memo(self.max_endpoints)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class RedisConnector:
    """The 0.2.3 connector protocol over Redis: the URLs pushed to each client
    in a Redis set, so every worker and host knows what a client was pushed.

    ``Firehose(app, connector=RedisConnector(lambda: f"user:{current_user.id}", url=...))``

    :param key: called once per ``get_pushed()``/``set_pushed()`` inside the
        request; returns the current client's key (its set is stored under
        *prefix* + key), or ``None`` to track nothing for this request.
    :param redis: a ``redis.Redis`` client (see :class:`RedisHintStore`).
    :param url: instead of *redis*, a Redis URL.
    :param prefix: the start of every key this connector writes, so that a
        client's key (``user:42``) never touches the app's own data.
    :param ttl: seconds a client's set lives after its last change.
    :param max_urls: the most URLs kept per client.
    :param timeout: seconds a call may wait for Redis (with *url*).
    :param retry_after: seconds calls fail fast after Redis failed.
    """

    def __init__(
        self,
        key: Callable[[], str | None],
        redis: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = "firehose:pushed:",
        ttl: int = 30 * 86400,
        max_urls: int = 1000,
        timeout: float = 0.05,
        retry_after: float = 5.0,
    ) -> None:
        if not callable(key):
            raise TypeError(f"key must be a callable returning the client's key or None, not {safe_repr(key)}")
        for name, value in (("ttl", ttl), ("max_urls", max_urls)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {safe_repr(value)}")
        _check_positive(timeout=timeout, retry_after=retry_after)
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a str, not {safe_repr(prefix)}")
        self.key = key
        self.client = _client(redis, url, timeout)
        self.prefix = prefix
        self.ttl = ttl
        self.max_urls = max_urls
        self.timeout = timeout
        self._guard = _Guard(retry_after)

    def __repr__(self) -> str:
        return f"RedisConnector(prefix={self.prefix!r})"

    def _name(self) -> str | None:
        key = self.key()
        if key is None:
            return None
        if not isinstance(key, str):
            raise TypeError(f"RedisConnector key() returned {safe_repr(key)}, not a str or None")
        return self.prefix + key

    def get_pushed(self) -> set[str]:
        """The URLs pushed to the current client (at most *max_urls*)."""
        name = self._name()
        if name is None:
            return set()
        members = self._guard.call("connector SRANDMEMBER", lambda: self.client.srandmember(name, self.max_urls))
        if not isinstance(members, (list, set, tuple)):
            raise TypeError(f"Redis answered SRANDMEMBER with {safe_repr(members)}, not a list")
        found = set()
        for member in members:
            if isinstance(member, (bytes, bytearray)):
                try:
                    found.add(bytes(member).decode("utf-8"))
                except UnicodeDecodeError:
                    continue  # not written by this connector
            elif isinstance(member, str):
                found.add(str.__str__(member))
            else:
                raise TypeError(f"Redis answered SRANDMEMBER with {safe_repr(member)} among its members")
        return found

    def set_pushed(self, inset: set[str]) -> None:
        """Store *inset* as the current client's set, in one transaction.

        Past *max_urls*, the URLs not yet stored are kept first (the page
        just pushed them), then the others in sorted order."""
        name = self._name()
        if name is None:
            return
        urls = sorted({str.__str__(url) for url in inset if isinstance(url, str) and url})
        if len(urls) > self.max_urls:
            stored = self.get_pushed()
            urls = [url for url in urls if url not in stored] + [url for url in urls if url in stored]
            urls = urls[: self.max_urls]

        def store() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(name)
            if urls:
                pipe.sadd(name, *urls)
                pipe.expire(name, self.ttl)
            return pipe.execute()

        self._guard.call("connector DEL/SADD/EXPIRE", store)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
