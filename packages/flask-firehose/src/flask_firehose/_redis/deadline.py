"""A deadline over a whole call into Redis, not one per read.

redis-py bounds each ``recv`` by ``socket_timeout``: a peer that sends one
byte just before each read would time out keeps a call alive for as long as
it likes. Here every socket operation made while :func:`within` is active
waits at most until the call's deadline, *seconds* after its first socket
operation (and never longer than the socket's own timeout), and one made
after it fails at once with ``socket.timeout``.
redis-py turns that into its ``TimeoutError`` and disconnects the
connection, so a reply read halfway is never read by the next command.

The bound is installed on a client's connection pools (:func:`arm`): their
connection class becomes a subclass of the one they had, whose sockets
consult the deadline; outside :func:`within` they behave as before. Plain
clients, Sentinel clients and every node of a ``RedisCluster`` are armed.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.connection import AbstractConnection
from redis.retry import Retry

__all__ = ["arm", "remaining", "within"]


class _Budget:
    """A call's time: *seconds* from its first socket operation."""

    __slots__ = ("deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline: float | None = None


_budget: ContextVar[_Budget | None] = ContextVar("flask_firehose_redis_budget", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Calls into Redis inside the block end within *seconds* of the block's
    first socket operation (connecting, sending or reading).

    The clock starts there, not on entering the block: what redis-py does
    before it touches the network (building a connection object, reading
    its own version the first time) is the process's work, not the peer's,
    and takes tens of milliseconds the first time on a loaded machine.
    A block inside another keeps the outer one's time."""
    if _budget.get() is not None:
        yield
        return
    token = _budget.set(_Budget(seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def remaining() -> float | None:
    """Seconds left before the current call's deadline (``None``: no deadline).

    The first question in a :func:`within` block starts its clock.

    :raises TimeoutError: (``socket.timeout``) when the deadline has passed.
    """
    budget = _budget.get()
    if budget is None:
        return None
    now = time.monotonic()
    if budget.deadline is None:
        budget.deadline = now + budget.seconds
    left = budget.deadline - now
    if left <= 0:
        raise TimeoutError("the call's deadline passed")
    return left


class _DeadlineSocket:
    """A connected socket whose reads and writes end by the call's deadline.

    Anything else is the socket's own (``fileno``, ``shutdown``, ...)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._own: float | None = sock.gettimeout()
        self._shortened = False

    def _bound(self) -> None:
        left = remaining()
        if left is None:
            if self._shortened:  # a call outside any deadline: the socket's own timeout
                self._sock.settimeout(self._own)
                self._shortened = False
            return
        if self._own == 0:
            return  # a poll (redis-py checks for pending data): it never waits
        self._sock.settimeout(left if self._own is None else min(self._own, left))
        self._shortened = True

    def settimeout(self, value: float | None) -> None:
        self._own = value
        self._shortened = False
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._own

    def recv(self, *args: Any) -> Any:
        self._bound()
        return self._sock.recv(*args)

    def recv_into(self, *args: Any) -> Any:
        self._bound()
        return self._sock.recv_into(*args)

    def send(self, *args: Any) -> Any:
        self._bound()
        return self._sock.send(*args)

    def sendall(self, *args: Any) -> Any:
        self._bound()
        return self._sock.sendall(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Once:
    """A connection's retry policy, tried once: same errors, no retry, no sleep.

    Anything else (``update_supported_errors``, ...) is the policy's own."""

    __slots__ = ("_policy",)

    def __init__(self, policy: Any) -> None:
        self._policy = policy

    def call_with_retry(self, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
        errors = getattr(self._policy, "_supported_errors", (redis.exceptions.ConnectionError,))
        return Retry(NoBackoff(), 0, supported_errors=errors).call_with_retry(do, fail, *args, **kwargs)

    def get_retries(self) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)


class _DeadlineConnection:
    """Mixed in before a redis-py connection class: its socket is a
    :class:`_DeadlineSocket`, connecting waits at most until the deadline,
    and within a deadline it never retries (a retry's backoff sleeps, which
    no socket timeout can cut short; the breaker decides when to try again).
    """

    socket_connect_timeout: float | None
    socket_timeout: float | None
    _sock: Any

    @property
    def retry(self) -> Any:
        found = self.__dict__
        own = found["_firehose_retry"] if "_firehose_retry" in found else found.get("retry")
        if _budget.get() is not None:
            return _Once(own)
        return own

    @retry.setter
    def retry(self, value: Any) -> None:
        self.__dict__["_firehose_retry"] = value

    def _connect(self) -> Any:
        left = remaining()
        own_connect, own = self.socket_connect_timeout, self.socket_timeout
        if left is not None:  # connecting, and a TLS handshake, end by the deadline too
            self.socket_connect_timeout = left if own_connect is None else min(own_connect, left)
            self.socket_timeout = left if own is None else min(own, left)
        try:
            sock = super()._connect()  # type: ignore[misc]
        finally:
            self.socket_connect_timeout, self.socket_timeout = own_connect, own
        sock.settimeout(own)
        return _DeadlineSocket(sock)

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self._sock is not None and not isinstance(self._sock, _DeadlineSocket):
            # Connected before the pool was armed: connect again, bounded.
            self.disconnect()  # type: ignore[attr-defined]
        super().send_packed_command(command, check_health)  # type: ignore[misc]


_classes: weakref.WeakValueDictionary[type, type] = weakref.WeakValueDictionary()
_armed: weakref.WeakSet[Any] = weakref.WeakSet()


def _deadline_class(base: type) -> type:
    if issubclass(base, _DeadlineConnection):
        return base
    made = _classes.get(base)
    if made is None:
        made = type(f"Deadline{base.__name__}", (_DeadlineConnection, base), {"__module__": __name__})
        _classes[base] = made
    return made


def _arm_pool(pool: Any) -> None:
    if pool is None or pool in _armed:
        return
    base = getattr(pool, "connection_class", None)
    if not isinstance(base, type) or not issubclass(base, AbstractConnection):
        return  # not a pool of redis-py connections: left as it is
    pool.connection_class = _deadline_class(base)
    existing: list[Any] = []
    for method in ("_get_free_connections", "_get_in_use_connections"):
        found = getattr(pool, method, None)
        if callable(found):
            existing += list(found())
    for connection in existing:
        if isinstance(connection, AbstractConnection) and not isinstance(connection, _DeadlineConnection):
            connection.__class__ = _deadline_class(type(connection))
    _armed.add(pool)


def arm(client: Any) -> None:
    """Make *client*'s connections keep the deadline of :func:`within`.

    Cheap when done already: a ``RedisCluster`` is armed again before each
    call, since it adds a client per node as the cluster changes."""
    if isinstance(client, redis.RedisCluster):
        for node in list(client.nodes_manager.nodes_cache.values()):
            node_client = getattr(node, "redis_connection", None)
            if node_client is not None:
                _arm_pool(node_client.connection_pool)
        return
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool in _armed:
        return
    _arm_pool(pool)
    manager = getattr(pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):  # the Sentinels asked where the master is
        _arm_pool(getattr(sentinel, "connection_pool", None))
