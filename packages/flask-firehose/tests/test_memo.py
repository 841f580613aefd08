"""The bounded memo: at most *size* entries, the oldest out first."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest

from flask_firehose._memo import IdentityMemo, Memo


def test_get_returns_what_was_put_or_the_default() -> None:
    memo: Memo[str, int] = Memo(4)
    memo.put("a", 1)
    assert memo.get("a") == 1
    assert memo.get("b") is None
    assert memo.get("b", -1) == -1


@pytest.mark.parametrize("size", [1, 2, 5])
def test_past_its_size_the_oldest_goes(size: int) -> None:
    memo: Memo[int, int] = Memo(size)
    for key in range(size + 3):
        memo.put(key, key * 10)
        assert len(memo) == min(key + 1, size)
    kept = list(range(3, size + 3))
    assert [memo.get(key) for key in range(size + 3)] == [None] * 3 + [key * 10 for key in kept]


def test_putting_a_key_again_replaces_its_value_without_growing() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("a", 1)
    memo.put("a", 2)
    assert len(memo) == 1 and memo.get("a") == 2


def test_replacing_a_value_keeps_the_keys_place_in_line() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("a", 3)  # still the oldest
    memo.put("c", 4)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, 2, 4)


def test_reading_does_not_keep_an_entry() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1
    memo.put("c", 3)
    assert memo.get("a") is None


def test_size_zero_keeps_nothing() -> None:
    memo: Memo[str, int] = Memo(0)
    memo.put("a", 1)
    assert len(memo) == 0 and memo.get("a") is None


def test_threads_never_leave_it_past_its_size_or_wrong() -> None:
    memo: Memo[tuple[int, int], int] = Memo(16)
    start = threading.Barrier(8, timeout=10)
    wrong: list[object] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(2000):
                memo.put((worker, n), worker * n)
                value = memo.get((worker, n - 1))
                if value is not None and value != worker * (n - 1):
                    wrong.append((worker, n))
        except Exception as exc:  # a lost race must never raise
            wrong.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert 0 < len(memo) <= 16


class _Link:
    """Equal by value, as links are; told apart only by identity."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Link) and other.target == self.target

    def __hash__(self) -> int:
        return hash(self.target)


def test_an_identity_memo_answers_for_the_same_objects_only() -> None:
    memo: IdentityMemo[str] = IdentityMemo(4)
    first = (_Link("/a.css"), _Link("/b.js"))
    memo.put(first, "outcome")
    assert memo.get(first) == "outcome"
    assert memo.get(tuple(first)) == "outcome"  # a new tuple of the same objects
    assert memo.get((_Link("/a.css"), _Link("/b.js"))) is None  # equal, not the same: recomputed
    assert memo.get(first[:1]) is None


def test_an_identity_memo_tells_extras_apart() -> None:
    memo: IdentityMemo[str] = IdentityMemo(4)
    links = (_Link("/a.css"),)
    memo.put(links, "site a", "a.example")
    memo.put(links, "site b", "b.example")
    assert (memo.get(links, "a.example"), memo.get(links, "b.example"), memo.get(links)) == ("site a", "site b", None)


class _Colliding(OrderedDict[object, object]):
    """Entries whose keys all collide, as ids reused by new objects would:
    any lookup finds the last entry put."""

    def get(self, key: object, default: object = None) -> object:
        return next(reversed(self.values())) if self else default


def test_a_colliding_key_never_hands_out_another_objects_answer() -> None:
    memo: IdentityMemo[str] = IdentityMemo(1)
    memo._memo._entries = _Colliding()  # type: ignore[assignment]
    memo.put((_Link("/a.css"),), "for a.css")
    assert memo.get((_Link("/x.css"),), ids=(1,)) is None  # found an entry, refused it
    assert memo.get((_Link("/other.css"),)) is None
    assert memo.get((_Link("/a.css"), _Link("/b.css"))) is None


def test_an_identity_memo_keeps_its_objects_alive_and_stays_bounded() -> None:
    memo: IdentityMemo[int] = IdentityMemo(3)
    kept = []
    for number in range(10):
        objects = (_Link(f"/{number}.css"),)
        kept.append(objects)
        memo.put(objects, number)
    assert len(memo) == 3
    assert [memo.get(objects) for objects in kept[-3:]] == [7, 8, 9]
    assert memo.get(kept[0]) is None
