"""Every app and every site learns alone.

Written as an attacker works: a tenant of a multi-host app pushes a file of its
own and watches another tenant's 103s; two apps share one store; one app is
mounted twice; a client sends a Host that is not one, or floods made-up hosts.
Each test also shows that learning does happen where it should, so the
absence of a leak is not the absence of learning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, url_for
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from flask_firehose import Firehose, Link, MemoryHintStore, push
from flask_firehose._learning import Learner
from flask_firehose._learning_scope import scoped_key, site_of, split_key
from flask_firehose._requests import TEST_HTTP2
from flask_firehose._state import state_of
from flask_firehose.testing import EarlyHintsRecorder, links_of, record_early_hints

from .redis_server import RedisServer, require_redis_server

# -- the key: pure functions ---------------------------------------------------


@pytest.mark.parametrize(
    ("host", "scheme", "root", "site"),
    [
        ("shop.example", "https", "", "shop.example"),
        ("Shop.EXAMPLE:443", "https", "", "shop.example"),
        ("shop.example:80", "http", "", "shop.example"),
        ("shop.example:443", "http", "", "shop.example:443"),
        ("shop.example:80", "https", "", "shop.example:80"),
        ("shop.example:", "https", "", "shop.example"),  # RFC 3986 §6.2.3: an empty port is the default
        ("shop.example:08443", "https", "", "shop.example:8443"),
        ("127.0.0.1:8443", "https", "", "127.0.0.1:8443"),
        ("[::1]:8443", "https", "", "[::1]:8443"),
        ("[2001:DB8::1]", "https", "", "[2001:db8::1]"),
        ("shop.example", "https", "/app", "shop.example/app"),
        ("shop.example", "https", "/app/", "shop.example/app"),
        ("shop.example", "https", "/café", "shop.example/caf%C3%A9"),
        ("shop.example", "https", "/a b", "shop.example/a%20b"),
        ("shop.example", "https", "/100%", "shop.example/100%25"),
        # Not a host[:port]: no site, so nothing learned and nothing served.
        ("", "https", "", None),
        ("evil.com\r\n", "https", "", None),
        ("evil.com\r\nX-Injected: 1", "https", "", None),
        ("a b", "https", "", None),
        ("[::1", "https", "", None),
        ("[::1]x", "https", "", None),
        ("[fe80::1%25eth0]", "https", "", None),
        ("[shop.example]", "https", "", None),
        ("x:99999999", "https", "", None),
        ("x:65536", "https", "", None),
        ("x:0", "https", "", None),
        ("x:-1", "https", "", None),
        (":8443", "https", "", None),
        ("user@shop.example", "https", "", None),
        ("shop.example/evil", "https", "", None),
        ("bücher.example", "https", "", None),
        ("a" * 300, "https", "", None),
        ("shop.example", "https", "/\udc80", None),
        ("shop.example", "https", "/" + "a" * 2000, None),
    ],
)
def test_site_of(host: str, scheme: str, root: str, site: str | None) -> None:
    assert site_of(host, scheme, root) == site


def test_keys_round_trip_and_refuse_a_site_with_a_space() -> None:
    key = scoped_key("my app/ü", "shop.example/app", "shop.item view")
    assert key == "my%20app%2F%C3%BC shop.example/app shop.item view"
    assert split_key(key) == ("my app/ü", "shop.example/app", "shop.item view")
    with pytest.raises(ValueError, match="'a b'"):
        scoped_key("app", "a b", "index")
    with pytest.raises(ValueError, match="''"):
        scoped_key("app", "", "index")
    for junk in ("index", "app index", " a b", "a  b", 42, None):
        assert split_key(junk) is None  # type: ignore[arg-type]


@given(app_name=st.text(min_size=1), host=st.from_regex(r"[a-z0-9.\-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
       root=st.text(), endpoint=st.text())  # fmt: skip
def test_any_key_splits_back_to_what_made_it(app_name: str, host: str, root: str, endpoint: str) -> None:
    site = site_of(host, "https", "/" + root)
    if site is None:
        return
    assert " " not in site
    assert split_key(scoped_key(app_name, site, endpoint)) == (app_name, site, endpoint)


# -- through Flask ---------------------------------------------------------------


def _visit(client: Any, path: str, host: str, times: int = 1) -> list[list[str]]:
    """*times* anonymous navigations; the targets of each 103 sent."""
    with record_early_hints(client) as hints:
        for _ in range(times):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == 200
    return [[link.target for link in links] for links in hints.links]


def _sent(visits: list[list[str]]) -> set[str]:
    return {target for targets in visits for target in targets}


def test_one_app_two_hosts_never_share_learned_hints() -> None:
    """Tenant A's page pushes its theme; tenant B, on the same app and the
    same endpoint, must never get it in a 103, however many times A's page
    is visited first."""
    app = Flask("tenants")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/")
    def home() -> str:
        push("/static/site.css")
        if request.host == "tenant-a.example":
            push("/static/a-theme.css")
        return "<p>home</p>"

    client = app.test_client(use_cookies=False)
    assert _sent(_visit(client, "/", "tenant-a.example", times=5)) == {"/static/site.css", "/static/a-theme.css"}
    for host in ("tenant-b.example", "TENANT-B.example", "tenant-b.example:443", "tenant-b.example:8443"):
        visits = _visit(client, "/", host, times=3)
        assert "/static/a-theme.css" not in _sent(visits), host
    assert _visit(client, "/", "tenant-b.example") == [["/static/site.css"]]  # B learned its own
    assert _visit(client, "/", "tenant-a.example")[0] == ["/static/site.css", "/static/a-theme.css"]


def _pushing_app(name: str, files: Sequence[str]) -> Flask:
    app = Flask(name)
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False)

    @app.get("/")
    def index() -> str:
        for name in files:
            push(url_for("static", filename=name))
        return "<p>index</p>"

    return app


@pytest.mark.parametrize("layout", ["two extensions", "one factory extension"])
def test_two_apps_sharing_one_store_never_share_learned_hints(layout: str) -> None:
    """Two apps (same endpoint name, same static path, same host) count in
    one store: each app's 103 holds its own files only."""
    store = MemoryHintStore(min_seen=2)
    shop = _pushing_app("shop", ["shop.css", "common.css"])
    blog = _pushing_app("blog", ["blog.css", "common.css"])
    if layout == "two extensions":
        Firehose(shop, hint_store=store)
        Firehose(blog, hint_store=store)
    else:
        firehose = Firehose(hint_store=store)
        firehose.init_app(shop)
        firehose.init_app(blog)
    shop_client, blog_client = shop.test_client(use_cookies=False), blog.test_client(use_cookies=False)
    shop_sent: set[str] = set()
    blog_sent: set[str] = set()
    for _ in range(4):  # interleaved
        shop_sent |= _sent(_visit(shop_client, "/", "localhost"))
        blog_sent |= _sent(_visit(blog_client, "/", "localhost"))
    assert shop_sent == {"/static/shop.css", "/static/common.css"}
    assert blog_sent == {"/static/blog.css", "/static/common.css"}
    assert sorted(store.endpoints()) == ["blog localhost index", "shop localhost index"]


