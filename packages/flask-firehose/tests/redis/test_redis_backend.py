"""RedisHintStore and RedisConnector against a real redis-server on 127.0.0.1.

Each test starts its own server on a free port (no persistence) and stops it
by PID; the outage tests kill, freeze and restart it on the same port.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask, request

from flask_firehose import Firehose, Link, MemoryHintStore, push
from flask_firehose._hint_store import keyed_links
from flask_firehose._redis import (
    RedisConnector,
    RedisHintStore,
    RedisUnavailableError,
    link_from_json,
    link_to_json,
)
from flask_firehose.testing import links_of, record_early_hints

from ..redis_server import RedisServer
from .learning_pages import learning_app, visit

pytestmark = pytest.mark.integration

# Slack for the scheduler on a loaded machine, on top of the configured timeout.
SLACK = 0.15

Store = MemoryHintStore | RedisHintStore
StoreFactory = Callable[..., Store]


@pytest.fixture
def redis_store(server: RedisServer, closing: Callable[[Any], Any]) -> Callable[..., RedisHintStore]:
    def factory(**params: Any) -> RedisHintStore:
        params.setdefault("timeout", 1.0)
        params.setdefault("reuse", 0)  # every call to Redis: the counting itself is under test
        store: RedisHintStore = closing(RedisHintStore(url=server.url, **params))
        return store

    return factory


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Both stores, so each scenario checks they learn alike."""
    if request.param == "memory":
        return MemoryHintStore
    factory: StoreFactory = request.getfixturevalue("redis_store")
    return factory


def _link(n: int) -> Link:
    return Link(f"/static/{n}.css", as_="style", nopush=True)


def _targets(links: list[Link]) -> list[str]:
    return [link.target for link in links]


# The same scenarios as test_learning.py's, on both stores.


def test_min_seen_counts_responses_not_repeats(make_store: StoreFactory) -> None:
    store = make_store(min_seen=2)
    store.observe("page", [_link(1), _link(1)])
    assert store.learned("page") == []
    store.observe("page", [_link(1)])
    assert store.learned("page") == [_link(1)]
    assert store.learned("other") == []


def test_forgets_what_it_no_longer_sees(make_store: StoreFactory) -> None:
    store = make_store(min_seen=1, window=3)
    store.observe("page", [_link(1)])
    store.observe("page", [_link(2)])
    store.observe("page", [_link(2)])
    assert store.learned("page") == [_link(1), _link(2)]
    store.observe("page", [_link(2)])
    assert store.learned("page") == [_link(2)]


def test_bounded_endpoints_and_links(make_store: StoreFactory) -> None:
    store = make_store(min_seen=1, max_endpoints=4, max_links=5)
    for endpoint in range(10):
        store.observe(f"e{endpoint}", [_link(n) for n in range(20)])
    assert list(store.endpoints()) == ["e6", "e7", "e8", "e9"]
    assert store.learned("e9") == [_link(n) for n in range(5)]
    assert store.learned("e0") == []
    store.observe("e7", [_link(1)])  # most recently seen now
    store.observe("e10", [_link(1)])
    assert list(store.endpoints()) == ["e8", "e9", "e7", "e10"]


def test_more_candidates_than_the_cap_keeps_the_best_stably(make_store: StoreFactory) -> None:
    store = make_store(min_seen=1, max_links=3)
    page = [Link(f"/static/{n}.png", as_="image") for n in range(6)] + [
        Link("/static/main.css", as_="style"),
        Link("/static/app.js", as_="script"),
    ]
    learned_sets = set()
    for round_ in range(20):
        rotated = page[round_ % len(page) :] + page[: round_ % len(page)]
        store.observe("page", rotated)
        learned_sets.add(frozenset(_targets(store.learned("page"))))
    assert learned_sets == {frozenset({"/static/main.css", "/static/app.js", "/static/0.png"})}


def test_a_better_link_displaces_the_worst_one(make_store: StoreFactory) -> None:
    store = make_store(min_seen=1, max_links=2)
    store.observe("page", [Link("/static/a.png", as_="image"), Link("/static/b.png", as_="image")])
    store.observe("page", [Link("/static/c.png", as_="image")])  # no better: not admitted
    store.observe("page", [Link("/static/main.css", as_="style")])  # better: b (latest of the worst) goes
    assert _targets(store.learned("page")) == ["/static/a.png", "/static/main.css"]


