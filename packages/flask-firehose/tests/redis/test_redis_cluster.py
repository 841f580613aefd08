"""The Redis backends on a real Redis Cluster of three ``redis-server`` nodes.

The cluster has three masters and no replica (three processes, a few MB
each): what a node's death does is then certain (its slots are down until
it is back), and it comes back by being started again on the same port with
the same ``nodes.conf``. A replica taking over is what the Sentinel tests
exercise. ``cluster-require-full-coverage no`` keeps the other nodes'
slots serving while one node is down, as managed offerings do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from flask_firehose import Link
from flask_firehose._redis import RedisConnector, RedisHintStore
from flask_firehose._redis.store import _OBSERVE

from ..redis_server import RedisServer, free_cluster_port, require_redis_server
from .learning_pages import learning_app, visit

pytestmark = pytest.mark.integration

NODES = 3
SLACK = 0.25


def require_redis_cli() -> str:
    """``redis-cli`` (Debian ``redis-tools``); missing: a failure under CI, else a skip."""
    path = shutil.which("redis-cli")
    if path:
        return path
    message = "redis-cli is missing: install the Debian package 'redis-tools'"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Cluster:
    nodes: list[RedisServer]

    def client(self) -> RedisCluster:
        return RedisCluster(
            host="127.0.0.1",
            port=self.nodes[0].port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 1),
        )

    def node_for(self, client: RedisCluster, key: str) -> RedisServer:
        untyped: Any = client
        port = untyped.get_node_from_key(key).port
        return next(node for node in self.nodes if node.port == port)

    def wait_ok(self, seconds: float = 15) -> None:
        """Until every running node says ``cluster_state:ok`` and serves all slots."""
        deadline = time.monotonic() + seconds
        while True:
            states = []
            for node in self.nodes:
                if node.process is None:
                    continue
                try:
                    with redis.Redis(port=node.port, socket_timeout=1) as raw:
                        info = raw.execute_command("CLUSTER", "INFO")
                except redis.exceptions.RedisError:
                    states.append(False)
                    continue
                text = info.decode() if isinstance(info, bytes) else str(info)
                states.append("cluster_state:ok" in text and "cluster_slots_ok:16384" in text)
            if states and all(states):
                return
            assert time.monotonic() < deadline, f"the cluster is not ok after {seconds}s: {states}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def running_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    binary, cli = require_redis_server(), require_redis_cli()
    tmp_path = tmp_path_factory.mktemp("cluster")
    nodes = []
    try:
        for n in range(NODES):
            home = tmp_path / f"node{n}"
            home.mkdir()
            node = RedisServer(
                binary,
                home / "redis.log",
                port=free_cluster_port(),
                args=[
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "1000",
                    "--cluster-require-full-coverage", "no",
                    "--dir", str(home),
                    "--maxmemory", "32mb",
                ],
                cwd=home,
            )  # fmt: skip
            nodes.append(node)
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        running = Cluster(nodes)
        running.wait_ok()
        yield running
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def cluster(running_cluster: Cluster) -> Cluster:
    """The module's cluster, every node running and empty."""
    for node in running_cluster.nodes:
        if node.process is None:
            node.start()
    running_cluster.wait_ok()
    for node in running_cluster.nodes:
        with redis.Redis(port=node.port, socket_timeout=2) as raw:
            raw.flushall()
    return running_cluster


def test_observe_declares_every_key_it_touches() -> None:
    """Each command the script runs on a key names one of its KEYS: nothing undeclared."""
    calls = re.findall(r"redis\.p?call\('(\w+)'(?:, ([^,)]+))?", _OBSERVE)
    assert len(calls) > 10
    for command, first in calls:
        if command == "TIME":
            continue
        assert re.fullmatch(r"KEYS\[\w+\]", first), (command, first)


