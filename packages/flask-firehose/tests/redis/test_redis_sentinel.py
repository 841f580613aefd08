"""The Redis backends behind Sentinel: a master, a replica, one Sentinel
(three ``redis-server`` processes on free ports). The master is killed:
calls fail fast while the Sentinel promotes the replica, then succeed
against it, with no restart of the app's client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from flask_firehose import Link
from flask_firehose._redis import RedisConnector, RedisHintStore

from ..redis_server import RedisServer, require_redis_server

pytestmark = pytest.mark.integration

SERVICE = "firehose"
SLACK = 0.25


@dataclass
class Watched:
    master: RedisServer
    replica: RedisServer
    sentinel: RedisServer

    def client(self, timeout: float) -> redis.Redis:
        sentinel: Any = Sentinel([("127.0.0.1", self.sentinel.port)], socket_timeout=timeout)  # type: ignore[no-untyped-call]
        client: redis.Redis = sentinel.master_for(
            SERVICE, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        return client


def _master_port(client: redis.Redis) -> int:
    pool: Any = client.connection_pool  # a SentinelConnectionPool
    return int(pool.get_master_address()[1])


def _wait(what: str, check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except redis.exceptions.RedisError:
            pass
        assert time.monotonic() < deadline, f"{what}: not within {seconds}s"
        time.sleep(0.05)


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    binary = require_redis_server()
    master = RedisServer(binary, tmp_path / "master.log")
    replica = RedisServer(binary, tmp_path / "replica.log", args=["--replicaof", "127.0.0.1", str(master.port)])
    home = tmp_path / "sentinel"
    home.mkdir()
    sentinel = RedisServer(
        binary,
        home / "sentinel.log",
        args=["--sentinel"],
        cwd=home,
        config=(
            f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 400\n"
            f"sentinel failover-timeout {SERVICE} 2000\n"
        ),
    )
    try:
        for server in (master, replica, sentinel):
            server.start()
        with redis.Redis(port=master.port) as raw, redis.Redis(port=sentinel.port) as watcher:
            _wait("the replica in sync", lambda: raw.info("replication")["connected_slaves"] == 1)
            _wait("the Sentinel knowing the replica", lambda: len(watcher.sentinel_slaves(SERVICE)) == 1)
        yield Watched(master, replica, sentinel)
    finally:
        for server in (sentinel, replica, master):
            server.stop()


def _timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_failover_fails_fast_then_the_promoted_replica_serves(watched: Watched) -> None:
    timeout, retry_after = 0.3, 0.2
    client = watched.client(timeout)
    store = RedisHintStore(client, min_seen=1, reuse=0, timeout=timeout, retry_after=retry_after)
    connector = RedisConnector(lambda: "user:1", client, timeout=timeout, retry_after=retry_after)
    link = Link("/static/app.css", as_="style")
    try:
        store.observe("shop example.test index", [link])
        connector.set_pushed({"/static/app.css"})
        assert store.learned("shop example.test index") == [link]
        assert _master_port(client) == watched.master.port

        watched.master.kill()
        failures = 0
        deadline = time.monotonic() + 20
        while True:
            elapsed, exc = _timed(lambda: store.observe("shop example.test index", [link]))
            assert elapsed < timeout + SLACK, f"a call took {elapsed:.3f}s during the failover"
            if exc is None:
                break
            assert isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)), exc
            failures += 1
            assert time.monotonic() < deadline, f"still failing after the failover: {exc!r}"
            time.sleep(0.02)
        assert failures >= 1  # the master was gone for a while
        assert _master_port(client) == watched.replica.port  # promoted
        assert store.learned("shop example.test index") == [link]
        connector.set_pushed({"/static/app.js"})
        assert connector.get_pushed() == {"/static/app.js"}
    finally:
        store.close()
