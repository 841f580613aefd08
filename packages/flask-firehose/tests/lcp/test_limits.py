"""The rate limits: fixed memory, per client and per key."""

from __future__ import annotations

import pytest

from flask_firehose._lcp.limits import ClientLimiter, KeyLimiter, client_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_client_id_is_keyed_and_stable() -> None:
    first = client_id("s", "192.0.2.1")
    assert first == client_id(b"s", "192.0.2.1")
    assert first != client_id("other", "192.0.2.1")
    assert first != client_id("s", "192.0.2.2")
    assert len(first) == 16 and "192" not in first


def test_one_report_per_interval() -> None:
    clock = Clock()
    limiter = ClientLimiter(10, clock=clock)
    client = client_id("s", "192.0.2.1")
    assert limiter.allows(client)
    assert limiter.allows(client)  # asking spends nothing
    assert limiter.spend(client)
    assert not limiter.allows(client)
    assert not limiter.spend(client)
    clock.now += 10
    assert limiter.spend(client)


def test_client_limiter_is_fixed_size() -> None:
    limiter = ClientLimiter(10, slots=64)
    for n in range(20000):
        limiter.spend(client_id("s", f"10.0.{n // 256}.{n % 256}"))
    assert len(limiter) == 64
    assert len(limiter._last) == 64


def test_key_limiter() -> None:
    clock = Clock()
    limiter = KeyLimiter(3, max_keys=4, clock=clock)
    assert [limiter.spend("k") for _ in range(4)] == [True, True, True, False]
    assert not limiter.allows("k")
    assert limiter.allows("other")
    clock.now += 60
    assert limiter.allows("k") and limiter.spend("k")
    for n in range(1000):
        limiter.spend(f"k{n}")
    assert len(limiter) == 4


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: one visitor
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:192.0.2.1", "192.0.2.1", True),
        ("192.0.2.1", "192.0.2.2", False),
        ("not an address", "not an address", True),
    ],
)
def test_client_id_counts_an_ipv6_64_as_one_client(one: str, other: str, same: bool) -> None:
    assert (client_id("s", one) == client_id("s", other)) is same
