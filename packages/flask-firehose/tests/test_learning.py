from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_firehose import Link, MemoryHintStore
from flask_firehose._learning import asset_identity, is_public_asset_target


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
        # Names that merely look like builds are names.
        ("/static/photo.decade.png", "/static/photo.decade.png"),
        ("/static/img/facade.png", "/static/img/facade.png"),
        ("/static/report-20240101.pdf", "/static/report-20240101.pdf"),
        ("/static/Roboto-Regular400.woff2", "/static/Roboto-Regular400.woff2"),
        ("/static/Roboto-SemiBold600.woff2", "/static/Roboto-SemiBold600.woff2"),
        ("/static/bg-ffffff00.png", "/static/bg-ffffff00.png"),
        ("/static/bg-000000ff.png", "/static/bg-000000ff.png"),
        ("/static/hero.jpg?w=400", "/static/hero.jpg"),
        # Real hashes: hex with digits and letters, long hex, Vite's mixed case.
        ("/static/app.3F9A1C22.css", "/static/app.css"),
        ("/static/app.deadbeefcafe.css", "/static/app.css"),
        ("/assets/index-BXdo2h8c.js", "/assets/index.js"),
    ],
)
def test_asset_identity(target: str, identity: str) -> None:
    assert asset_identity(target) == identity


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/static/a.css", True),
        ("/static/css/a.3f9a1c2b.css", True),
        ("/static/a.css?v=3f9a1c", True),
        ("/static/a.css?version=1.2.3", True),
        ("/media/a.png", False),
        ("/staticky/a.png", False),
        ("//cdn.example/static/a.css", False),
        ("https://x.example/static/a.css", False),
        ("/static/../media/private/alice.png", False),
        ("/static/./a.css", False),
        ("/static//a.css", False),
        ("/static/", False),
        ("/static/%2e%2e/media/x.png", False),
        ("/static/..%2Fmedia/x.png", False),
        ("/static/a%5c..%5cb.png", False),
        ("/static/a%00.png", False),
        ("/static/a.css;jsessionid=abc", False),
        ("/static/avatar.png?token=abc", False),
        ("/static/hero.jpg?w=400", False),
        ("/static/a.css?v=1&user=alice", False),
        ("/static/a.css#user=alice", False),
        ("/static/caf%C3%A9.css", True),
    ],
)
def test_public_asset_targets(target: str, expected: bool) -> None:
    assert is_public_asset_target(target, ("/static/",)) is expected


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


def test_files_named_alike_on_one_page_are_distinct() -> None:
    store = MemoryHintStore(min_seen=2)
    chunks = [Link("/assets/index-A1b2C3d4.js", as_="script"), Link("/assets/index-E5f6G7h8.js", as_="script")]
    for _ in range(2):
        store.observe("page", chunks)
    assert store.learned("page") == chunks


def test_a_new_build_replaces_the_old_one() -> None:
    store = MemoryHintStore(min_seen=1)
    store.observe("page", [Link("/static/app.3f9a1c2b.css", as_="style")])
    store.observe("page", [Link("/static/app.77e0aa11.css", as_="style")])
    assert [link.target for link in store.learned("page")] == ["/static/app.77e0aa11.css"]


def test_observe_bounds_a_huge_page_and_works_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    import flask_firehose._learning as learning

    store = MemoryHintStore(min_seen=1, max_links=8)
    held: list[bool] = []
    original = learning.asset_identity

    def spy(target: str) -> str:
        held.append(store._lock.locked())
        return original(target)

    monkeypatch.setattr(learning, "asset_identity", spy)
    store.observe("page", [Link(f"/static/{n}.png", as_="image") for n in range(10_000)])
    assert len(store.learned("page")) == 8
    assert held and not any(held)
    assert len(held) == 8  # only the kept links are even looked at


class _CountsEverything(MemoryHintStore):
    """The store without its steady-state shortcut: every response counted."""

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        super().observe(endpoint, links)
        for state in self._endpoints.values():
            state.steady = None


# Pages pushing overlapping sets, a new build of one file, and nothing.
_PAGES = [(0, 1), (0, 1, 2), (1,), (3, 4, 5), (), (0, 1, 2, 3, 4, 5, 6)]


def _page(numbers: tuple[int, ...], build: int) -> list[Link]:
    return [Link(f"/static/{n}.{'3f9a1c2b' if build else '77e0aa11'}.css", as_="style") for n in numbers]


@settings(max_examples=300, deadline=None)
@given(
    min_seen=st.integers(1, 3),
    window=st.integers(1, 4),
    max_links=st.integers(1, 6),
    max_endpoints=st.integers(1, 3),
    visits=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(_PAGES), st.integers(0, 1)), max_size=60
    ),
)
def test_skipping_steady_responses_changes_nothing(
    min_seen: int, window: int, max_links: int, max_endpoints: int, visits: list[tuple[str, tuple[int, ...], int]]
) -> None:
    """A response with the same links as the last one, which held every
    candidate, all learned, is not counted: what the store answers, after
    every later response too, is what counting everything answers."""
    sizes = {"min_seen": min_seen, "window": window, "max_links": max_links, "max_endpoints": max_endpoints}
    fast, slow = MemoryHintStore(**sizes), _CountsEverything(**sizes)
    for endpoint, numbers, build in visits:
        links = _page(numbers, build)
        fast.observe(endpoint, links)
        slow.observe(endpoint, list(links))
        assert list(fast.endpoints()) == list(slow.endpoints())
        for name in ("a", "b", "c"):
            assert fast.learned(name) == slow.learned(name)


def test_a_steady_page_is_not_counted_again() -> None:
    store = MemoryHintStore(min_seen=1)
    page = [_link(1), _link(2)]
    store.observe("page", page)
    responses = store._endpoints["page"].responses
    for _ in range(5):
        store.observe("page", page)
    assert store._endpoints["page"].responses == responses  # the shortcut was taken
    store.observe("page", [_link(1)])  # a change is counted at once
    assert store._endpoints["page"].responses == responses + 1