def test_files_named_alike_on_one_page_are_distinct(make_store: StoreFactory) -> None:
    store = make_store(min_seen=2)
    chunks = [Link("/assets/index-A1b2C3d4.js", as_="script"), Link("/assets/index-E5f6G7h8.js", as_="script")]
    for _ in range(2):
        store.observe("page", chunks)
    assert store.learned("page") == chunks


def test_a_new_build_replaces_the_old_one_in_place(make_store: StoreFactory) -> None:
    store = make_store(min_seen=2)
    for _ in range(2):
        store.observe("page", [Link("/static/app.3f9a1c2b.css", as_="style"), Link("/static/x.js", as_="script")])
    assert _targets(store.learned("page")) == ["/static/app.3f9a1c2b.css", "/static/x.js"]
    store.observe("page", [Link("/static/app.77e0aa11.css", as_="style"), Link("/static/x.js", as_="script")])
    assert _targets(store.learned("page")) == ["/static/x.js"]  # old build gone, new one seen once
    store.observe("page", [Link("/static/app.77e0aa11.css", as_="style")])
    assert _targets(store.learned("page")) == ["/static/app.77e0aa11.css", "/static/x.js"]


def test_links_keep_every_field(make_store: StoreFactory) -> None:
    links = [
        Link("/static/font.woff2", as_="font", crossorigin="anonymous"),
        Link("/static/mod.js", rel="modulepreload", crossorigin=""),
        Link("/static/hero.png", as_="image", nopush=True, params=(("fetchpriority", "high"), ("x-bare", None))),
        Link("https://cdn.example/lib.js?x=1&y=%20", as_="script", crossorigin="use-credentials"),
    ]
    store = make_store(min_seen=1)
    store.observe("page", links)
    assert [link.text for link in store.learned("page")] == [link.text for link in links]


# Random pages on both stores side by side: same answers at every step.


def _pool() -> list[Link]:
    pool = [Link(f"/static/app.{build}.css", as_="style") for build in ("3f9a1c2b", "77e0aa11", "c0ffee42")]
    pool += [Link(f"/assets/index-{build}.js", as_="script") for build in ("A1b2C3d4", "E5f6G7h8")]
    pool += [Link(f"/static/img/{n}.png", as_="image") for n in range(4)]
    pool += [Link("/static/f.woff2", as_="font", crossorigin="anonymous"), Link("/static/m.js", rel="modulepreload")]
    pool += [Link("/static/data.json?v=1", as_="fetch"), Link("/static/data.json?v=2", as_="fetch")]
    return pool


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_pages_learn_alike(redis_store: Callable[..., RedisHintStore], seed: int) -> None:
    params = {"min_seen": 2, "window": 6, "max_endpoints": 3, "max_links": 4}
    memory = MemoryHintStore(**params)
    shared = redis_store(**params)
    rng = random.Random(seed)
    pool = _pool()
    endpoints = ["a", "b", "c", "d"]
    for step in range(300):
        endpoint = rng.choice(endpoints)
        page = [rng.choice(pool) for _ in range(rng.randint(0, 7))]
        memory.observe(endpoint, page)
        shared.observe(endpoint, page)
        assert list(shared.endpoints()) == list(memory.endpoints()), step
        for name in endpoints:
            assert shared.learned(name) == memory.learned(name), (step, name)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_reusing_reads_and_skipping_steady_pages_learn_alike(
    redis_store: Callable[..., RedisHintStore], seed: int
) -> None:
    """One process, one endpoint: reusing reads and not sending a steady
    page's same links again answers as counting every response does."""
    params = {"min_seen": 2, "window": 6, "max_links": 4}
    memory = MemoryHintStore(**params)
    shared = redis_store(reuse=60, **params)
    rng = random.Random(seed)
    pool = _pool()
    pages = [[rng.choice(pool) for _ in range(rng.randint(0, 5))] for _ in range(4)]
    for step in range(200):
        page = rng.choice(pages)
        assert shared.learned("p") == memory.learned("p"), step  # the 103's read, before the view
        memory.observe("p", page)
        shared.observe("p", page)
        assert shared.learned("p") == memory.learned("p"), step