def test_one_app_mounted_twice_learns_per_mount() -> None:
    """The same app at /one and /two (DispatcherMiddleware): each mount
    learns its own files under its own root, never the other's."""
    store = MemoryHintStore(min_seen=1)
    app = Flask("mounted")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False)
    Firehose(app, hint_store=store)

    @app.get("/")
    def index() -> str:
        push(url_for("static", filename="site.css"))
        push(url_for("static", filename=f"{request.script_root.strip('/')}-only.css"))
        return "<p>index</p>"

    def not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]

    client = Client(DispatcherMiddleware(not_found, {"/one": app, "/two": app}))

    def visit(path: str) -> tuple[list[list[str]], list[str]]:
        recorder = EarlyHintsRecorder()
        environ = {"wsgi.early_hints": recorder, TEST_HTTP2: True, "HTTP_SEC_FETCH_MODE": "navigate"}
        response = client.get(path, environ_base=environ)
        assert response.status_code == 200
        return [[link.target for link in links] for links in recorder.links], [
            link.target for link in links_of(response)
        ]

    visit("/one/")
    hints, final = visit("/one/")
    assert final == ["/one/static/site.css", "/one/static/one-only.css"]
    assert hints == [final]  # learned under its root
    first, _ = visit("/two/")
    assert first == []  # nothing of /one's
    hints, final = visit("/two/")
    assert hints == [["/two/static/site.css", "/two/static/two-only.css"]]
    assert sorted(store.endpoints()) == ["mounted localhost/one index", "mounted localhost/two index"]


