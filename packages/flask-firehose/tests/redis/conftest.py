"""What the Redis tests share besides the package's fixtures: a plain client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from ..redis_server import RedisServer


@pytest.fixture
def raw(server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client to look at (and tamper with) what the backends wrote."""
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()
