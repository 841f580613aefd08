"""The bounded memo: at most *size* entries, the oldest out first."""

from __future__ import annotations

import threading

import pytest

from flask_firehose._memo import Memo


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