@pytest.mark.parametrize(
    "host",
    ["evil.com\r\n", "a b", "[::1", "x:99999999", "", "\x00", "evil.com\r\nSet-Cookie: x=1", "é.example"],
)
def test_a_hostile_host_learns_nothing_and_breaks_nothing(host: str) -> None:
    store = MemoryHintStore(min_seen=1)
    app = Flask("hosts")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False, FIREHOSE_STRICT=True)
    Firehose(app, hint_store=store)

    @app.get("/")
    def index() -> str:
        push("/static/app.css")
        return "<p>index</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(3):
            response = client.get("/", environ_overrides={"HTTP_HOST": host})
            assert response.status_code == 200
            assert [link.target for link in links_of(response)] == ["/static/app.css"]
    assert hints.sent == []
    assert list(store.endpoints()) == []
    # A real host still learns, and the hostile one still gets nothing.
    assert _visit(client, "/", "shop.example", times=2)[-1] == ["/static/app.css"]
    with record_early_hints(client) as hints:
        client.get("/", environ_overrides={"HTTP_HOST": host})
    assert hints.sent == []


def test_a_flood_of_made_up_hosts_evicts_unless_trusted_hosts_is_set() -> None:
    """Each key is one endpoint on one site, so an app answering any Host
    sees made-up hosts push its real page out of a small store; Flask's
    TRUSTED_HOSTS answers them 400 before any view, and nothing is evicted."""
    for trusted in (None, ["shop.example"]):
        store = MemoryHintStore(min_seen=1, max_endpoints=4)
        app = Flask("flood")
        app.config.update(
            SECRET_KEY="s", FIREHOSE_TRACKING=False, TRUSTED_HOSTS=trusted, FIREHOSE_LEARN_NAMESPACE="flood"
        )
        Firehose(app, hint_store=store)
        app.add_url_rule("/", "index", lambda: push("/static/app.css") and "<p>index</p>")
        client = app.test_client(use_cookies=False)
        _visit(client, "/", "shop.example")
        with record_early_hints(client):
            statuses = {client.get("/", headers={"Host": f"h{n}.example"}).status_code for n in range(10)}
        real = scoped_key("flood", "shop.example", "index")
        if trusted is None:
            assert statuses == {200} and real not in list(store.endpoints())
        else:
            assert statuses == {400} and list(store.endpoints()) == [real]


def test_learned_by_site_lists_what_each_site_would_be_hinted() -> None:
    store = MemoryHintStore(min_seen=1)
    app = Flask("sites")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False)
    Firehose(app, hint_store=store)

    names = {"a.example": "a", "[::1]:8443": "ipv6", "b.example": "b", "c.example": "c"}

    @app.get("/")
    def index() -> str:
        push(url_for("static", filename=f"{names[request.host]}.css"))
        return "<p>index</p>"

    client = app.test_client(use_cookies=False)
    _visit(client, "/", "a.example")
    _visit(client, "/", "[::1]:8443")
    _visit(client, "/", "b.example", times=1)
    with record_early_hints(client):
        client.get("/", base_url="https://c.example/mount")
    # Another app's keys, and a poisoned key of this one, in the same store.
    store.observe(scoped_key("other", "a.example", "index"), [Link("/static/other.css", as_="style")])
    store.observe(scoped_key("sites", "d.example", "index"), [Link("/static/d.css", params=(("media", "x"),))])
    store.observe("index", [Link("/static/unscoped.css", as_="style")])
    for site in ("bad\r\nhost", "a@b", "x:99999999", "a.example/%zz\x00"):
        store.observe(f"sites {site} index", [Link("/static/a.css", as_="style")])
    learner = state_of(app).learner  # type: ignore[union-attr]
    assert isinstance(learner, Learner)
    refused: list[tuple[str, str]] = []
    found = learner.learned_by_site(app, "index", refused)
    assert found is not None
    assert {site: [link.target for link in links] for site, links in found.items()} == {
        "a.example": ["/static/a.css"],
        "[::1]:8443": ["/static/ipv6.css"],
        "b.example": ["/static/b.css"],
        "c.example/mount": ["/mount/static/c.css"],
        "d.example": [],
    }
    reason = "not a site this app can be asked on: nothing is hinted there"
    assert refused == [
        ("d.example", "not a public link of this app: </static/d.css>; rel=preload; media=x"),
        ("'bad\\r\\nhost'", reason),
        ("'a@b'", reason),
        ("'x:99999999'", reason),
        ("'a.example/%zz\\x00'", reason),
    ]
    assert learner.learned_by_site(app, "nothing") == {}

    class NoListing:
        def learned(self, key: str) -> list[Link]:
            return []

        def observe(self, key: str, links: Sequence[Link]) -> None:
            pass

    learner.store = NoListing()
    assert learner.learned_by_site(app, "index") is None


