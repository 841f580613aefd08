"""Learned hints and pushed URLs kept in Redis, shared by every worker and host.

* :class:`RedisHintStore` (``store.py``), a :class:`~flask_firehose.HintStore`
  with the semantics of :class:`~flask_firehose.MemoryHintStore`, whose
  counting runs atomically inside Redis in one Lua script (``observe.lua``),
  so that any number of processes can learn together;
* :class:`RedisConnector` (``connector.py``), the 0.2.3 connector protocol
  (``get_pushed()``/``set_pushed()``) over one Redis set per client;
* :class:`RedisLcpStore` (``lcp_store.py``), visitors' LCP samples, each
  report kept atomically by one Lua script (``lcp_record.lua``);
* what they all use: the client, given or built for a URL (``clients.py``), a
  deadline over each whole call (``deadline.py``), and the guard that runs
  every call within it behind a circuit breaker (``guard.py``).

It owns no policy: what may be learned, and what a failure does to the
response, are decided by :class:`~flask_firehose._learning.Learner` and the
failure policy (:mod:`flask_firehose._failure`), which wrap every call made
here. Stored data is never trusted (``values.py``).

Needs redis-py (``pip install redis``). Plain clients, Sentinel clients and
``redis.cluster.RedisCluster`` are accepted; Valkey speaks the same protocol.
"""

from __future__ import annotations

from .connector import RedisConnector
from .guard import RedisUnavailableError
from .lcp_store import RedisLcpStore
from .store import RedisHintStore
from .values import link_from_json, link_to_json

__all__ = [
    "RedisConnector",
    "RedisHintStore",
    "RedisLcpStore",
    "RedisUnavailableError",
    "link_from_json",
    "link_to_json",
]