def test_every_key_of_a_store_shares_one_slot(cluster: Cluster) -> None:
    client = cluster.client()
    untyped: Any = client
    try:
        for prefix in ["firehose:{hints}:", "app:", "a}b{c}:", "{x}", "shop {eu}:"]:
            store = RedisHintStore(client, prefix=prefix)
            assert untyped.keyslot(store.state_key) == untyped.keyslot(store.index_key), prefix
        for prefix in ["a{", "{}x", "a{}b{c}", "x}{"]:
            with pytest.raises(ValueError, match="hash tag"):
                RedisHintStore(client, prefix=prefix)
    finally:
        client.close()


def test_learning_on_a_cluster_with_hostile_keys(cluster: Cluster) -> None:
    """Keys as the learner builds them (app, site, endpoint), with braces,
    spaces and non-ASCII text: they never pick a slot, and come back as given."""
    client = cluster.client()
    store = RedisHintStore(client, min_seen=1, reuse=0, timeout=0.5)
    keys = ["shop example.test index", "a%7Bb%7D {x}.test:8080 page {y}", "app 127.0.0.1:8443/app ünï cödé", "}{ }{ }{"]
    try:
        for n, key in enumerate(keys):
            store.observe(key, [Link(f"/static/{n}.css", as_="style")])
        for n, key in enumerate(keys):
            assert store.learned(key) == [Link(f"/static/{n}.css", as_="style")]
        assert store.endpoints() == keys
        store.clear()
        assert store.endpoints() == [] and store.learned(keys[0]) == []
    finally:
        store.close()


LEARNED = [["/static/app.css", "/static/app.js"]]


def _until_learned(app: Flask, seconds: float) -> int:
    """Visit until the page's 103 holds the learned links; return how many visits."""
    deadline = time.monotonic() + seconds
    n = 0
    while True:
        status, hints, _ = visit(app, n)
        assert status == 200
        if hints == LEARNED:
            return n
        assert time.monotonic() < deadline, f"not learned within {seconds}s"
        n += 1
        time.sleep(0.02)


def test_a_node_killed_mid_run(cluster: Cluster) -> None:
    """A Flask app learning on the cluster. Another node dies: learning goes
    on. The node holding the store's slot dies: every page still answers
    200, in bounded time, without learned hints. It is started again on its
    port with its nodes.conf: learning resumes by itself."""
    timeout, retry_after = 0.3, 0.3
    client = cluster.client()
    store = RedisHintStore(client, min_seen=2, reuse=0, timeout=timeout, retry_after=retry_after)
    app = learning_app(store, "clustered")
    try:
        assert _until_learned(app, 10) >= 2  # learned from responses, through the cluster
        owner = cluster.node_for(client, store.state_key)
        bystander = next(node for node in cluster.nodes if node is not owner)

        bystander.kill()
        for n in range(20):
            status, hints, _ = visit(app, 100 + n)
            assert (status, hints) == (200, LEARNED)

        owner.kill()
        results = [visit(app, 200 + n) for n in range(40)]
        assert {status for status, _, _ in results} == {200}
        assert all(hints == [] for _, hints, _ in results[1:])  # nothing learned is reachable
        assert max(elapsed for _, _, elapsed in results) < 2 * timeout + 0.5

        owner.start()
        bystander.start()
        cluster.wait_ok()
        _until_learned(app, retry_after + 10)  # from scratch: nothing was persisted
    finally:
        store.close()


def test_connector_on_a_cluster(cluster: Cluster) -> None:
    client = cluster.client()
    users = iter(["user:1", "user:{2}", "{}", "user:3 {x}"])
    current = {"key": ""}
    connector = RedisConnector(lambda: current["key"], client, timeout=0.5)
    try:
        for user in users:
            current["key"] = user
            connector.set_pushed({f"/static/{user}.css", "/static/app.js"})
            assert connector.get_pushed() == {f"/static/{user}.css", "/static/app.js"}
        connector.set_pushed(set())
        assert connector.get_pushed() == set()
    finally:
        connector.close()
