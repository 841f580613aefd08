"""Every call into Redis ends within its timeout, whatever the peer does.

The peer here is hostile (:class:`SlowPeer`, a real socket server on
127.0.0.1): it answers a byte at a time, each byte well within the per-read
timeout but the whole reply far past the call's timeout, or it accepts and
never answers. A deadline per read would let the first kind hold a call for
as long as it likes; the backends bound the whole call.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from flask_firehose import Firehose, Link, push
from flask_firehose._redis import RedisConnector, RedisHintStore, RedisUnavailableError, link_to_json
from flask_firehose.testing import record_early_hints

from ..redis_server import SlowPeer, bulk_reply

pytestmark = pytest.mark.integration

TIMEOUT = 0.35  # the call's bound
GAP = 0.1  # between two bytes of a reply: well within a read's timeout
SLACK = 0.25  # the scheduler on a loaded machine; the documented margin is far smaller


def _state(*targets: str) -> bytes:
    """An endpoint's state as the observe script writes it, every link learned."""
    entries = [
        [target, target, 5, 5, order, 1, link_to_json(Link(target, as_="style"))]
        for order, target in enumerate(targets)
    ]
    return json.dumps({"n": 5, "o": len(targets), "c": entries}).encode()


def _integer(value: int) -> bytes:
    return b":%s\r\n" % str(value).zfill(40).encode()  # zeros in front: a long reply


REPLIES = {
    b"HGET": bulk_reply(_state("/static/a.css")),
    b"EVALSHA": _integer(1),
    b"ZRANGE": b"*2\r\n" + bulk_reply(b"app example.test page") + bulk_reply(b"app example.test other"),
    b"DEL": _integer(2),
    b"SRANDMEMBER": b"*2\r\n" + bulk_reply(b"/static/a.css") + bulk_reply(b"/static/b.css"),
    b"MULTI": b"+OK\r\n",
    b"SADD": b"+QUEUED\r\n",
    b"EXPIRE": b"+QUEUED\r\n",
    b"EXEC": b"*3\r\n" + _integer(1) + _integer(2) + _integer(1),
}


@pytest.fixture
def peers() -> Iterator[Callable[..., SlowPeer]]:
    started: list[SlowPeer] = []

    def start(gap: float | None = GAP, replies: dict[bytes, bytes] = REPLIES) -> SlowPeer:
        peer = SlowPeer(dict(replies), gap).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


def _store(url: str, **options: Any) -> RedisHintStore:
    return RedisHintStore(url=url, timeout=TIMEOUT, retry_after=0.3, reuse=0, min_seen=1, **options)


def _connector(url: str, **options: Any) -> RedisConnector:
    return RedisConnector(lambda: "user:1", url=url, timeout=TIMEOUT, retry_after=0.3, **options)


CALLS: dict[str, Callable[[str], Callable[[], object]]] = {
    "learned": lambda url: lambda: _store(url).learned("page"),
    "observe": lambda url: lambda: _store(url).observe("page", [Link("/static/a.css", as_="style")]),
    "endpoints": lambda url: _store(url).endpoints,
    "clear": lambda url: _store(url).clear,
    "get_pushed": lambda url: _connector(url).get_pushed,
    "set_pushed": lambda url: lambda: _connector(url).set_pushed({"/static/a.css"}),
    # More URLs than the bound: reading what is stored and writing, one call.
    "set_pushed, past max_urls": lambda url: lambda: _connector(url, max_urls=1).set_pushed({"/a", "/b"}),
}


def _timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


@pytest.mark.parametrize("name", list(CALLS))
def test_a_peer_answering_a_byte_at_a_time_cannot_hold_a_call(peers: Callable[..., SlowPeer], name: str) -> None:
    peer = peers()
    elapsed, exc = _timed(CALLS[name](peer.url))
    assert isinstance(exc, redis.exceptions.TimeoutError), exc
    assert elapsed < TIMEOUT + SLACK, f"{name} took {elapsed:.3f}s"
    # Bytes did arrive within each read's timeout: only the call's deadline ended it.
    assert peer.sent >= 2, peer.sent


@pytest.mark.parametrize("name", list(CALLS))
def test_a_peer_that_never_answers_cannot_hold_a_call(peers: Callable[..., SlowPeer], name: str) -> None:
    peer = peers(gap=None)
    elapsed, exc = _timed(CALLS[name](peer.url))
    assert isinstance(exc, redis.exceptions.TimeoutError), exc
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT + SLACK, f"{name} took {elapsed:.3f}s"
    assert peer.commands and peer.sent == 0


