"""Learned hints in Redis, shared by every worker and host."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

import redis

from .._hint_store import keyed_links
from .._links import Link, safe_repr
from .._memo import IdentityMemo, Memo
from .clients import Client, check_positive, make_client, slot_prefix
from .guard import Guard
from .values import link_from_json, link_to_json, reply_text

__all__ = ["RedisHintStore"]

#: A stored endpoint state larger than this was not written by this module.
_MAX_STATE_BYTES: Final = 1 << 20

_OBSERVE: Final = files(__package__ or __name__).joinpath("observe.lua").read_text(encoding="utf-8")
_OBSERVE_SHA: Final = hashlib.sha1(_OBSERVE.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Sending:
    """What one response's links send to the observe script (:func:`keyed_links`)."""

    sent: tuple[tuple[str, str], ...]
    """Each link's counting key and target: what the quiet test compares."""
    args: tuple[str | int, ...]
    """The script's arguments per link: key, target, priority, link JSON."""
    distinct: int
    """How many counting keys (the links the endpoint keeps if these were all)."""
    targets: frozenset[str]
    """The links' targets."""


class RedisHintStore:
    """Learned hints in Redis, shared by every worker and host that uses the
    same server (or cluster) and *prefix*.

    Learning works as in :class:`~flask_firehose.MemoryHintStore`;
    each :meth:`observe` is one atomic Lua script (one round trip; two right
    after Redis restarted, to load the script again), each :meth:`learned`
    one ``HGET``. The store keeps two keys, a hash of every endpoint's state
    (:attr:`state_key`) and a sorted set of the endpoints (:attr:`index_key`),
    both in one hash slot, so it runs on a Redis Cluster as on one server.
    The learner's keys (app, site and endpoint) are opaque strings here:
    hash fields and set members, never part of a Redis key's name, so no
    brace or space in them can pick a slot; :meth:`endpoints` gives them back
    exactly. An endpoint not observed for *ttl* seconds is forgotten at the next
    observation, both keys expire *ttl* seconds after the last one, and at
    most *max_endpoints* endpoints are kept (the least recently observed go
    first), so the store stays bounded.

    Each call gives up *timeout* seconds after its first socket operation,
    however the server answers: a deadline over the whole call (connecting,
    the handshake and every read and write), not one per read. The margin
    is local work: what redis-py does before it touches the network
    (building a connection object, which takes milliseconds the first time
    in a process) and parsing what already arrived. The connection is then
    closed, never reused with half a reply in it. The failure policy logs
    the error and the page goes on without learned hints; for *retry_after*
    seconds after that, calls fail at once, then one tries again. Inside a
    call a connection never retries (a retry's backoff would sleep past the
    deadline). A ``RedisCluster`` retries a call as it is configured to; on
    a ``CLUSTERDOWN`` answer redis-py sleeps 0.25 s before each try, so give
    it ``retry=Retry(NoBackoff(), 0)`` or one retry.

    :param redis: a ``redis.Redis`` client, one from
        ``redis.sentinel.Sentinel(...).master_for(...)``, or a
        ``redis.cluster.RedisCluster``. Its connections are made to keep each
        call's deadline; for the app's own calls they behave as before.
    :param url: instead of *redis*, a Redis URL for one server; the client
        built for it does not retry.
    :param prefix: the start of every key this store writes. It is the
        keys' hash tag: a prefix without braces is wrapped in them whole
        (``app:`` gives ``{app:}learned``); one with braces must hold a
        non-empty tag (``firehose:{hints}:``).
    :param min_seen: responses a link must appear in to be learned.
    :param window: responses of its endpoint after which an unseen link is forgotten.
    :param max_endpoints: endpoints remembered.
    :param max_links: links remembered per endpoint.
    :param ttl: seconds an endpoint's state lives after its last observation.
    :param timeout: seconds a call may take once it touches the network.
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
        redis: Client | None = None,
        *,
        url: str | None = None,
        prefix: str = "firehose:{hints}:",
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
        check_positive(timeout=timeout, retry_after=retry_after)
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, not {safe_repr(prefix)}")
        start = slot_prefix(prefix)
        self.client = make_client(redis, url, timeout)
        self.prefix = prefix
        self.min_seen = min_seen
        self.window = window
        self.max_endpoints = max_endpoints
        self.max_links = max_links
        self.ttl = ttl
        self.timeout = timeout
        self.retry_after = retry_after
        self._guard = Guard(self.client, timeout, retry_after)
        self.reuse = float(reuse)
        # key -> (until, the links read); key -> (until if found steady, what was sent last, its links)
        self._reads: Memo[str, tuple[float, tuple[Link, ...]]] = Memo(max_endpoints)
        self._quiet: Memo[str, tuple[float, tuple[tuple[str, str], ...], tuple[Link, ...]]] = Memo(max_endpoints)
        # By the links' identities: what they send (the same for every key).
        self._sendings: IdentityMemo[_Sending] = IdentityMemo(256)
        #: The hash holding every endpoint's state (field: the endpoint).
        self.state_key = f"{start}learned"
        #: The sorted set of endpoints, least recently observed first.
        self.index_key = f"{start}endpoints"

    def __repr__(self) -> str:
        return f"RedisHintStore(prefix={self.prefix!r}, min_seen={self.min_seen})"

    def learned(self, key: str) -> list[Link]:
        """The links seen in at least ``min_seen`` of the recent responses
        counted under *key* (the learner's: app, site and endpoint), in the
        order they were first seen. Stored entries that do not make a valid
        :class:`Link` are skipped."""
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {safe_repr(key)}")
        if self.reuse:
            read = self._reads.get(key)
            if read is not None and time.monotonic() < read[0]:
                return list(read[1])
        found = self._read_learned(key)
        if self.reuse:
            self._reads.put(key, (time.monotonic() + self.reuse, tuple(found)))
        return found

    def _read_learned(self, key: str) -> list[Link]:
        raw = reply_text(self._guard.call("hint store HGET", lambda: self._get(key)), "HGET")
        if raw is None or len(raw) > _MAX_STATE_BYTES:
            return []
        try:
            state = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
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
            return self.client.hget(self.state_key, key)
        except redis.exceptions.ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):  # not written by this store: nothing learned
                return None
            raise

    def observe(self, key: str, links: Sequence[Link]) -> None:
        """Count one response, under *key*, holding *links*, atomically."""
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {safe_repr(key)}")
        given = links if type(links) is tuple else tuple(links)
        sending = None
        if self.reuse:
            quiet = self._quiet.get(key)
            if quiet is not None and time.monotonic() < quiet[0]:
                # Equal links send the same: compared first, before working out what these send.
                if quiet[2] == given:
                    return  # the same links as a steady page's last response: nothing to count
                sending = self._sending(given)
                if quiet[1] == sending.sent:
                    return
        if sending is None:
            sending = self._sending(given)
        # The arguments are built inside the guard: a breaker that is open refuses before any work.
        live = self._guard.call(
            "hint store observe script",
            lambda: self._run([key, self.window, self.max_links, self.max_endpoints, self.ttl, *sending.args]),
        )
        if not self.reuse:
            return
        # Steady: what this process read before the response was learned,
        # and the response held exactly those links, the only live ones.
        read = self._reads.get(key)
        self._reads.put(key, (0.0, ()))  # read again next time: this process sees its own counts
        steady = (
            read is not None
            and time.monotonic() < read[0]
            and live == sending.distinct == len(read[1])
            and {link.target for link in read[1]} == sending.targets
        )
        # Only the last response sent counts: any other one ends a quiet spell.
        self._quiet.put(key, (time.monotonic() + self.reuse if steady else 0.0, sending.sent, given))

    def _sending(self, links: tuple[Link, ...]) -> _Sending:
        """What a response holding *links* sends to the script, worked out
        once for these very links (a page hands over the same ones on every
        response); nothing in it names the key they are counted under."""
        found = self._sendings.get(links)
        if found is None:
            keyed = keyed_links(links, self.max_links)
            found = _Sending(
                tuple((asset, link.target) for asset, link in keyed),
                tuple(
                    value for asset, link in keyed for value in (asset, link.target, link.priority, link_to_json(link))
                ),
                len({asset for asset, _ in keyed}),
                frozenset(link.target for _, link in keyed),
            )
            self._sendings.put(links, found)
        return found

    def _run(self, args: list[str | int]) -> int:
        """Run the observe script; its answer: how many links the endpoint keeps."""
        keys = (self.state_key, self.index_key)
        try:
            answer = self.client.evalsha(_OBSERVE_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            answer = self.client.eval(_OBSERVE, len(keys), *keys, *args)
        if type(answer) is not int:
            raise TypeError(f"Redis answered the observe script with {safe_repr(answer)}, not an integer")
        return answer

    def endpoints(self) -> list[str]:
        """The endpoints with state, least recently observed first, each
        exactly as :meth:`observe` was given it (for inspection)."""
        names = self._guard.call("hint store ZRANGE", lambda: self.client.zrange(self.index_key, 0, -1))
        if not isinstance(names, list):
            raise TypeError(f"Redis answered ZRANGE with {safe_repr(names)}, not a list")
        return [text for name in names if (text := reply_text(name, "ZRANGE")) is not None]

    def clear(self) -> None:
        """Forget everything this store learned (both of its keys, one command)."""
        self._guard.call("hint store DEL", lambda: self.client.delete(self.state_key, self.index_key))
        self._reads = Memo(self.max_endpoints)
        self._quiet = Memo(self.max_endpoints)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
