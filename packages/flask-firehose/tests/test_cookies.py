"""Reading one cookie's values out of a ``Cookie`` header, checked against Werkzeug."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.http import parse_cookie

from flask_firehose._cookies import cookie_values


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fh-pushed=abc", "abc"),
        ("a=1; fh-pushed=abc; b=2", "abc"),
        ("a=1;fh-pushed=abc", "abc"),
        ('fh-pushed="abc"', "abc"),
        ("fh-pushed=", ""),
        ("fh-pushed=first; fh-pushed=second", "first"),
        ("xfh-pushed=no; fh-pushed=yes", "yes"),
        ("xfh-pushed=no", None),
        ("a=fh-pushed=no", None),
        ("session=abc", None),
        ("fh-pushed", None),
        ("", None),
    ],
)
def test_cookie_values_read_only_their_own_pairs(header: str, expected: str | None) -> None:
    found = cookie_values(header, "fh-pushed", 8)
    assert (found[0] if found else None) == expected


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=200))
def test_cookie_values_agree_with_werkzeug_on_digest_values(value: str) -> None:
    header = f"other=1; fh-pushed={value}; last=2"
    assert cookie_values(header, "fh-pushed", 1) == [parse_cookie(header)["fh-pushed"]]


def test_reading_many_copies_costs_a_few() -> None:
    import time

    header = "; ".join(["fh-pushed=" + "A" * 50] * 100_000 + ["fh-pushed=ours"])
    started = time.perf_counter()
    values = cookie_values(header, "fh-pushed", 8)
    assert time.perf_counter() - started < 0.05
    assert len(values) == 8 and values[-1] == "ours"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fh-pushed=a; fh-pushed=b", ["a", "b"]),
        ("fh-pushed=a;fh-pushed=b; x=1", ["a", "b"]),
        ('fh-pushed="a"; other=fh-pushed=c; xfh-pushed=d', ["a"]),
        ("fh-pushed=1; fh-pushed=2; fh-pushed=3", ["2", "3"]),
        ("fh-pushed=fh-pushed=x", ["fh-pushed=x"]),
        ("", []),
        ("fh-pushed", []),
    ],
)
def test_cookie_values_reads_the_last_ones_in_order(header: str, expected: list[str]) -> None:
    assert cookie_values(header, "fh-pushed", 2) == expected


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=40), max_size=12))
def test_cookie_values_agree_with_werkzeug(values: list[str]) -> None:
    header = "; ".join(["a=1", *(f"fh-pushed={value}" for value in values), "z=2"])
    assert cookie_values(header, "fh-pushed", 8) == parse_cookie(header).getlist("fh-pushed")[-8:]
