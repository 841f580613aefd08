"""The URLs pushed to each client, in Redis: the 0.2.3 connector protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._links import safe_repr
from .clients import Client, check_positive, make_client
from .guard import Guard

__all__ = ["RedisConnector"]


class RedisConnector:
    """The 0.2.3 connector protocol over Redis: the URLs pushed to each client
    in a Redis set, so every worker and host knows what a client was pushed.

    ``Firehose(app, connector=RedisConnector(lambda: f"user:{current_user.id}", url=...))``

    Each call touches one key (the client's set), so it runs on a Redis
    Cluster as on one server, and gives up *timeout* seconds after its first
    socket operation, whatever the server does (see :class:`RedisHintStore`).

    :param key: called once per ``get_pushed()``/``set_pushed()`` inside the
        request; returns the current client's key (its set is stored under
        *prefix* + key), or ``None`` to track nothing for this request.
    :param redis: a ``redis.Redis``, Sentinel or ``redis.cluster.RedisCluster``
        client (see :class:`RedisHintStore`).
    :param url: instead of *redis*, a Redis URL.
    :param prefix: the start of every key this connector writes, so that a
        client's key (``user:42``) never touches the app's own data.
    :param ttl: seconds a client's set lives after its last change.
    :param max_urls: the most URLs kept per client.
    :param timeout: seconds a call may take once it touches the network.
    :param retry_after: seconds calls fail fast after Redis failed.
    """

    def __init__(
        self,
        key: Callable[[], str | None],
        redis: Client | None = None,
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
        check_positive(timeout=timeout, retry_after=retry_after)
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a str, not {safe_repr(prefix)}")
        self.key = key
        self.client = make_client(redis, url, timeout)
        self.prefix = prefix
        self.ttl = ttl
        self.max_urls = max_urls
        self.timeout = timeout
        self._guard = Guard(self.client, timeout, retry_after)

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
        return self._guard.call("connector SRANDMEMBER", lambda: self._members(name))

    def _members(self, name: str) -> set[str]:
        members = self.client.srandmember(name, self.max_urls)
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
        just pushed them), then the others in sorted order. Reading what is
        stored and writing count as one call, within one *timeout*."""
        name = self._name()
        if name is None:
            return
        urls = sorted({str.__str__(url) for url in inset if isinstance(url, str) and url})

        def store() -> list[Any]:
            kept = urls
            if len(kept) > self.max_urls:
                stored = self._members(name)
                kept = [url for url in kept if url not in stored] + [url for url in kept if url in stored]
                kept = kept[: self.max_urls]
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(name)
            if kept:
                pipe.sadd(name, *kept)
                pipe.expire(name, self.ttl)
            result: list[Any] = pipe.execute()
            return result

        self._guard.call("connector DEL/SADD/EXPIRE", store)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
