"""The memory store: single-use ids, newest samples one per client, expiry, bounds, threads."""

from __future__ import annotations

import threading

import pytest

from flask_firehose._lcp import LcpStore, MemoryLcpStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_is_an_lcp_store() -> None:
    assert isinstance(MemoryLcpStore(), LcpStore)


def test_ids_are_single_use() -> None:
    store = MemoryLcpStore()
    assert store.record("k", "id1", "c1", 0, "/a.jpg")
    assert not store.record("k", "id1", "c2", 1, "/b.jpg")
    assert not store.record("other", "id1", "c3", 0, "/a.jpg")
    assert store.samples("k") == {0: [("c1", "/a.jpg")]}


def test_newest_samples_one_per_client() -> None:
    store = MemoryLcpStore(samples=3)
    for n, (client, url) in enumerate([("c1", "/a"), ("c2", "/b"), ("c1", "/c"), ("c3", "/d"), ("c4", "/e")]):
        assert store.record("k", f"id{n}", client, 2, url)
    assert store.samples("k") == {2: [("c1", "/c"), ("c3", "/d"), ("c4", "/e")]}


def test_samples_and_ids_expire() -> None:
    clock = Clock()
    store = MemoryLcpStore(ttl=100, clock=clock)
    store.record("k", "id1", "c1", 0, "/a")
    clock.now += 50
    store.record("k", "id2", "c2", 0, "/b")
    clock.now += 60
    assert store.samples("k") == {0: [("c2", "/b")]}
    assert store.record("k", "id1", "c3", 0, "/c")  # id1 forgotten with its ttl
    clock.now += 200
    assert store.samples("k") == {}


def test_forget() -> None:
    store = MemoryLcpStore()
    store.record("k", "id1", "c1", 0, "/a")
    store.forget("k")
    store.forget("never")
    assert store.samples("k") == {}


def test_bounded_whatever_arrives() -> None:
    store = MemoryLcpStore(samples=3, max_keys=8, max_ids=100)
    for n in range(5000):
        assert store.record(f"k{n % 8}", f"id{n}", f"c{n}", n % 7, f"/{n}.jpg")
    assert store.sizes() == (8, 100, 3)
    for n in range(5000):
        assert store.record(f"new{n}", f"other{n}", "c", 0, "/a.jpg")
    assert store.sizes() == (8, 100, 1)
    assert store.samples("k0") == {}  # the least recently used went
    assert store.samples("new4999") == {0: [("c", "/a.jpg")]}


def test_recently_used_keys_stay() -> None:
    store = MemoryLcpStore(max_keys=2)
    store.record("a", "1", "c", 0, "/a")
    store.record("b", "2", "c", 0, "/b")
    store.record("a", "3", "d", 0, "/a")
    store.record("c", "4", "c", 0, "/c")
    assert store.samples("b") == {}
    assert store.samples("a") != {}


def test_threads() -> None:
    store = MemoryLcpStore(max_ids=100000)
    accepted: list[bool] = []

    def work(start: int) -> None:
        for n in range(2000):
            accepted.append(store.record("k", f"id{n}", f"c{start}-{n}", n % 4, "/a"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accepted.count(True) == 2000  # each id once, whichever thread won
    assert all(len(kept) == 3 for kept in store.samples("k").values())


@pytest.mark.parametrize(
    "options",
    [{"samples": 0}, {"max_keys": -1}, {"max_ids": 1.5}, {"ttl": 0}, {"ttl": True}, {"samples": True}],
)
def test_bad_options(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        MemoryLcpStore(**options)  # type: ignore[arg-type]