def _counting_scripts(store: RedisHintStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    run = store._run

    def counted(args: list[str | int]) -> int:
        sent.append(1)
        return run(args)

    monkeypatch.setattr(store, "_run", counted)
    return sent


def test_a_steady_page_is_sent_once_per_reuse(
    redis_store: Callable[..., RedisHintStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = redis_store(min_seen=2, reuse=0.3)
    page = [_link(1), _link(2)]
    sent = _counting_scripts(store, monkeypatch)
    for _ in range(3):  # learning: every response counts (the third finds it learned, steady)
        store.learned("page")
        store.observe("page", page)
    assert len(sent) == 3
    for _ in range(5):  # steady: the same links are not sent again
        assert store.learned("page") == page
        store.observe("page", page)
    assert len(sent) == 3
    store.observe("page", [_link(1)])  # a change is sent at once
    assert len(sent) == 4
    time.sleep(0.35)
    store.learned("page")
    store.observe("page", [_link(1)])
    assert len(sent) == 5


def test_another_workers_learning_arrives_within_reuse(redis_store: Callable[..., RedisHintStore]) -> None:
    reader, writer = redis_store(min_seen=2, reuse=0.3), redis_store(min_seen=2)
    assert reader.learned("page") == []
    writer.observe("page", [_link(1)])
    writer.observe("page", [_link(1)])
    assert reader.learned("page") == []  # what it read, reused
    time.sleep(0.35)
    assert reader.learned("page") == [_link(1)]


def test_a_workers_own_counts_are_read_at_once(redis_store: Callable[..., RedisHintStore]) -> None:
    store = redis_store(min_seen=2, reuse=60)
    assert store.learned("page") == []
    store.observe("page", [_link(1)])
    store.observe("page", [_link(1)])
    assert store.learned("page") == [_link(1)]
    store.clear()
    assert store.learned("page") == []


@pytest.mark.parametrize("reuse", [-1, float("nan"), float("inf"), True, "1"])
def test_reuse_is_checked(server: RedisServer, reuse: object) -> None:
    with pytest.raises(ValueError, match="reuse"):
        RedisHintStore(url=server.url, reuse=reuse)  # type: ignore[arg-type]


def test_keyed_links_matches_the_memory_store() -> None:
    page = [Link("/a/x.3f9a1c2b.js", as_="script"), Link("/a/x.77e0aa11.js"), Link("/a/y.css?v=1", as_="style")]
    assert keyed_links(page, 32) == [
        ("/a/x.3f9a1c2b.js", page[0]),
        ("/a/x.77e0aa11.js", page[1]),
        ("/a/y.css", page[2]),
    ]
    assert [link for _, link in keyed_links(page, 2)] == [page[2], page[0]]  # highest priority, stably


def test_links_round_trip_through_json() -> None:
    link = Link("/static/a.css", as_="style", crossorigin="", nopush=True, params=(("media", "print"), ("x", None)))
    assert link_from_json(link_to_json(link)) == link


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not a JSON object"),
        ("{}", "target is not a str"),
        ('{"target": 3}', "target is not a str"),
        ('{"target": "javascript:x"}', "cannot be preloaded"),
        ('{"target": "/a", "as": "stylesheet"}', "invalid as"),
        ('{"target": "/a", "params": [["a"]]}', "not a list of pairs"),
        ('{"target": "/a", "params": [["rel", "x"]]}', "field of its own"),
        ("{", "Expecting"),
    ],
)
def test_invalid_stored_links_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        link_from_json(text)


# Shared by workers; atomic; bounded.


def test_two_workers_learn_together(redis_store: Callable[..., RedisHintStore]) -> None:
    worker_a, worker_b = redis_store(min_seen=2), redis_store(min_seen=2)
    worker_a.observe("page", [_link(1)])
    assert worker_b.learned("page") == []
    worker_b.observe("page", [_link(1)])
    assert worker_a.learned("page") == worker_b.learned("page") == [_link(1)]


def test_concurrent_observers_lose_no_count(redis_store: Callable[..., RedisHintStore], raw: redis.Redis) -> None:
    workers = [redis_store(min_seen=1, max_links=8, window=10_000) for _ in range(2)]
    errors: list[BaseException] = []

    def work(store: RedisHintStore, offset: int) -> None:
        try:
            for i in range(100):
                store.observe("page", [_link((i + offset) % 12)])
                store.learned("page")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(workers[k % 2], k)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    state = json.loads(raw.hget(workers[0].state_key, "page") or b"")
    assert state["n"] == 400  # every response counted once: no lost update
    assert 0 < len(workers[1].learned("page")) <= 8


def test_keys_expire_and_stay_bounded(redis_store: Callable[..., RedisHintStore], raw: redis.Redis) -> None:
    store = redis_store(min_seen=1, max_endpoints=3, max_links=4, ttl=3600)
    for n in range(10):
        store.observe(f"e{n}", [_link(k) for k in range(100)])
    assert sorted(raw.keys("*")) == [b"firehose:{hints}:endpoints", b"firehose:{hints}:learned"]
    assert raw.hlen(store.state_key) == raw.zcard(store.index_key) == 3  # three endpoints and their index
    assert store.endpoints() == ["e7", "e8", "e9"]
    for key in raw.keys("*"):
        assert 3500 < raw.ttl(key) <= 3600, key
    assert len(json.loads(raw.hget(store.state_key, "e9") or b"")["c"]) == 4
    store.clear()
    assert raw.dbsize() == 0

    short = redis_store(min_seen=1, ttl=1)
    short.observe("page", [_link(1)])
    assert short.learned("page") == [_link(1)]
    deadline = time.monotonic() + 5
    while short.learned("page") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert short.learned("page") == []


def test_prefixes_keep_stores_apart(redis_store: Callable[..., RedisHintStore]) -> None:
    one, two = redis_store(min_seen=1, prefix="app1:"), redis_store(min_seen=1, prefix="app2:")
    one.observe("page", [_link(1)])
    assert two.learned("page") == [] and one.learned("page") == [_link(1)]


def test_tampered_values_are_skipped(redis_store: Callable[..., RedisHintStore], raw: redis.Redis) -> None:
    store = redis_store(min_seen=1)
    key = store.state_key
    for garbage in [b"not json", b"[1, 2]", b'{"c": "x"}', b"\xff\xfe", b'{"c": [[1, 2, 3]]}', b"x" * (2 << 20)]:
        raw.hset(key, "page", garbage)
        assert store.learned("page") == []
        store.observe("page", [_link(1)])  # starts over
        assert store.learned("page") == [_link(1)]

    # Nested past the JSON parser's depth (a RecursionError, not a ValueError):
    # skipped like any garbage, as the state and as one stored link.
    raw.hset(key, "deep", b"[" * 100_000 + b"]" * 100_000)
    assert store.learned("deep") == []
    state = json.loads(raw.hget(key, "page") or b"")
    deep = [["/d", "/d", 5, state["n"], 1, 0, "[" * 100_000 + "]" * 100_000]]
    raw.hset(key, "deep", json.dumps({**state, "c": deep}))
    assert store.learned("deep") == []

    good = state["c"][0]
    forged = [
        ["/x", "/x", 5, state["n"], 90, 0, json.dumps({"target": "javascript:alert(1)", "as": "script"})],
        ["/y", "/y", 5, state["n"], 91, 0, json.dumps({"target": "/y.css", "as": "stylesheet"})],
        ["/z", "/z", 5, state["n"], 92, 0, json.dumps({"target": "/z.css", "params": [["rel", "x"]]})],
        ["/w", "/w", "5", state["n"], 93, 0, json.dumps({"target": "/w.css"})],
        ["/v", "/v", 5, state["n"], 94, 0, "not json"],
        ["/u", "/u", 5, state["n"], 95, 0, json.dumps({"target": "/u.css>; rel=stylesheet"})],
        "junk",
        ["/t", "/t", 5, state["n"], 96, 0, json.dumps({"target": "/static/t.js", "as": "script"})],
    ]
    raw.hset(key, "page", json.dumps({**state, "c": [good, *forged]}))
    assert _targets(store.learned("page")) == ["/static/1.css", "/static/t.js"]
    store.observe("page", [_link(1)])  # the script copes with them too
    assert _targets(store.learned("page")) == ["/static/1.css", "/static/t.js"]

    raw.delete(key)
    raw.set(key, "a string")  # a key of another type
    assert store.learned("page") == []
    raw.set(store.index_key, "not a sorted set")
    store.observe("page", [_link(1)])
    assert store.learned("page") == [_link(1)]
    assert store.endpoints() == ["page"]


class _Garbage(redis.Redis):
    """A client whose server answers nonsense."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        return {"nonsense": args[0]}


def test_garbage_answers_raise_a_clear_error() -> None:
    client = _Garbage()  # never connects: execute_command is replaced
    store = RedisHintStore(client)
    connector = RedisConnector(lambda: "u", client)
    with pytest.raises(TypeError, match="Redis answered HGET"):
        store.learned("page")
    with pytest.raises(TypeError, match="Redis answered the observe script"):
        store.observe("page", [_link(1)])
    with pytest.raises(TypeError, match="Redis answered SRANDMEMBER"):
        connector.get_pushed()
    assert not store._guard.is_open and not connector._guard.is_open  # Redis answered: no outage


def test_arguments_are_checked(server: RedisServer) -> None:
    with pytest.raises(TypeError, match="either"):
        RedisHintStore()
    with pytest.raises(TypeError, match="either"):
        RedisHintStore(redis.Redis(), url=server.url)
    with pytest.raises(TypeError, match=r"redis\.Redis"):
        RedisHintStore("redis://x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_seen"):
        RedisHintStore(url=server.url, min_seen=0)
    with pytest.raises(ValueError, match="timeout"):
        RedisConnector(lambda: "u", url=server.url, timeout=0)
    with pytest.raises(TypeError, match="callable"):
        RedisConnector("user:1", url=server.url)  # type: ignore[arg-type]


# The connector.


def test_connector_round_trip(server: RedisServer, raw: redis.Redis, closing: Callable[[Any], Any]) -> None:
    user: dict[str, str | None] = {"key": "user:1"}
    connector: RedisConnector = closing(RedisConnector(lambda: user["key"], url=server.url, ttl=600, timeout=1.0))
    raw.hset("user:1", "name", "Ada")  # the app's own data under the same name
    assert connector.get_pushed() == set()
    connector.set_pushed({"/static/a.css", "/static/caf%C3%A9.css", "/é.js"})
    pushed = connector.get_pushed()
    assert pushed == {"/static/a.css", "/static/caf%C3%A9.css", "/é.js"}
    assert all(type(url) is str for url in pushed)
    assert raw.hgetall("user:1") == {b"name": b"Ada"}
    assert 590 < raw.ttl("firehose:pushed:user:1") <= 600

    raw.sadd("firehose:pushed:user:1", b"\xff\xfe", b"/static/b.css")  # bytes that are not UTF-8 are left out
    assert connector.get_pushed() == {"/static/a.css", "/static/caf%C3%A9.css", "/é.js", "/static/b.css"}
    connector.set_pushed({"/static/a.css"})  # the whole set is replaced
    assert raw.smembers("firehose:pushed:user:1") == {b"/static/a.css"}
    connector.set_pushed(set())
    assert not raw.exists("firehose:pushed:user:1")

    user["key"] = None  # no tracking for this request
    connector.set_pushed({"/static/a.css"})
    assert connector.get_pushed() == set()
    assert raw.keys("firehose:*") == []

    decoding: RedisConnector = closing(
        RedisConnector(lambda: "user:2", redis.Redis.from_url(server.url, decode_responses=True))
    )
    decoding.set_pushed({"/static/a.css"})
    assert decoding.get_pushed() == {"/static/a.css"}


def test_connector_bounds_each_client(server: RedisServer, raw: redis.Redis, closing: Callable[[Any], Any]) -> None:
    connector: RedisConnector = closing(RedisConnector(lambda: "u", url=server.url, max_urls=50, timeout=1.0))
    old = {f"/static/old-{n:03}.css" for n in range(40)}
    connector.set_pushed(old)
    new = {f"/static/new-{n:03}.css" for n in range(20)}
    connector.set_pushed(old | new)
    stored = connector.get_pushed()
    assert len(stored) == 50 and new <= stored  # what the page just pushed is kept
    raw.sadd("firehose:pushed:u", *[f"/x/{n}" for n in range(500)])
    assert len(connector.get_pushed()) == 50  # a tampered set is read up to the bound


def test_connector_key_must_be_a_string(server: RedisServer, closing: Callable[[Any], Any]) -> None:
    connector: RedisConnector = closing(RedisConnector(lambda: 42, url=server.url))  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="key"):
        connector.get_pushed()


def test_tracking_is_shared_by_two_apps(server: RedisServer, closing: Callable[[Any], Any]) -> None:
    def worker() -> Flask:
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True, FIREHOSE_LEARN=False)
        connector = closing(RedisConnector(lambda: request.headers.get("X-User"), url=server.url, timeout=1.0))
        Firehose(app, connector=connector)

        @app.get("/")
        def index() -> str:
            push("/static/app.css")
            return "<p>home</p>"

        return app

    one, two = worker(), worker()
    first = one.test_client().get("/", headers={"X-User": "ada"})
    again = two.test_client().get("/", headers={"X-User": "ada"})
    other = two.test_client().get("/", headers={"X-User": "bob"})
    assert [link.has("nopush") for link in links_of(first)] == [False]  # pushed
    assert [link.has("nopush") for link in links_of(again)] == [True]  # the other worker knows
    assert [link.has("nopush") for link in links_of(other)] == [False]


# Outages: fail fast, never past the timeout, recover alone.


def _timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def _until_it_works(call: Callable[[], object], seconds: float) -> int:
    """Call until it succeeds (every 20 ms, for at most *seconds*); return the failures."""
    deadline = time.monotonic() + seconds
    failures = 0
    while True:
        elapsed, exc = _timed(call)
        assert elapsed < 0.3 + SLACK, f"a call took {elapsed:.3f}s"
        if exc is None:
            return failures
        assert isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError), exc
        failures += 1
        assert time.monotonic() < deadline, f"still failing after {seconds}s: {exc!r}"
        time.sleep(0.02)


def test_killed_redis_fails_fast_and_recovers(
    server: RedisServer, redis_store: Callable[..., RedisHintStore], closing: Callable[[Any], Any]
) -> None:
    timeout, retry_after = 0.3, 0.5
    store = redis_store(min_seen=1, timeout=timeout, retry_after=retry_after)
    connector: RedisConnector = closing(RedisConnector(lambda: "u", url=server.url, timeout=timeout, retry_after=0.5))
    store.observe("page", [_link(1)])
    connector.set_pushed({"/a"})
    assert store.learned("page") == [_link(1)] and connector.get_pushed() == {"/a"}

    server.kill()
    elapsed, exc = _timed(lambda: store.learned("page"))
    assert isinstance(exc, redis.exceptions.ConnectionError) and elapsed < timeout + SLACK
    # Now the breaker is open: no network, no wait, for retry_after seconds.
    started = time.monotonic()
    calls: list[Callable[[], object]] = [
        lambda: store.learned("page"),
        lambda: store.observe("page", [_link(1)]),
        connector.get_pushed,
    ]
    for n in range(300):
        elapsed, exc = _timed(calls[n % 3])
        assert elapsed < 0.05, elapsed
        assert isinstance(exc, redis.exceptions.ConnectionError), exc
    assert isinstance(exc, RedisUnavailableError) and "next attempt in" in str(exc)
    assert time.monotonic() - started < retry_after

    # Still down after retry_after: one probe fails quickly and the breaker reopens.
    time.sleep(retry_after)
    elapsed, exc = _timed(lambda: store.learned("page"))
    assert isinstance(exc, redis.exceptions.ConnectionError) and not isinstance(exc, RedisUnavailableError)
    assert elapsed < timeout + SLACK

    server.start()  # same port, empty: nothing was persisted (and no script cached)
    assert _until_it_works(lambda: store.observe("page", [_link(2)]), seconds=retry_after + 3) >= 1
    assert store.learned("page") == [_link(2)]
    _until_it_works(connector.get_pushed, seconds=retry_after + 3)
    connector.set_pushed({"/b"})
    assert connector.get_pushed() == {"/b"}


def test_frozen_redis_never_blocks_past_the_timeout(
    server: RedisServer, redis_store: Callable[..., RedisHintStore]
) -> None:
    timeout, retry_after = 0.2, 0.4
    store = redis_store(min_seen=1, timeout=timeout, retry_after=retry_after)
    store.observe("page", [_link(1)])
    server.pause()  # connections are accepted, nothing is answered
    try:
        elapsed, exc = _timed(lambda: store.observe("page", [_link(1)]))
        assert isinstance(exc, redis.exceptions.TimeoutError), exc
        assert timeout * 0.8 < elapsed < timeout + SLACK
        elapsed, exc = _timed(lambda: store.learned("page"))
        assert isinstance(exc, RedisUnavailableError) and elapsed < 0.05
        time.sleep(retry_after)
        elapsed, exc = _timed(lambda: store.learned("page"))
        assert isinstance(exc, redis.exceptions.TimeoutError) and elapsed < timeout + SLACK
    finally:
        server.resume()
    _until_it_works(lambda: store.learned("page"), seconds=retry_after + 3)
    assert store.learned("page") == [_link(1)]


def test_breaker_lets_one_probe_through(server: RedisServer, redis_store: Callable[..., RedisHintStore]) -> None:
    store = redis_store(min_seen=1, timeout=0.3, retry_after=0.3)
    server.pause()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            store.learned("page")
        time.sleep(0.3)
        results: list[tuple[float, BaseException | None]] = []
        threads = [
            threading.Thread(target=lambda: results.append(_timed(lambda: store.learned("page")))) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        server.resume()
    waited = [exc for _, exc in results if not isinstance(exc, RedisUnavailableError)]
    assert len(results) == 8 and len(waited) == 1  # one probe went to the network; seven failed fast
    assert max(elapsed for elapsed, _ in results) < 0.3 + SLACK


# Through Flask: the page never waits for Redis, and learning comes back.


def test_pages_keep_answering_while_redis_is_down(
    server: RedisServer, redis_store: Callable[..., RedisHintStore], caplog: pytest.LogCaptureFixture
) -> None:
    timeout, retry_after = 0.2, 0.5
    app = learning_app(redis_store(timeout=timeout, retry_after=retry_after), __name__)
    learned = [["/static/app.css", "/static/app.js"]]
    for n in range(3):
        visit(app, n)
    assert visit(app, 3)[1] == learned

    server.kill()
    results: list[tuple[int, list[list[str]], float]] = []
    lock = threading.Lock()

    def visitor(offset: int) -> None:
        for n in range(75):
            outcome = visit(app, offset * 1000 + n)
            with lock:
                results.append(outcome)

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="flask_firehose"):
        threads = [threading.Thread(target=visitor, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 300 and {status for status, _, _ in results} == {200}
    assert all(hints == [] for _, hints, _ in results)  # no learned hints while Redis is away
    assert max(elapsed for _, _, elapsed in results) < 2 * timeout + 0.5
    assert time.monotonic() - started < 30
    failures = [record for record in caplog.records if "hint store" in record.getMessage()]
    assert 1 <= len(failures) <= 8  # logged once in a while, not per request

    server.start()
    deadline = time.monotonic() + retry_after + 5
    n = 10_000
    while True:  # a few visits to learn again from scratch (nothing was persisted)
        status, hints, _ = visit(app, n)
        assert status == 200
        if hints == learned:
            break
        assert time.monotonic() < deadline, "never learned again after Redis came back"
        n += 1
        time.sleep(0.02)


def test_reused_reads_keep_pages_answering_while_redis_is_down(
    server: RedisServer, redis_store: Callable[..., RedisHintStore]
) -> None:
    """With reads reused (the default), killing Redis under four threads:
    every page answers 200 within the bound, with the hints read before or
    none; learning resumes once Redis is back."""
    timeout, retry_after = 0.2, 0.5
    app = learning_app(redis_store(timeout=timeout, retry_after=retry_after, reuse=0.3), __name__)
    learned = [["/static/app.css", "/static/app.js"]]
    n = 0
    while visit(app, n)[1] != learned:  # learned and steady
        n += 1
        assert n < 20
    server.kill()
    results: list[tuple[int, list[list[str]], float]] = []
    lock = threading.Lock()

    def visitor(offset: int) -> None:
        for k in range(50):
            outcome = visit(app, offset * 1000 + k)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 200 and {status for status, _, _ in results} == {200}
    assert all(hints in ([], learned) for _, hints, _ in results)
    assert max(elapsed for _, _, elapsed in results) < 2 * timeout + 0.5
    server.start()
    deadline = time.monotonic() + retry_after + 5
    n = 10_000
    while visit(app, n)[1] != learned:  # nothing was persisted: learned again from scratch
        assert time.monotonic() < deadline, "never learned again after Redis came back"
        n += 1
        time.sleep(0.02)


def test_redis_stopped_and_restarted_under_load(
    server: RedisServer, redis_store: Callable[..., RedisHintStore]
) -> None:
    """2,000 requests from 4 threads; Redis is killed after 400 and started
    again after 1,200: every request answers 200, none waits past the bound,
    and learning resumes by itself."""
    timeout, retry_after = 0.1, 0.3
    app = learning_app(redis_store(timeout=timeout, retry_after=retry_after), __name__)
    results: list[tuple[int, list[list[str]], float]] = []
    lock = threading.Lock()

    def visitor(offset: int) -> None:
        for n in range(500):
            outcome = visit(app, offset * 1000 + n)
            with lock:
                results.append(outcome)
                done = len(results)
            if done == 400:
                server.kill()
            elif done == 1200:
                server.start()

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 2000 and {status for status, _, _ in results} == {200}
    # A request makes at most two calls (learned, observe), each bounded by the timeout.
    assert max(elapsed for _, _, elapsed in results) < 2 * timeout + 0.5
    assert any(hints for _, hints, _ in results[:400])  # learned before the outage
    assert sum(not hints for _, hints, _ in results[400:1200]) > 400  # none while Redis was away
    deadline = time.monotonic() + retry_after + 5  # and learned again once it is back, by itself
    n = 100_000
    while not visit(app, n)[1]:
        assert time.monotonic() < deadline, "never learned again after Redis came back"
        n += 1
        time.sleep(0.01)


def test_firehose_redis_url_shares_learning_between_apps(server: RedisServer) -> None:
    """Two apps standing for two workers (one app each, in processes of their
    own, which the namespace says here): they share what they learn."""
    apps = []
    for _ in range(2):
        app = Flask(__name__)
        app.config.update(
            FIREHOSE_REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
            FIREHOSE_LEARN_MIN_SEEN=1,
            FIREHOSE_LEARN_NAMESPACE="workers",
        )
        Firehose(app)
        app.add_url_rule("/", "home", lambda: push("/static/app.css") and "<p>home</p>")
        apps.append(app)
    first, second = (app.test_client(use_cookies=False) for app in apps)
    with record_early_hints(first) as taught:
        first.get("/")
    with record_early_hints(second) as hints:
        second.get("/")
    assert taught.sent == []
    assert [[link.target for link in links] for links in hints.links] == [["/static/app.css"]]


def test_two_apps_of_one_name_in_one_process_learn_alone(server: RedisServer) -> None:
    """Two apps a factory builds in one process, one Redis, one host: the
    second app of a name learns under a namespace of its own."""
    apps = []
    for css in ("/static/one.css", "/static/two.css"):
        app = Flask(__name__)
        app.config.update(FIREHOSE_REDIS_URL=f"redis://127.0.0.1:{server.port}/0", FIREHOSE_LEARN_MIN_SEEN=1)
        Firehose(app)
        app.add_url_rule("/", "home", lambda css=css: push(css) and "<p>home</p>")
        apps.append(app)
    for _ in range(2):
        for app in apps:
            teacher = app.test_client(use_cookies=False)
            with record_early_hints(teacher):
                teacher.get("/")
    sent = []
    for app in apps:
        client = app.test_client(use_cookies=False)
        with record_early_hints(client) as hints:
            client.get("/")
        sent.append([link.target for links in hints.links for link in links])
    assert sent == [["/static/one.css"], ["/static/two.css"]]


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379", 6379, "redis:/x"])
def test_firehose_redis_url_is_checked(url: object) -> None:
    from flask_firehose import ConfigurationError

    app = Flask(__name__)
    app.config["FIREHOSE_REDIS_URL"] = url
    with pytest.raises(ConfigurationError, match="FIREHOSE_REDIS_URL"):
        Firehose(app)


def test_url_options_cannot_lift_the_timeout() -> None:
    store = RedisHintStore(url="redis://127.0.0.1:1/0?socket_timeout=5&socket_connect_timeout=5", timeout=0.05)
    assert isinstance(store.client, redis.Redis)
    kwargs = store.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.05 and kwargs["socket_connect_timeout"] == 0.05
