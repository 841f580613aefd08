"""Responses other clients may be handed: ``FIREHOSE_BEHIND_CDN`` (a CDN
replays a URL's final ``Link`` header as a 103 to every later visitor) and
responses a shared cache is told to keep (``Cache-Control``,
``CDN-Cache-Control``, ``Surrogate-Control``, ...). Their ``Link`` header
holds public static assets only, the same for every client: no per-user
link, no ``nopush`` one client's history earned, no ``Set-Cookie``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, session, url_for
from flask.testing import FlaskClient

from flask_firehose import Firehose, SessionConnector, early_hints, push
from flask_firehose.testing import ParsedLink, links_of

NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
PUBLIC_CSS = "/static/app.css"
PUBLIC_JS = "/static/app.3f9a1c2b7d.js"


def _user_urls(user: str) -> list[str]:
    """What one user's page may hint that must reach nobody else."""
    return [
        f"/u/{user}/avatar.png",  # a view's URL
        f"/static/app.css?user={user}",  # a query that is not a version
        f"/static/reports/{user}.pdf#page=2",  # a fragment
        f"https://cdn.example/{user}.js",  # another origin
    ]


def _links(response: Any) -> list[ParsedLink]:
    return links_of(response)


def _described(response: Any) -> list[tuple[str, tuple[tuple[str, str | None], ...]]]:
    """Every link of *response* with its parameters, in order: two clients
    got the same header when these are equal."""
    return [(link.target, tuple(sorted(link.params))) for link in _links(response)]


def _site(cache_headers: Sequence[tuple[str, str]] = (), **config: Any) -> Flask:
    """A page that hints public files and its user's own ones, as push() and
    as declarations, with *cache_headers* on the response."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", **config)
    Firehose(app)

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    def users_own() -> list[str]:
        return _user_urls(session.get("user", "nobody"))[:2]

    @app.get("/")
    @early_hints(PUBLIC_JS, users_own)
    def home() -> Response:
        user = session.get("user", "nobody")
        push(PUBLIC_CSS, as_="style")
        for url in _user_urls(user):
            push(url, as_="fetch", crossorigin="anonymous")
        push(f"/static/{user}/photo.png", as_="image", imagesrcset=f"/u/{user}/big.png 2x")
        response = app.make_response("<p>home</p>")
        for name, value in cache_headers:
            response.headers.add(name, value)
        return response

    return app


def _signed_in(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    client.get(f"/login/{user}")
    return client


def test_behind_a_cdn_every_client_gets_the_same_public_links() -> None:
    app = _site(FIREHOSE_BEHIND_CDN=True)
    alice, bob = _signed_in(app, "alice"), _signed_in(app, "bob")
    anonymous = app.test_client(use_cookies=False)
    seen = []
    for _ in range(3):  # second and third visits: nothing one client's history earned
        for client in (alice, bob, anonymous):
            response = client.get("/", headers=NAVIGATE)
            assert response.status_code == 200
            assert response.headers.getlist("Set-Cookie") == []
            seen.append(_described(response))
    assert all(described == seen[0] for described in seen)
    targets = [target for target, _ in seen[0]]
    assert sorted(targets) == sorted([PUBLIC_CSS, PUBLIC_JS])
    assert not any(name == "nopush" for _, params in seen[0] for name, _ in params)


def test_without_the_setting_a_private_page_keeps_its_own_links() -> None:
    """The control: the same site, not behind a CDN, private pages."""
    app = _site()
    alice = _signed_in(app, "alice")
    first = alice.get("/", headers=NAVIGATE)
    assert "/u/alice/avatar.png" in [link.target for link in _links(first)]
    assert any(value.startswith("fh-pushed=") for value in first.headers.getlist("Set-Cookie"))
    second = alice.get("/", headers=NAVIGATE)
    assert [link.target for link in _links(second) if link.target == PUBLIC_CSS and link.has("nopush")] == [PUBLIC_CSS]


@pytest.mark.parametrize(
    "cache_headers",
    [
        [("Cache-Control", "public, max-age=60")],
        [("Cache-Control", "s-maxage=60")],
        [("Cache-Control", "max-age=60")],
        [("Cache-Control", "MAX-AGE=60")],
        [("Cache-Control", 'private="Set-Cookie", max-age=60')],
        [("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")],
        [("CDN-Cache-Control", "max-age=60")],
        [("Cache-Control", "private"), ("CDN-Cache-Control", "max-age=60")],
        [("Cache-Control", "no-store"), ("cdn-cache-control", "s-maxage=60")],
        [("Cloudflare-CDN-Cache-Control", "max-age=60")],
        [("Akamai-Cache-Control", "max-age=60")],
        [("Surrogate-Control", "max-age=60")],
        [("Surrogate-Control", 'content="ESI/1.0", max-age=60+30')],
        [("Surrogate-Control", "max-age=60;edge, no-store;shield")],
        [("Cache-Control", "private"), ("Surrogate-Control", "max-age=60")],
        # A CDN keeps its copy whatever Vary says (not every CDN keys by Cookie).
        [("CDN-Cache-Control", "max-age=60"), ("Vary", "Cookie")],
    ],
    ids=lambda fields: "+".join(f"{name}: {value}" for name, value in fields),
)
def test_a_response_a_shared_cache_keeps_gets_nothing_per_client(cache_headers: list[tuple[str, str]]) -> None:
    app = _site(cache_headers)
    alice, bob = _signed_in(app, "alice"), _signed_in(app, "bob")
    seen = []
    for _ in range(2):
        for client in (alice, bob):
            response = client.get("/", headers=NAVIGATE)
            assert response.status_code == 200
            assert not any(value.startswith("fh-pushed=") for value in response.headers.getlist("Set-Cookie"))
            seen.append(_described(response))
    assert all(described == seen[0] for described in seen), seen
    assert sorted(target for target, _ in seen[0]) == sorted([PUBLIC_CSS, PUBLIC_JS])
    assert not any(name == "nopush" for _, params in seen[0] for name, _ in params)


@pytest.mark.parametrize(
    "cache_headers",
    [
        [],
        [("Cache-Control", "private, max-age=60")],
        [("Cache-Control", "no-store")],
        [("Cache-Control", "public, max-age=60"), ("Vary", "Cookie")],
        [("CDN-Cache-Control", "no-store")],
        [("CDN-Cache-Control", "max-age=60, private")],
        [("CDN-Cache-Control", "max-age=60, no-store")],
        [("Surrogate-Control", "no-store")],
        [("Surrogate-Control", "max-age=60, no-store")],
        [("CDN-Cache-Control", "max-age=60"), ("CDN-Cache-Control", "no-store")],
    ],
    ids=lambda fields: "+".join(f"{name}: {value}" for name, value in fields) or "nothing",
)
def test_a_response_no_shared_cache_keeps_is_tracked(cache_headers: list[tuple[str, str]]) -> None:
    app = _site(cache_headers)
    alice = _signed_in(app, "alice")
    first = alice.get("/", headers=NAVIGATE)
    assert "/u/alice/avatar.png" in [link.target for link in _links(first)]
    assert any(value.startswith("fh-pushed=") for value in first.headers.getlist("Set-Cookie"))
    second = alice.get("/", headers=NAVIGATE)
    assert PUBLIC_CSS in [link.target for link in _links(second) if link.has("nopush")]


def test_an_attackers_page_cached_by_the_cdn_hands_out_no_users_link() -> None:
    """A per-user push() on a page a CDN keeps for a minute: whoever asks
    after alice gets the cached copy, so alice's copy must hold nothing of
    hers (and no cookie of hers)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app)

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/feed")
    def feed() -> Response:
        user = session.get("user", "nobody")
        push("/static/feed.css", as_="style")
        push(f"/api/{user}/inbox.json", as_="fetch", crossorigin="anonymous")
        push(f"/static/private/{user}/statement.pdf?token=s3cr3t-{user}", as_="fetch")
        response = app.make_response("<p>feed</p>")
        response.headers["CDN-Cache-Control"] = "max-age=60"
        return response

    cached = _signed_in(app, "alice").get("/feed", headers=NAVIGATE)
    header = " ".join(cached.headers.getlist("Link"))
    assert "alice" not in header and "s3cr3t" not in header
    assert [link.target for link in _links(cached)] == ["/static/feed.css"]
    assert not [value for value in cached.headers.getlist("Set-Cookie") if value.startswith("fh-pushed=")]
    # What a later visitor would be served from the cache equals what they get fresh.
    assert _described(app.test_client().get("/feed", headers=NAVIGATE)) == _described(cached)