def test_the_breaker_opens_and_a_timed_out_connection_is_never_reused(
    peers: Callable[..., SlowPeer], closing: Callable[[Any], Any]
) -> None:
    peer = peers(replies={b"HGET": bulk_reply(_state("/static/old.css"))})
    store: RedisHintStore = closing(_store(peer.url))
    with pytest.raises(redis.exceptions.TimeoutError):
        store.learned("page")
    elapsed, exc = _timed(lambda: store.learned("page"))
    assert isinstance(exc, RedisUnavailableError) and elapsed < 0.05  # open: no network
    assert peer.accepted == 1 and peer.sent < len(peer.replies[b"HGET"])

    # The peer comes back: it sends the rest of the old reply at once, and the new state.
    peer.replies[b"HGET"] = bulk_reply(_state("/static/new.css"))
    peer.hurry()
    time.sleep(store._guard.retry_after)
    assert store.learned("page") == [Link("/static/new.css", as_="style")]  # not the old reply's tail
    assert peer.accepted == 2  # the timed-out connection was closed, a new one made


def test_a_client_with_default_settings_is_bounded_and_keeps_them_elsewhere(
    peers: Callable[..., SlowPeer], closing: Callable[[Any], Any]
) -> None:
    """A client with redis-py's defaults (no socket timeout, three retries
    with exponential backoff) is bounded all the same inside the store."""
    peer = peers(replies={**REPLIES, b"GET": bulk_reply(b"ok")})  # 8 bytes: 0.8 s
    client = closing(redis.Redis.from_url(peer.url))
    store = RedisHintStore(client, timeout=TIMEOUT, reuse=0)
    connector = RedisConnector(lambda: "u", client, timeout=TIMEOUT)
    for call in [lambda: store.learned("page"), connector.get_pushed]:
        elapsed, exc = _timed(call)
        assert isinstance(exc, redis.exceptions.TimeoutError) and elapsed < TIMEOUT + SLACK
    started = time.monotonic()
    assert client.get("key") == b"ok"  # the app's own call: its own settings, as before
    assert time.monotonic() - started > TIMEOUT


def test_a_page_is_served_while_redis_trickles(
    peers: Callable[..., SlowPeer], caplog: pytest.LogCaptureFixture
) -> None:
    """An app configured with ``FIREHOSE_REDIS_URL`` naming the slow peer
    (the store's default timeout, 50 ms; a byte every 30 ms): the page is
    served, without the learned hint the peer is slowly sending, and the
    failure is logged."""
    peer = peers(gap=0.03)
    app = Flask("trickled")
    app.config.update(SECRET_KEY="s", FIREHOSE_REDIS_URL=peer.url, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/")
    def home() -> str:
        push("/static/a.css")
        return "<p>home</p>"

    reply_time = len(REPLIES[b"HGET"]) * 0.03
    client = app.test_client(use_cookies=False)
    with caplog.at_level(logging.ERROR, logger="flask_firehose"), record_early_hints(client) as hints:
        started = time.monotonic()
        response = client.get("/", headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.get_data() == b"<p>home</p>"
    assert hints.sent == []  # the learned link never arrived in time
    assert peer.commands[:1] == [b"HGET"]  # the store did ask
    failures = [record for record in caplog.records if "hint store" in record.getMessage()]
    causes = [record.exc_info[1] for record in failures if record.exc_info]
    assert any(isinstance(cause, redis.exceptions.TimeoutError) for cause in causes), caplog.text
    assert reply_time > 4 and elapsed < reply_time / 4, elapsed  # a generous bound: 50 ms calls


def test_a_client_that_would_retry_with_backoff_gives_up_at_once(closing: Callable[[Any], Any]) -> None:
    """redis-py's default client retries a refused connection three times,
    sleeping up to seconds between tries: inside the store it does not."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    client = closing(redis.Redis(port=port))
    store = RedisHintStore(client, timeout=TIMEOUT, reuse=0)
    connector = RedisConnector(lambda: "u", client, timeout=TIMEOUT)
    for call in [lambda: store.learned("page"), connector.get_pushed]:
        elapsed, exc = _timed(call)
        assert type(exc) is redis.exceptions.ConnectionError and elapsed < TIMEOUT, (exc, elapsed)


def test_a_connection_made_inside_a_call_keeps_the_apps_retry_policy(closing: Callable[[Any], Any]) -> None:
    """The store's calls never retry; the app's own calls keep the policy it
    configured, even on a connection the store's call created."""
    from flask_firehose._redis.deadline import within

    retried: list[type[Exception]] = [redis.exceptions.ReadOnlyError]
    client = closing(redis.Redis(port=1, retry_on_error=retried, retry=Retry(ExponentialBackoff(), 3)))
    RedisHintStore(client)  # arms the client's pool
    with within(TIMEOUT):
        connection = client.connection_pool.make_connection()
        assert connection.retry.get_retries() == 0
    assert connection.retry.get_retries() == 3
    assert redis.exceptions.ReadOnlyError in connection.retry._supported_errors
