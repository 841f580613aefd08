"""RedisLcpStore against a real redis-server on 127.0.0.1 (and a real cluster).

The scenarios both LCP stores share run against the memory store too, so the
two keep the same semantics. Each test starts its own server on a free port
(no persistence) and stops it by PID; the outage tests kill, freeze and
restart it on the same port.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from flask_firehose._lcp.store import LcpStore, MemoryLcpStore
from flask_firehose._redis import RedisLcpStore, RedisUnavailableError
from flask_firehose._redis.lcp_store import _RECORD

from ..redis_server import RedisServer
from .test_redis_cluster import Cluster, cluster, running_cluster  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration

SLACK = 0.15

StoreFactory = Callable[..., LcpStore]


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_store(server: RedisServer, closing: Callable[[Any], Any]) -> Callable[..., RedisLcpStore]:
    def factory(**params: Any) -> RedisLcpStore:
        params.setdefault("timeout", 1.0)
        store: RedisLcpStore = closing(RedisLcpStore(url=server.url, **params))
        return store

    return factory


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Both stores, so each scenario checks they keep samples alike."""
    if request.param == "memory":
        return MemoryLcpStore
    factory: StoreFactory = request.getfixturevalue("redis_store")
    return factory


def _ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"id{n}"


# What both stores do.


def test_samples_per_class_oldest_first(make_store: StoreFactory) -> None:
    store = make_store()
    assert isinstance(store, LcpStore)
    ids = _ids()
    assert store.samples("page") == {}
    assert store.record("page", next(ids), "a", 0, "/static/hero-small.jpg")
    assert store.record("page", next(ids), "b", 0, "/static/hero-small.jpg")
    assert store.record("page", next(ids), "a", 3, "/static/hero.jpg")
    assert store.record("page", next(ids), "c", 3, "")
    assert store.record("other", next(ids), "a", 1, "/static/x.png")
    assert store.samples("page") == {
        0: [("a", "/static/hero-small.jpg"), ("b", "/static/hero-small.jpg")],
        3: [("a", "/static/hero.jpg"), ("c", "")],
    }
    assert store.samples("other") == {1: [("a", "/static/x.png")]}


def test_newest_samples_one_per_client(make_store: StoreFactory) -> None:
    store = make_store(samples=3)
    ids = _ids()
    for client in "abcde":
        store.record("page", next(ids), client, 2, f"/{client}.jpg")
    assert store.samples("page") == {2: [("c", "/c.jpg"), ("d", "/d.jpg"), ("e", "/e.jpg")]}
    store.record("page", next(ids), "c", 2, "/c2.jpg")  # c's new sample replaces its old one, as the newest
    assert store.samples("page") == {2: [("d", "/d.jpg"), ("e", "/e.jpg"), ("c", "/c2.jpg")]}
    for _ in range(5):
        store.record("page", next(ids), "d", 2, "/d.jpg")  # one client, many reports: still one sample
    assert store.samples("page") == {2: [("e", "/e.jpg"), ("c", "/c2.jpg"), ("d", "/d.jpg")]}


