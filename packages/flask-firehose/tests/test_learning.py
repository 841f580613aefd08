from __future__ import annotations

import threading

import pytest

from flask_firehose import Link, MemoryHintStore
from flask_firehose.learning import asset_identity, learnable


@pytest.mark.parametrize(
    ("target", "identity"),
    [
        ("/static/app.css?v=123", "/static/app.css"),
        ("/static/app.3f9a1c22.css", "/static/app.css"),
        ("/static/chunk-5feceb66.js", "/static/chunk.js"),
        ("/static/chunk-00.5feceb66.js", "/static/chunk-00.js"),
        ("/static/deadbeef/app.css", "/static/deadbeef/app.css"),
        ("/static/logo.svg#icon", "/static/logo.svg"),
        ("/static/face.woff2", "/static/face.woff2"),
    ],
)
def test_asset_identity(target: str, identity: str) -> None:
    assert asset_identity(target) == identity


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (Link("/static/a.css", as_="style"), True),
        (Link("/static/m.js", "modulepreload"), True),
        (Link("/static/next.html", "prefetch"), False),
        (Link("/media/a.png", as_="image"), False),
        (Link("//cdn.example/static/a.css", as_="style", nopush=True), False),
        (Link("https://x.example/static/a.css", as_="style", nopush=True), False),
    ],
)
def test_learnable(link: Link, expected: bool) -> None:
    assert learnable(link, ("/static/",)) is expected


def _link(n: int) -> Link:
    return Link(f"/static/{n}.css", as_="style", nopush=True)


def test_min_seen_counts_responses_not_repeats() -> None:
    store = MemoryHintStore(min_seen=2)
    store.observe("page", [_link(1), _link(1)])
    assert store.learned("page") == []
    store.observe("page", [_link(1)])
    assert store.learned("page") == [_link(1)]


def test_forgets_what_it_no_longer_sees() -> None:
    store = MemoryHintStore(min_seen=1, window=3)
    store.observe("page", [_link(1)])
    for _ in range(3):
        store.observe("page", [_link(2)])
    assert store.learned("page") == [_link(2)]


def test_bounded_endpoints_and_links() -> None:
    store = MemoryHintStore(min_seen=1, max_endpoints=4, max_links=5)
    for endpoint in range(10):
        store.observe(f"e{endpoint}", [_link(n) for n in range(20)])
    assert list(store.endpoints()) == ["e6", "e7", "e8", "e9"]
    assert len(store.learned("e9")) == 5


def test_concurrent_observers() -> None:
    store = MemoryHintStore(min_seen=1, max_links=8)

    def work(offset: int) -> None:
        for i in range(200):
            store.observe("page", [_link((i + offset) % 12)])
            store.learned("page")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 < len(store.learned("page")) <= 8
