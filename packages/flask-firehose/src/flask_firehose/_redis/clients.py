"""The client a backend talks through: one it is given, or one built for a URL."""

from __future__ import annotations

from typing import TypeAlias

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from .._links import safe_repr

__all__ = ["Client", "check_positive", "make_client", "slot_prefix"]

#: A plain (or Sentinel-managed) client, or a cluster client.
Client: TypeAlias = "redis.Redis | RedisCluster"


def make_client(client: Client | None, url: str | None, timeout: float) -> Client:
    """*client* checked, or a plain client for *url* that connects and
    answers within *timeout* and never retries (the breaker decides when to
    try again)."""
    if (client is None) == (url is None):
        raise TypeError("pass either a redis.Redis client or url=..., not both and not neither")
    if client is not None:
        if not isinstance(client, (redis.Redis, RedisCluster)):
            raise TypeError(
                f"redis must be a redis.Redis or redis.cluster.RedisCluster client, not {safe_repr(client)}"
            )
        return client
    if not isinstance(url, str):
        raise TypeError(f"url must be a str such as 'redis://127.0.0.1:6379/0', not {safe_repr(url)}")
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


def check_positive(**values: float) -> None:
    """Each value a positive number, else ``ValueError`` naming it."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number, not {safe_repr(value)}")


def slot_prefix(prefix: str) -> str:
    """The start of a store's keys, holding one Redis Cluster hash tag.

    Every key a store writes starts with it, so all of them share one hash
    slot, whatever follows (an endpoint name never picks a slot). A *prefix*
    with no brace is made the tag whole (``app:`` gives ``{app:}``); one with
    braces must hold a non-empty tag itself (``firehose:{hints}:``).
    """
    if "{" not in prefix and "}" not in prefix:
        return "{" + prefix + "}"
    start = prefix.find("{")
    end = prefix.find("}", start + 1) if start >= 0 else -1
    if end < 0 or end == start + 1:
        raise ValueError(
            f"prefix {prefix!r} must hold one non-empty hash tag such as 'firehose:{{hints}}:', or no brace"
        )
    return prefix