def test_behind_a_cdn_no_cookie_is_set_on_any_page() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_BEHIND_CDN=True)
    Firehose(app)

    @app.get("/<int:n>")
    def page(n: int) -> str:
        push(f"/static/{n}.css", as_="style")
        return "<p>page</p>"

    client = app.test_client()
    for n in range(20):
        response = client.get(f"/{n}", headers=NAVIGATE)
        assert "Set-Cookie" not in response.headers
        assert [(link.target, link.has("nopush")) for link in _links(response)] == [(f"/static/{n}.css", False)]
    assert client.get_cookie("fh-pushed") is None


def test_behind_a_cdn_session_tracking_leaves_the_session_alone() -> None:
    """With the 0.2.3 session tracker, a page that does not read the session
    gets no session cookie and no ``Vary: Cookie`` from Firehose."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_BEHIND_CDN=True)
    Firehose(app, connector=SessionConnector)
    app.add_url_rule("/", "home", lambda: push(PUBLIC_CSS, as_="style") and "<p>home</p>")
    client = app.test_client()
    for _ in range(2):
        response = client.get("/", headers=NAVIGATE)
        assert "Set-Cookie" not in response.headers and "Vary" not in response.headers
        assert [(link.target, link.has("nopush")) for link in _links(response)] == [(PUBLIC_CSS, False)]


def test_behind_a_cdn_a_clients_own_cookie_changes_nothing() -> None:
    """A client arriving with a digest that says everything was pushed (from
    before the setting, or forged) gets the same header as anyone."""
    from flask_firehose._digest import DigestFormat, PushDigest

    app = _site(FIREHOSE_BEHIND_CDN=True)
    digest = PushDigest(DigestFormat()).add([PUBLIC_CSS, PUBLIC_JS]).encode()
    fresh = app.test_client(use_cookies=False).get("/", headers=NAVIGATE)
    known = app.test_client(use_cookies=False).get("/", headers={**NAVIGATE, "Cookie": f"fh-pushed={digest}"})
    assert _described(known) == _described(fresh)
    assert "Set-Cookie" not in known.headers


def test_behind_a_cdn_the_public_prefixes_are_the_apps_static_routes() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True, FIREHOSE_LEARN=False)
    shop = Blueprint("shop", __name__, static_folder="static", static_url_path="/shop-assets")
    app.register_blueprint(shop)
    Firehose(app)

    @app.get("/")
    def home() -> str:
        for url in ("/static/a.css", "/shop-assets/b.css", "/assets/c.css", "/static/../u/d.css"):
            push(url, as_="style")
        return "<p>home</p>"

    response = app.test_client().get("/", headers=NAVIGATE)
    assert [link.target for link in _links(response)] == ["/static/a.css", "/shop-assets/b.css"]


def test_behind_a_cdn_explicit_prefixes_replace_the_static_routes() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True, FIREHOSE_LEARN_PREFIXES=["/assets/"])
    Firehose(app)

    @app.get("/")
    def home() -> str:
        for url in ("/static/a.css", "/assets/c.css?v=3f9a1c"):
            push(url, as_="style")
        return "<p>home</p>"

    response = app.test_client().get("/", headers=NAVIGATE)
    assert [link.target for link in _links(response)] == ["/assets/c.css?v=3f9a1c"]


def test_behind_a_cdn_nothing_is_made_a_hint_past_the_push_cap() -> None:
    """A CDN pushes nothing, and a nopush link it replays in a 103 is ignored:
    the cap for pushing proxies does not apply."""
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True, FIREHOSE_MAX_PUSHES=2)
    Firehose(app)

    @app.get("/")
    def home() -> str:
        for n in range(5):
            push(f"/static/{n}.css", as_="style")
        push("/static/kept-as-made.css", as_="style", nopush=True)
        return "<p>home</p>"

    links = _links(app.test_client().get("/", headers=NAVIGATE))
    assert [(link.target, link.has("nopush")) for link in links] == [
        *((f"/static/{n}.css", False) for n in range(5)),
        ("/static/kept-as-made.css", True),
    ]


@pytest.mark.parametrize(("debug", "logged"), [(True, True), (False, False)])
def test_links_left_out_are_logged_in_development(caplog: pytest.LogCaptureFixture, debug: bool, logged: bool) -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True)
    app.debug = debug
    Firehose(app)
    app.add_url_rule("/", "home", lambda: push("/u/alice/avatar.png", as_="image") and "<p>home</p>")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        for _ in range(3):
            assert "Link" not in client.get("/", headers=NAVIGATE).headers
    messages = [record.getMessage() for record in caplog.records if record.name == "flask_firehose.lint"]
    if logged:
        assert len(messages) == 1  # once while the page's outcome is remembered
        assert "FIREHOSE_BEHIND_CDN" in messages[0] and "'/u/alice/avatar.png'" in messages[0]
    else:
        assert messages == []


def test_a_shared_cache_reason_names_the_field(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    app.debug = True
    Firehose(app)

    @app.get("/")
    def home() -> Response:
        push("/u/alice/avatar.png", as_="image")
        response = app.make_response("<p>home</p>")
        response.headers["Surrogate-Control"] = "max-age=600"
        return response

    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        app.test_client().get("/", headers=NAVIGATE)
    assert any("Surrogate-Control" in record.getMessage() for record in caplog.records)


def test_hostile_links_never_break_a_public_page() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True, FIREHOSE_STRICT=False)
    Firehose(app)
    hostile = [
        "/static/a%2F..%2F..%2Fu.css",
        "/static/%00.css",
        "/static/a.css?v=1&user=alice",
        "/static//a.css",
        "//evil.example/static/a.css",
        "/static/" + "a" * 5000 + ".css",
    ]

    @app.get("/")
    def home() -> str:
        for url in hostile:
            push(url, as_="style")
        push("/static/ok.css", as_="style")
        return "<p>home</p>"

    response = app.test_client().get("/", headers=NAVIGATE)
    assert response.status_code == 200
    assert [link.target for link in _links(response)] == ["/static/ok.css"]


def test_behind_a_cdn_under_a_mount_point_the_static_path_is_under_it() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_BEHIND_CDN=True)
    Firehose(app)

    @app.get("/")
    def home() -> str:
        push(url_for("static", filename="a.css"), as_="style")  # /shop/static/a.css
        push("/static/b.css", as_="style")  # not this app's: another app's at the origin's root
        return "<p>home</p>"

    response = app.test_client().get("/", base_url="http://localhost/shop", headers=NAVIGATE)
    assert [link.target for link in _links(response)] == ["/shop/static/a.css"]