# -- Redis: the same keys ------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    running = RedisServer(require_redis_server(), tmp_path / "redis.log")
    running.start()
    try:
        yield running.url
    finally:
        running.stop()


@pytest.mark.integration
def test_two_apps_and_two_hosts_on_one_redis(redis_url: str) -> None:
    from flask_firehose import RedisHintStore

    stores = [RedisHintStore(url=redis_url, min_seen=1, reuse=0) for _ in range(2)]
    try:
        shop = _pushing_app("shop", ["shop.css"])
        blog = _pushing_app("blog", ["blog.css"])
        Firehose(shop, hint_store=stores[0])
        Firehose(blog, hint_store=stores[1])
        shop_client, blog_client = shop.test_client(use_cookies=False), blog.test_client(use_cookies=False)
        _visit(shop_client, "/", "a.example")
        assert _visit(shop_client, "/", "a.example") == [["/static/shop.css"]]
        assert _visit(shop_client, "/", "b.example") == []  # another host of the same app
        assert _visit(blog_client, "/", "a.example") == []  # another app on the same host
        assert _visit(blog_client, "/", "a.example") == [["/static/blog.css"]]
        learner = state_of(blog).learner  # type: ignore[union-attr]
        assert learner is not None
        found = learner.learned_by_site(blog, "index")
        assert found is not None
        assert {site: [link.target for link in links] for site, links in found.items()} == {
            "a.example": ["/static/blog.css"]
        }
    finally:
        for store in stores:
            store.close()


def test_explicit_prefixes_under_a_script_root() -> None:
    """Mounted at /app with FIREHOSE_LEARN_PREFIXES = ["/assets/"]: a front
    may serve /assets/ at the origin's root or under the mount; both are
    learned. The app's static route is learned under the mount only."""
    app = Flask("explicit")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False, FIREHOSE_LEARN_PREFIXES=["/assets/"])
    Firehose(app, hint_store=MemoryHintStore(min_seen=1))
    pushed = ["/assets/front.css", "/app/assets/mounted.css", "/static/x.css", "/app/static/x.css", "/other/a.css"]

    @app.get("/")
    def index() -> str:
        for url in pushed:
            push(url)
        return "<p>index</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(2):
            client.get("/", base_url="https://shop.example/app")
    assert [[link.target for link in links] for links in hints.links] == [
        ["/assets/front.css", "/app/assets/mounted.css"]
    ]


def test_the_key_of_a_request() -> None:
    app = Flask("keyed")
    app.config.update(SECRET_KEY="s")
    Firehose(app)
    app.add_url_rule("/p", "page", lambda: "x")
    learner = state_of(app).learner  # type: ignore[union-attr]
    assert learner is not None
    cases = [
        ("https://Shop.Example:443/mount", "/p", {}, "keyed shop.example/mount page"),
        ("http://127.0.0.1:8080", "/p", {}, "keyed 127.0.0.1:8080 page"),
        ("http://localhost", "/missing", {}, None),  # no endpoint
        ("http://localhost", "/p", {"HTTP_HOST": "a b"}, None),
    ]
    for base_url, path, overrides, key in cases:
        with app.test_request_context(path, base_url=base_url, environ_overrides=overrides):
            assert learner.key(app, request) == key, base_url
