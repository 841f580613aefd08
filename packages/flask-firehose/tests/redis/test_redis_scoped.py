"""Two apps on one Redis, and one app on two hosts, never see each other's
learned hints: the learner's keys hold the app's name and the site, and the
Redis store keeps them exactly as given (a hash field each, never part of
a key's name), with the default prefix shared by all."""

from __future__ import annotations

import pytest
import redis
from flask import Flask, request

from flask_firehose import Firehose, push
from flask_firehose._learning_scope import split_key
from flask_firehose._redis import RedisHintStore
from flask_firehose.testing import record_early_hints

from ..redis_server import RedisServer

pytestmark = pytest.mark.integration


def _app(name: str, url: str, asset: str | None = None) -> Flask:
    """An app configured by ``FIREHOSE_REDIS_URL`` only; its page pushes a
    file named for the app (or *asset*) and the host it was asked for."""
    app = Flask(name)
    app.config.update(SECRET_KEY="s", FIREHOSE_REDIS_URL=url, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/")
    def page() -> str:
        push(f"/static/{asset or name}-{request.host.split(':')[0]}.css")
        return "<p>page</p>"

    return app


def _hinted(app: Flask, host: str) -> list[list[str]]:
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        assert client.get("/", base_url=f"http://{host}").status_code == 200
    return [[link.target for link in links] for links in hints.links]


def _learn(app: Flask, host: str) -> list[list[str]]:
    """Visit until the page is hinted (a few visits at most); its 103s then."""
    for _ in range(5):
        hints = _hinted(app, host)
        if hints:
            return hints
    return []


def test_two_apps_on_one_redis_keep_their_hints(server: RedisServer) -> None:
    shop, blog = _app("shop", server.url), _app("blog", server.url)
    assert _learn(shop, "example.test") == [["/static/shop-example.test.css"]]
    assert _hinted(blog, "example.test") == []  # same host, same endpoint name, other app
    assert _learn(blog, "example.test") == [["/static/blog-example.test.css"]]
    assert _hinted(shop, "example.test") == [["/static/shop-example.test.css"]]

    with redis.Redis.from_url(server.url) as raw:
        store = RedisHintStore(raw)
        assert sorted(raw.keys("*")) == sorted(key.encode() for key in (store.state_key, store.index_key))
        names = store.endpoints()
    assert sorted(names) == ["blog example.test page", "shop example.test page"]  # as the learner gave them
    assert {split_key(name) for name in names} == {("shop", "example.test", "page"), ("blog", "example.test", "page")}


def test_one_app_on_two_hosts_keeps_each_hosts_hints(server: RedisServer) -> None:
    app = _app("shop", server.url)
    assert _learn(app, "a.example") == [["/static/shop-a.example.css"]]
    assert _hinted(app, "b.example") == []  # learned for a.example only
    assert _hinted(app, "a.example:80") == [["/static/shop-a.example.css"]]  # the default port is the same site
    assert _learn(app, "b.example") == [["/static/shop-b.example.css"]]
    assert _hinted(app, "a.example") == [["/static/shop-a.example.css"]]
    assert _hinted(app, "A.EXAMPLE") == [["/static/shop-a.example.css"]]  # hosts have no case


def test_a_name_with_spaces_and_braces_is_one_app(server: RedisServer) -> None:
    """App names are the learner's, quoted: one holding a space or braces
    cannot pose as another app's site or pick the keys' slot."""
    spaced, plain = _app("shop example.test", server.url, "spaced"), _app("shop", server.url)
    assert _learn(spaced, "x.test") == [["/static/spaced-x.test.css"]]
    assert _hinted(plain, "example.test") == [] and _hinted(plain, "x.test") == []
    braced = _app("{shop}", server.url, "braced")
    assert _hinted(braced, "x.test") == []
    assert _learn(braced, "x.test") == [["/static/braced-x.test.css"]]
    with redis.Redis.from_url(server.url) as raw:
        assert len(raw.keys("*")) == 2  # every app's hints in the store's two keys
