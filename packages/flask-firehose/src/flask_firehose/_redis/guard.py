"""The guard every call into Redis goes through: a deadline over the whole
call, and a circuit breaker that stops calling a Redis that just failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import redis

from .deadline import arm, within

__all__ = ["UNREACHABLE", "Guard", "RedisUnavailableError"]

T = TypeVar("T")

# Errors that say Redis cannot serve the call now (unreachable, too slow, a
# cluster without a master for the slot, a replica not yet promoted): they
# open the breaker. redis-py wraps socket errors in its own ConnectionError
# and TimeoutError; OSError covers a client that lets one through.
UNREACHABLE: Final = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.RedisClusterException,
    OSError,
)


class RedisUnavailableError(redis.exceptions.ConnectionError):
    """Redis failed recently: the call was not attempted (the circuit is open)."""


class Guard:
    """Runs calls into *client*, each within *timeout* seconds, behind a
    thread-safe circuit breaker.

    Every socket operation of a call ends by the call's deadline (see
    :mod:`.deadline`). Closed, every call goes through. A call failing to
    reach Redis opens it: for *retry_after* seconds every call raises
    :class:`RedisUnavailableError` at once. The first call after that is let
    through as a probe (the others still fail fast); its success closes the
    breaker, its failure opens it again.
    """

    def __init__(
        self, client: Any, timeout: float, retry_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._cause = ""
        arm(client)

    @property
    def is_open(self) -> bool:
        """Whether calls fail fast right now."""
        with self._lock:
            return self._open_until is not None and self._clock() < self._open_until

    def call(self, what: str, func: Callable[[], T]) -> T:
        """*func*'s result, or its error; :class:`RedisUnavailableError` while open."""
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
            with within(self.timeout):
                arm(self.client)  # a cluster may have grown a node since
                result = func()
        except UNREACHABLE as exc:
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