def test_a_report_id_counts_once(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.record("page", "once", "a", 0, "/a.jpg")
    assert not store.record("page", "once", "b", 0, "/b.jpg")
    assert not store.record("other", "once", "b", 1, "/b.jpg")  # under any key
    assert store.samples("page") == {0: [("a", "/a.jpg")]} and store.samples("other") == {}
    store.forget("page")
    assert store.samples("page") == {}
    assert not store.record("page", "once", "a", 0, "/a.jpg")  # forgetting samples keeps ids used
    assert store.record("page", "twice", "a", 0, "/a.jpg")


def test_samples_older_than_the_ttl_are_gone(make_store: StoreFactory) -> None:
    clock = Clock()
    store = make_store(ttl=100, clock=clock)
    store.record("page", "old", "a", 0, "/a.jpg")
    clock.now += 60
    store.record("page", "new", "b", 0, "/b.jpg")
    assert store.samples("page") == {0: [("a", "/a.jpg"), ("b", "/b.jpg")]}
    clock.now += 40
    assert store.samples("page") == {0: [("b", "/b.jpg")]}
    store.record("page", "newer", "c", 1, "/c.jpg")
    assert store.samples("page") == {0: [("b", "/b.jpg")], 1: [("c", "/c.jpg")]}
    clock.now += 100
    assert store.samples("page") == {}


def test_forget_drops_one_key(make_store: StoreFactory) -> None:
    store = make_store()
    store.record("page", "1", "a", 0, "/a.jpg")
    store.record("other", "2", "a", 0, "/a.jpg")
    store.forget("page")
    store.forget("never seen")
    assert store.samples("page") == {} and store.samples("other") == {0: [("a", "/a.jpg")]}


def test_random_reports_keep_alike(redis_store: Callable[..., RedisLcpStore]) -> None:
    """Hundreds of random reports (replays, clients coming back, a clock
    moving past the ttl): the two stores answer alike after each one."""
    clock = Clock()
    memory = MemoryLcpStore(samples=3, ttl=50, max_keys=256, clock=clock)
    stored = redis_store(samples=3, ttl=50, clock=clock)
    rng = random.Random(19)
    for n in range(400):
        clock.now += rng.choice([0, 1, 5, 20])
        args = (
            rng.choice(["p", "q"]),
            f"id{max(0, n - rng.choice([0, 0, 1, 2]))}",  # a replay, if any, within the ttl
            rng.choice("abcdefg"),
            rng.randrange(4),
            rng.choice(["", "/a.jpg", "/b.jpg"]),
        )
        assert memory.record(*args) == stored.record(*args), (n, args)
        for key in ("p", "q"):
            assert memory.samples(key) == stored.samples(key), (n, key)


# What only Redis does.


def test_concurrent_reports_of_one_id_keep_one(redis_store: Callable[..., RedisLcpStore]) -> None:
    """Four workers report the same 50 ids at once: each id is kept once."""
    workers = [redis_store(samples=4) for _ in range(4)]
    kept: list[list[str]] = [[] for _ in workers]
    ready = threading.Barrier(len(workers))

    def report(n: int) -> None:
        ready.wait()
        for round_ in range(50):
            if workers[n].record("page", f"id{round_}", f"client{n}", 0, f"/{n}.jpg"):
                kept[n].append(f"id{round_}")

    threads = [threading.Thread(target=report, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(ident for ids in kept for ident in ids) == sorted(f"id{n}" for n in range(50))
    winners = {f"client{n}" for n, ids in enumerate(kept) if ids}
    assert {client for client, _ in workers[0].samples("page")[0]} == winners


def test_bounded_after_ten_thousand_reports(redis_store: Callable[..., RedisLcpStore], raw: redis.Redis) -> None:
    """A flood of valid-looking reports (every id new, long URLs, many pages,
    classes and clients): the samples stay within max_keys x classes x samples,
    and every key the store wrote expires."""
    store = redis_store(samples=3, ttl=3600, max_keys=8, max_classes=4)
    rng = random.Random(10_000)
    long_url = "/static/" + "x" * 4088  # the longest a sample holds
    for n in range(10_000):
        assert store.record(f"page{rng.randrange(50)}", f"id{n}", f"client{rng.randrange(500)}", n % 4, long_url)
    assert raw.hlen(store.samples_key) <= 8 and raw.zcard(store.index_key) <= 8
    assert len(store.endpoints()) == raw.zcard(store.index_key)
    for key in store.endpoints():
        found = store.samples(key)
        assert set(found) <= {0, 1, 2, 3} and all(len(kept) <= 3 for kept in found.values())
    used = raw.memory_usage(store.samples_key)
    assert used is not None and used < 8 * 4 * 3 * 4200 + 8192
    names = list(raw.scan_iter(count=1000))
    assert len(names) == 10_002  # the two keys, and one marker per report id
    pipe = raw.pipeline(transaction=False)
    for name in names:
        pipe.ttl(name)
    assert all(3500 < ttl <= 3600 for ttl in pipe.execute())
    assert {name for name in names if b"}id:" not in name} == {store.samples_key.encode(), store.index_key.encode()}


def test_everything_expires_with_the_ttl(redis_store: Callable[..., RedisLcpStore], raw: redis.Redis) -> None:
    store = redis_store(ttl=1)
    assert store.record("page", "id", "a", 0, "/a.jpg")
    assert not store.record("page", "id", "a", 0, "/a.jpg")
    deadline = time.monotonic() + 5
    while raw.dbsize() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert raw.dbsize() == 0 and store.samples("page") == {}
    assert store.record("page", "id", "a", 0, "/a.jpg")  # remembered for the ttl, not longer


def test_least_recently_sampled_keys_go_first(redis_store: Callable[..., RedisLcpStore]) -> None:
    clock = Clock()
    store = redis_store(max_keys=3, clock=clock)
    for n in range(5):
        clock.now += 1
        store.record(f"page{n}", f"id{n}", "a", 0, "/a.jpg")
    assert store.endpoints() == ["page2", "page3", "page4"]
    clock.now += 1
    store.record("page2", "again", "b", 0, "/a.jpg")
    assert store.endpoints() == ["page3", "page4", "page2"]
    store.clear()
    assert store.endpoints() == [] and store.samples("page2") == {}


def test_prefixes_keep_stores_apart(redis_store: Callable[..., RedisLcpStore]) -> None:
    one, two = redis_store(prefix="app1:"), redis_store(prefix="app2:")
    assert one.record("page", "id", "a", 0, "/a.jpg")
    assert two.samples("page") == {}
    assert two.record("page", "id", "a", 0, "/b.jpg")  # each store's ids are its own
    assert one.samples("page") == {0: [("a", "/a.jpg")]}


def test_garbage_under_its_keys_is_dropped(redis_store: Callable[..., RedisLcpStore], raw: redis.Redis) -> None:
    """Values someone else wrote under the store's keys: never raised, never
    handed back, and the next report starts over around them."""
    clock = Clock()
    store = redis_store(ttl=100, max_classes=4, clock=clock)
    key = store.samples_key
    for garbage in [
        b"not json",
        b"[1, 2]",
        b'{"0": "x"}',
        b"\xff\xfe",
        b'{"0": [[1, 2, 3]]}',
        b"x" * (2 << 20),
        b'{"0": ' * 2000,
        b"null",
    ]:
        raw.hset(key, "page", garbage)
        assert store.samples("page") == {}
        assert store.record("page", f"id{len(garbage)}", "a", 0, "/a.jpg")
        assert store.samples("page") == {0: [("a", "/a.jpg")]}
        raw.delete(key)

    now = clock.now * 1000
    good = ["a", "/a.jpg", now]
    forged = {
        "0": [good, ["b", "/b.jpg", now - 200_000], ["c", 5, now], ["d", "/d.jpg", "now"], ["e", "/e.jpg"], "junk"],
        "1": [["f", "/f.jpg", now + 10**12], ["g", "/g.jpg", True], ["h", "/h.jpg", now, "extra"]],
        "2": [["i", "/i.jpg", now], ["i", "/i2.jpg", now], ["j", "x" * 5000, now]],
        "01": [good],
        "9": [good],
        "-1": [good],
        "x": [good],
        "3": "not a list",
    }
    raw.hset(key, "page", json.dumps(forged))
    expected = {0: [("a", "/a.jpg")], 2: [("i", "/i2.jpg")]}
    assert store.samples("page") == expected
    assert store.record("page", "next", "k", 3, "/k.jpg")  # the script copes with them too
    assert store.samples("page") == {**expected, 3: [("k", "/k.jpg")]}
    stored = json.loads(raw.hget(key, "page") or b"")
    assert set(stored) == {"0", "2", "3"}  # what the script kept of the forged state

    raw.delete(key)
    raw.set(key, "a string")  # keys of another type
    raw.set(store.index_key, "not a sorted set")
    assert store.samples("page") == {} and store.endpoints() == []
    store.forget("page")  # nothing of ours to drop: no error
    assert store.record("page", "after", "a", 0, "/a.jpg")
    assert store.samples("page") == {0: [("a", "/a.jpg")]} and store.endpoints() == ["page"]

    raw.hset(store.id_key("planted"), "x", "y")  # a marker's name taken by another type: a replay
    assert not store.record("page", "planted", "b", 0, "/b.jpg")


def test_hostile_keys_ids_and_values_round_trip(redis_store: Callable[..., RedisLcpStore], raw: redis.Redis) -> None:
    store = redis_store()
    keys = ["app {x}.test:8080 page {y}", "}{ }{", "ünï cödé", "", "a\r\nDEL *"]
    for n, key in enumerate(keys):
        assert store.record(key, f"{{id}} \r\n {n} ü", f"client {n} {{c}}", 1, f"/static/ü {n}.jpg")
    for n, key in enumerate(keys):
        assert store.samples(key) == {1: [(f"client {n} {{c}}", f"/static/ü {n}.jpg")]}
    assert sorted(store.endpoints()) == sorted(keys)  # recorded within one millisecond: any order
    names = raw.keys("*")
    assert names and all(isinstance(name, bytes) and name.startswith(b"{firehose:lcp:}") for name in names)


class _Garbage(redis.Redis):
    """A client whose server answers nonsense."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        return {"nonsense": args[0]}


def test_garbage_answers_raise_a_clear_error() -> None:
    store = RedisLcpStore(_Garbage())  # never connects: execute_command is replaced
    with pytest.raises(TypeError, match="Redis answered the LCP record script"):
        store.record("page", "id", "a", 0, "/a.jpg")
    with pytest.raises(TypeError, match="Redis answered HGET"):
        store.samples("page")
    with pytest.raises(TypeError, match="Redis answered ZRANGE"):
        store.endpoints()
    assert not store._guard.is_open  # Redis answered: no outage


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((b"page", "id", "a", 0, "/a.jpg"), TypeError, "key"),
        (("page", None, "a", 0, "/a.jpg"), TypeError, "report_id"),
        (("page", "", "a", 0, "/a.jpg"), ValueError, "report_id"),
        (("page", "id", 1, 0, "/a.jpg"), TypeError, "client"),
        (("page", "id", "a", 0, None), TypeError, "url"),
        (("page", "id", "a" * 4097, 0, "/a.jpg"), ValueError, "client"),
        (("page", "id", "a", 0, "/" + "ü" * 2048), ValueError, "url"),
        (("page", "id", "a", -1, "/a.jpg"), ValueError, "viewport"),
        (("page", "id", "a", 16, "/a.jpg"), ValueError, "viewport"),
        (("page", "id", "a", True, "/a.jpg"), ValueError, "viewport"),
        (("page", "id", "a", 1.0, "/a.jpg"), ValueError, "viewport"),
        (("page\ud800", "id", "a", 0, "/a.jpg"), ValueError, "key must be UTF-8"),
        (("page", "id", "a", 0, "/\udfff.jpg"), ValueError, "url must be UTF-8"),
    ],
)
def test_bad_reports_are_refused(
    redis_store: Callable[..., RedisLcpStore], raw: redis.Redis, args: tuple[Any, ...], error: type, match: str
) -> None:
    store = redis_store()
    with pytest.raises(error, match=match):
        store.record(*args)
    assert raw.dbsize() == 0


def test_arguments_are_checked(server: RedisServer) -> None:
    with pytest.raises(TypeError, match="either"):
        RedisLcpStore()
    with pytest.raises(TypeError, match="either"):
        RedisLcpStore(redis.Redis(), url=server.url)
    with pytest.raises(TypeError, match=r"redis\.Redis"):
        RedisLcpStore("redis://x")  # type: ignore[arg-type]
    bad: list[dict[str, Any]] = [
        {name: value} for name in ("samples", "ttl", "max_keys", "max_classes") for value in (0, -1, 1.5, True, "3")
    ]
    bad += [{"timeout": 0}, {"retry_after": -1.0}]
    for params in bad:
        with pytest.raises(ValueError, match=next(iter(params))):
            RedisLcpStore(url=server.url, **params)
    with pytest.raises(ValueError, match="hash tag"):
        RedisLcpStore(url=server.url, prefix="a{}b")
    with pytest.raises(TypeError, match="clock"):
        RedisLcpStore(url=server.url, clock="now")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        RedisLcpStore(url=server.url).samples(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key"):
        RedisLcpStore(url=server.url).forget("\ud800")


# Outages: every call goes through the guard.


def _timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_stopped_redis_fails_fast_and_recovers(
    server: RedisServer, redis_store: Callable[..., RedisLcpStore]
) -> None:
    timeout, retry_after = 0.3, 0.5
    store = redis_store(timeout=timeout, retry_after=retry_after)
    assert store.record("page", "before", "a", 0, "/a.jpg")

    server.kill()
    elapsed, exc = _timed(lambda: store.record("page", "down", "b", 0, "/b.jpg"))
    assert isinstance(exc, redis.exceptions.ConnectionError) and elapsed < timeout + SLACK, (exc, elapsed)
    assert not isinstance(exc, RedisUnavailableError)
    calls: list[Callable[[], object]] = [
        lambda: store.record("page", "down", "b", 0, "/b.jpg"),
        lambda: store.samples("page"),
        lambda: store.forget("page"),
    ]
    started = time.monotonic()
    for n in range(150):
        elapsed, exc = _timed(calls[n % 3])
        assert isinstance(exc, RedisUnavailableError) and "next attempt in" in str(exc), exc
        assert elapsed < 0.05
    assert time.monotonic() - started < retry_after

    server.start()  # same port, empty: nothing persisted, no script cached
    deadline = time.monotonic() + retry_after + 3
    while True:
        _, exc = _timed(lambda: store.samples("page"))
        if exc is None:
            break
        assert isinstance(exc, redis.exceptions.ConnectionError), exc
        assert time.monotonic() < deadline, exc
        time.sleep(0.05)
    assert store.samples("page") == {}
    assert store.record("page", "down", "b", 0, "/b.jpg")  # the script is loaded again
    assert store.samples("page") == {0: [("b", "/b.jpg")]}


def test_a_frozen_redis_never_blocks_past_the_timeout(
    server: RedisServer, redis_store: Callable[..., RedisLcpStore]
) -> None:
    timeout = 0.2
    store = redis_store(timeout=timeout, retry_after=5)
    store.record("page", "before", "a", 0, "/a.jpg")
    server.pause()
    try:
        elapsed, exc = _timed(lambda: store.record("page", "frozen", "b", 0, "/b.jpg"))
        assert isinstance(exc, redis.exceptions.TimeoutError), exc
        assert timeout * 0.8 < elapsed < timeout + SLACK
        elapsed, exc = _timed(lambda: store.samples("page"))
        assert isinstance(exc, RedisUnavailableError) and elapsed < 0.05
    finally:
        server.resume()


# A Redis Cluster.


def test_record_declares_every_key_it_touches() -> None:
    import re

    calls = re.findall(r"redis\.p?call\('(\w+)'(?:, ([^,)]+))?", _RECORD)
    assert len(calls) > 10
    for command, first in calls:
        assert re.fullmatch(r"KEYS\[\w+\]", first), (command, first)


def test_on_a_cluster(cluster: Cluster) -> None:  # noqa: F811 (the fixture)
    client = cluster.client()
    untyped: Any = client
    try:
        for prefix in ["firehose:lcp:", "app:", "a}b{c}:", "{x}", "shop {eu}:"]:
            store = RedisLcpStore(client, prefix=prefix)
            slots = {untyped.keyslot(name) for name in (store.samples_key, store.index_key, store.id_key("x {y}"))}
            assert len(slots) == 1, prefix
        store = RedisLcpStore(client, timeout=0.5)
        keys = ["shop example.test index", "a%7Bb%7D {x}.test:8080 page {y}", "}{ }{ }{"]
        for n, key in enumerate(keys):
            assert store.record(key, f"id {{{n}}}", f"client{n}", n, f"/static/{n}.jpg")
            assert not store.record(key, f"id {{{n}}}", f"client{n}", n, f"/static/{n}.jpg")
        for n, key in enumerate(keys):
            assert store.samples(key) == {n: [(f"client{n}", f"/static/{n}.jpg")]}
        store.forget(keys[0])
        assert store.samples(keys[0]) == {} and store.endpoints() == keys[1:]

        owner = cluster.node_for(client, store.samples_key)
        owner.kill()  # the store's slot is down: the guard fails fast after the first call
        elapsed, exc = _timed(lambda: store.record(keys[1], "late", "c", 0, "/c.jpg"))
        assert isinstance(exc, redis.exceptions.RedisError) and elapsed < 2 * 0.5 + 1, (exc, elapsed)
        elapsed, exc = _timed(lambda: store.samples(keys[1]))
        assert isinstance(exc, RedisUnavailableError) and elapsed < 0.05
    finally:
        client.close()


def test_apps_with_their_own_hint_store_prefix_keep_their_lcp_samples_apart() -> None:
    """Firehose keeps an app's LCP samples beside its learned hints: under
    the hint store's prefix, so two apps told apart by prefix stay apart."""
    from flask import Flask

    from flask_firehose import Firehose, RedisHintStore
    from flask_firehose._state import state_of

    keys: list[tuple[str, str]] = []
    for prefix in ("shop:", "blog:", "firehose:{hints}:"):
        app = Flask(f"app_{len(keys)}")
        app.config.update(SECRET_KEY="s")
        Firehose(app, hint_store=RedisHintStore(url="redis://127.0.0.1:1/0", prefix=prefix))
        state = state_of(app)
        assert state is not None and state.pages is not None and state.pages.lcp is not None
        store = state.pages.lcp.store
        assert isinstance(store, RedisLcpStore)
        keys.append((store.samples_key, store.index_key))
    assert keys == [
        ("{shop:lcp:}samples", "{shop:lcp:}keys"),
        ("{blog:lcp:}samples", "{blog:lcp:}keys"),
        ("firehose:{hints}:lcp:samples", "firehose:{hints}:lcp:keys"),
    ]
