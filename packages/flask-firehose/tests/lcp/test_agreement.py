"""When samples agree: tables of the rule, and a property over any samples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_firehose._lcp.agreement import TEXT, agree, class_verdict, media_queries, ranges

A, B = "/a.jpg", "/b.jpg"


@pytest.mark.parametrize(
    ("samples", "needed", "expected"),
    [
        ([], 3, None),
        ([("c1", A), ("c2", A)], 3, None),
        ([("c1", A), ("c2", A), ("c3", A)], 3, A),
        ([("c1", A), ("c2", A), ("c3", B)], 3, A),
        ([("c1", A), ("c2", B), ("c3", TEXT)], 3, None),
        ([("c1", TEXT), ("c2", TEXT), ("c3", A)], 3, TEXT),
        # one client counts once, with its newest sample
        ([("c1", A), ("c1", A), ("c1", A)], 3, None),
        ([("c1", A), ("c2", B), ("c3", B), ("c2", A)], 3, A),
        # a tie is no majority
        ([("c1", A), ("c2", A), ("c3", B), ("c4", B)], 3, None),
        ([("c1", A), ("c2", A), ("c3", B), ("c4", B), ("c5", A)], 3, A),
        ([("c1", A)], 1, A),
    ],
)
def test_class_verdict(samples: list[tuple[str, str]], needed: int, expected: str | None) -> None:
    assert class_verdict(samples, needed) == expected


def _agreed(url: str) -> list[tuple[str, str]]:
    return [("c1", url), ("c2", url), ("c3", url)]


@pytest.mark.parametrize(
    ("per_class", "one", "by_class", "done"),
    [
        ({}, None, None, set()),
        ({0: A, 1: A, 2: A, 3: A}, A, None, {0, 1, 2, 3}),
        ({0: A, 1: A, 2: A}, None, None, {0, 1, 2}),
        ({0: B, 1: A, 2: A, 3: A}, None, (B, A, A, A), {0, 1, 2, 3}),
        ({0: TEXT, 1: A, 2: A, 3: A}, None, (None, A, A, A), {0, 1, 2, 3}),
        ({0: TEXT, 1: TEXT, 2: TEXT, 3: TEXT}, None, None, {0, 1, 2, 3}),
    ],
)
def test_agree(
    per_class: dict[int, str], one: str | None, by_class: tuple[str | None, ...] | None, done: set[int]
) -> None:
    found = agree({index: _agreed(url) for index, url in per_class.items()}, 4, 3)
    assert found.one == one
    assert found.by_class == by_class
    assert found.done == done
    assert found.complete is (len(done) == 4)


def test_classes_outside_are_ignored() -> None:
    assert agree({7: _agreed(A)}, 4, 3).done == frozenset()


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (0, 0, "(max-width: 480px)"),
        (1, 1, "(min-width: 481px) and (max-width: 600px)"),
        (2, 2, "(min-width: 601px) and (max-width: 782px)"),
        (3, 3, "(min-width: 783px)"),
        (1, 3, "(min-width: 481px)"),
        (0, 3, None),
    ],
)
def test_media_queries(first: int, last: int, expected: str | None) -> None:
    assert media_queries((480, 600, 782), first, last) == expected


def test_ranges_merge_adjacent_classes() -> None:
    assert ranges([B, A, A, None]) == [(B, 0, 0), (A, 1, 2)]
    assert ranges([A, None, A, A]) == [(A, 0, 0), (A, 2, 3)]
    assert ranges([TEXT, TEXT]) == []


_urls = st.sampled_from([TEXT, A, B, "/c.jpg"])
_clients = st.sampled_from([f"c{n}" for n in range(6)])
_samples = st.dictionaries(
    st.integers(min_value=-1, max_value=5), st.lists(st.tuples(_clients, _urls), max_size=12), max_size=6
)


@given(_samples, st.integers(min_value=1, max_value=5))
def test_only_sampled_urls_and_one_only_when_every_class_agreed(
    samples: dict[int, list[tuple[str, str]]], needed: int
) -> None:
    found = agree(samples, 4, needed)
    sampled = {url for kept in samples.values() for _, url in kept}
    assert found.urls <= sampled
    for verdict in found.verdicts:
        assert verdict is None or verdict in sampled
    if found.one is not None:
        assert found.one != TEXT
        for index in range(4):
            kept = samples[index]
            newest = dict(kept)
            assert len(newest) >= needed
            assert 2 * sum(url == found.one for url in newest.values()) > len(newest)
    if found.by_class is not None:
        assert found.complete
        assert {url for url in found.by_class if url} <= sampled
