"""RedisHintStore.observe remembers what a response's links send to Redis,
by the links' identities: against a real redis-server, what it records stays
what it recorded before (each key's own counts, changes sent at once, an
outage handled as before)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from flask_firehose import Link
from flask_firehose._redis import RedisHintStore, RedisUnavailableError

from ..redis_server import RedisServer
from .learning_pages import learning_app, visit

pytestmark = pytest.mark.integration

PAGE = (Link("/static/main.3f9a1c2b.css", as_="style"), Link("/static/app.js", as_="script", nopush=True))


@pytest.fixture
def make(server: RedisServer, closing: Callable[[Any], Any]) -> Callable[..., RedisHintStore]:
    def factory(**params: Any) -> RedisHintStore:
        params.setdefault("timeout", 1.0)
        store: RedisHintStore = closing(RedisHintStore(url=server.url, **params))
        return store

    return factory


def _scripts(store: RedisHintStore, monkeypatch: pytest.MonkeyPatch) -> list[list[str | int]]:
    """Every argument list the store sends to the observe script, from now on."""
    sent: list[list[str | int]] = []
    run = store._run

    def counted(args: list[str | int]) -> int:
        sent.append(list(args))
        return run(args)

    monkeypatch.setattr(store, "_run", counted)
    return sent


def _state(raw: redis.Redis, store: RedisHintStore, key: str) -> dict[str, Any]:
    found = raw.hget(store.state_key, key)
    assert isinstance(found, bytes), key
    state: dict[str, Any] = json.loads(found)
    return state


def _steady(store: RedisHintStore, key: str, links: Any) -> None:
    for _ in range(3):  # learning, then learned and steady
        store.learned(key)
        store.observe(key, links)


def test_the_same_links_under_two_apps_keys_are_counted_under_each(
    make: Callable[..., RedisHintStore], raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps (two keys) sharing one store and one page's very Link
    objects: each key gets its own counts and its own quiet spell; what is
    remembered for the links never carries the first key to the second."""
    store = make(min_seen=2, reuse=60)
    sent = _scripts(store, monkeypatch)
    one, two = "shop localhost site.home", "blog localhost site.home"
    _steady(store, one, PAGE)
    assert len(sent) == 3
    store.observe(one, PAGE)  # steady: not sent again
    assert len(sent) == 3
    store.observe(two, PAGE)  # the same links under another key: sent, under that key
    assert len(sent) == 4 and sent[-1][0] == two
    assert [c[2] for c in _state(raw, store, two)["c"]] == [1, 1]
    assert [c[2] for c in _state(raw, store, one)["c"]] == [3, 3]
    _steady(store, two, PAGE)
    assert store.learned(one) == store.learned(two) == list(PAGE)
    assert sorted(store.endpoints()) == sorted([one, two])
    # Both keys' argument lists hold the same links, each after its own key.
    assert sent[0][1:] == sent[-1][1:] and {args[0] for args in sent} == {one, two}


def test_changed_links_are_sent_at_once_while_steady(
    make: Callable[..., RedisHintStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make(min_seen=1, reuse=60)
    sent = _scripts(store, monkeypatch)
    page = list(PAGE)
    _steady(store, "page", page)
    assert len(sent) == 2  # counted, then counted and found steady
    store.observe("page", page)
    assert len(sent) == 2  # steady
    # Equal links, other objects: the same response as far as counting goes.
    store.observe("page", tuple(Link(link.target, as_=link.as_, nopush=link.nopush) for link in PAGE))
    assert len(sent) == 2
    # The same list, grown in place: a new response, sent and counted.
    extra = Link("/static/font.woff2", as_="font", crossorigin="")
    page.append(extra)
    store.observe("page", page)
    assert len(sent) == 3 and "/static/font.woff2" in sent[-1]
    store.learned("page")
    assert store.learned("page") == [*PAGE, extra]
    # A new build of one asset: sent, and it replaces the old one.
    rebuilt = Link("/static/main.77e0aa11.css", as_="style")
    store.observe("page", (rebuilt, *PAGE[1:], extra))
    assert len(sent) == 4
    assert [link.target for link in store.learned("page")] == [
        "/static/main.77e0aa11.css",
        "/static/app.js",
        "/static/font.woff2",
    ]


def test_what_is_remembered_for_links_stays_bounded(make: Callable[..., RedisHintStore]) -> None:
    store = make(min_seen=1, reuse=0)
    for n in range(300):
        store.observe(f"page{n}", (Link(f"/static/{n}.css", as_="style"),))
    assert len(store._sendings) <= 256
    assert store.learned("page299") == [Link("/static/299.css", as_="style")]


def test_a_steady_page_through_an_outage(
    server: RedisServer, make: Callable[..., RedisHintStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis killed while a page is steady: its same links are still not
    sent (no error, no wait); a change is, and fails as before (an error
    that opens the breaker, then failing fast); once Redis is back the
    change is counted."""
    timeout, retry_after = 0.3, 0.5
    store = make(min_seen=1, reuse=60, timeout=timeout, retry_after=retry_after)
    _steady(store, "page", PAGE)
    sent = _scripts(store, monkeypatch)
    server.kill()
    started = time.monotonic()
    store.observe("page", PAGE)
    assert time.monotonic() - started < 0.05 and sent == []
    changed = (*PAGE, Link("/static/font.woff2", as_="font", crossorigin=""))
    with pytest.raises(redis.exceptions.ConnectionError) as first:
        store.observe("page", changed)
    assert not isinstance(first.value, RedisUnavailableError)
    with pytest.raises(RedisUnavailableError, match="next attempt in"):
        store.observe("page", changed)
    assert len(sent) == 1  # the breaker answered the second call: no script ran
    store.observe("page", PAGE)  # still quiet: the failed change was never counted
    server.start()  # same port, empty
    deadline = time.monotonic() + retry_after + 3
    while True:
        try:
            store.observe("page", changed)
            break
        except redis.exceptions.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert store.learned("page") == list(changed)


def test_a_steady_endpoint_is_sent_again_once_its_quiet_spell_ends(
    make: Callable[..., RedisHintStore], raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through an app: a steady endpoint's responses are not sent while the
    store's quiet spell lasts, and the first one after it is, which marks
    the endpoint observed again in Redis (its place among the endpoints
    kept, its keys' expiry pushed back). A shortcut in the learner that
    skipped the store for a steady endpoint would stop that."""
    store = make(min_seen=2, reuse=1.0)  # long enough for the visits of a loaded machine
    app = learning_app(store, __name__)
    n = 0
    while visit(app, n % 2)[1] != [["/static/app.css", "/static/app.js"]]:
        n += 1
        assert n < 20
    sent = _scripts(store, monkeypatch)
    for _ in range(4):  # learned; the second round finds it steady, then quiet
        visit(app, n % 2)
        n += 1
    quiet = len(sent)
    [endpoint] = store.endpoints()
    score = raw.zscore(store.index_key, endpoint)
    for _ in range(3):
        visit(app, n % 2)
        n += 1
    assert len(sent) == quiet
    time.sleep(1.05)
    visit(app, n % 2)
    assert len(sent) == quiet + 1 and sent[-1][0] == endpoint
    later = raw.zscore(store.index_key, endpoint)
    assert score is not None and later is not None and later > score
