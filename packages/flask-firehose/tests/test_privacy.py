"""Nothing one client's response holds may reach another client.

Learned hints go into every client's 103, so each layout below is tried with
two signed-in users whose pages push per-user URLs, and with a stranger who
then asks for every page: the stranger's 103s must hold public static assets
only. Each layout also shows that learning does happen for public assets, so
the absence of a leak is not the absence of learning.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cachelib import FileSystemCache
from flask import Blueprint, Flask, redirect, render_template_string, request, session, url_for
from flask_session import Session
from werkzeug.wrappers import Response

from flask_firehose import Firehose, push
from flask_firehose.testing import links_of, record_early_hints

USERS = ("alice", "bob")


def _private_urls(name: str, static: str) -> list[str]:
    """URLs a page for *name* pushes that must never reach anyone else."""
    return [
        f"/media/private/{name}/avatar.png?token=t-{name}",
        f"{static}../media/{name}.png",
        f"{static}%2e%2e/media/{name}.png",
        f"{static}..%2Fmedia/{name}.png",
        f"{static}users/{name}.png?token=t-{name}",
        f"{static}app.css;session={name}",
        f"{static}app.css?v=1&user={name}",
        f"{static}app.css#{name}",
        f"{static}u/{name}/avatar.png",  # under the static prefix, but answered by a view
        f"//{name}.example/app.css",
    ]


def _site(app: Flask, static: str, public_css: str, *, cache_public: bool) -> None:
    """A home page, a login, and a per-user dashboard on *app*."""

    def page(*urls: str) -> str:
        return render_template_string(
            "<html>{% for url in urls %}<link rel=preload href='{{ push(url) }}'>{% endfor %}</html>", urls=urls
        )

    def finish(body: str) -> Any:
        response = app.make_response(body)
        if cache_public:  # an app that (wrongly) marks per-user pages public
            response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @app.get("/")
    def home() -> Any:
        return finish(page(public_css))

    @app.post("/login")
    def login() -> Response:
        session["user"] = request.form["user"]
        return redirect(url_for("dashboard"))

    @app.get("/dashboard")
    def dashboard() -> Any:
        user = session.get("user")
        if user not in USERS:
            return redirect("/")
        return finish(page(public_css, *_private_urls(user, static)))

    @app.get(static + "u/<name>/avatar.png")
    def avatar(name: str) -> str:
        return f"avatar of {name}"

    @app.get("/u/<name>")
    def profile(name: str) -> Any:  # per-user pages anyone may visit
        return finish(page(public_css, *_private_urls(name, static)))


def _default(tmp_path: Path) -> tuple[Flask, str, str]:
    return Flask(__name__), "/static/", "/static/app.css"


def _root_static_with_prefixes(tmp_path: Path) -> tuple[Flask, str, str]:
    app = Flask(__name__, static_url_path="")
    app.config["FIREHOSE_LEARN_PREFIXES"] = ["/assets"]
    return app, "/assets/", "/assets/app.css"


def _blueprint_static(tmp_path: Path) -> tuple[Flask, str, str]:
    app = Flask(__name__, static_folder=None)
    theme = Blueprint("theme", __name__, static_folder="theme-files", static_url_path="/theme/static")
    app.register_blueprint(theme)
    return app, "/theme/static/", "/theme/static/app.css"


def _custom_folder(tmp_path: Path) -> tuple[Flask, str, str]:
    return Flask(__name__, static_folder=str(tmp_path), static_url_path="/public"), "/public/", "/public/app.css"


def _flask_session(tmp_path: Path) -> tuple[Flask, str, str]:
    app = Flask(__name__)
    app.config.update(
        SESSION_TYPE="cachelib", SESSION_CACHELIB=FileSystemCache(str(tmp_path / "s")), SESSION_PERMANENT=False
    )
    Session(app)
    return app, "/static/", "/static/app.css"


LAYOUTS: dict[str, Callable[[Path], tuple[Flask, str, str]]] = {
    "default": _default,
    "root-static-with-prefixes": _root_static_with_prefixes,
    "blueprint-static": _blueprint_static,
    "custom-static-folder": _custom_folder,
    "flask-session": _flask_session,
}


def _build(layout: str, tmp_path: Path, *, cache_public: bool) -> tuple[Flask, str]:
    app, static, public_css = LAYOUTS[layout](tmp_path)
    app.config.update(SECRET_KEY="k", FIREHOSE_STRICT=False)
    Firehose(app)
    _site(app, static, public_css, cache_public=cache_public)
    return app, public_css


def _signed_in(app: Flask, name: str) -> Any:
    client = app.test_client()
    client.post("/login", data={"user": name})
    return client


def _stranger_hints(app: Flask) -> set[str]:
    stranger = app.test_client(use_cookies=False)
    seen: set[str] = set()
    with record_early_hints(stranger) as hints:
        for path in ("/", "/dashboard", "/u/alice", "/u/bob", "/u/carol"):
            stranger.get(path)
    for links in hints.links:
        seen.update(link.target for link in links)
    return seen


@pytest.mark.parametrize("cache_public", [False, True], ids=["private-pages", "pages-marked-public"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_user_url_reaches_a_stranger(layout: str, cache_public: bool, tmp_path: Path) -> None:
    app, public_css = _build(layout, tmp_path, cache_public=cache_public)
    clients = {name: _signed_in(app, name) for name in USERS}
    anonymous = app.test_client(use_cookies=False)
    for _ in range(3):
        for client in clients.values():
            with record_early_hints(client):
                assert client.get("/dashboard").status_code == 200
        for name in USERS:  # per-user pages visited without credentials
            with record_early_hints(anonymous):
                assert anonymous.get(f"/u/{name}").status_code == 200
                assert anonymous.get("/").status_code == 200
    seen = _stranger_hints(app)
    assert public_css in seen  # learning works: the public stylesheet was learned
    assert seen <= {public_css}, f"leaked: {seen - {public_css}}"


def test_two_users_at_once(tmp_path: Path) -> None:
    app, public_css = _build("flask-session", tmp_path, cache_public=True)
    errors: list[BaseException] = []

    def visit(name: str) -> None:
        try:
            client = _signed_in(app, name)
            for _ in range(30):
                with record_early_hints(client):
                    assert client.get("/dashboard").status_code == 200
                    assert client.get(f"/u/{name}").status_code == 200
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=visit, args=(name,)) for name in USERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert _stranger_hints(app) <= {public_css}


def _visit_pushing(app: Flask, caplog: pytest.LogCaptureFixture, *urls: str) -> list[list[str]]:
    """Four anonymous visits to a page pushing *urls*; the 103s' targets."""
    app.add_url_rule("/", "home", lambda: "".join(push(url) for url in urls))
    client = app.test_client(use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="flask_firehose"), record_early_hints(client) as hints:
        for _ in range(4):
            client.get("/", headers={"Accept": "text/html"})
    return [[link.target for link in links] for links in hints.links]


def test_learning_refuses_a_static_route_at_the_root(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__, static_url_path="")
    app.config.update(SECRET_KEY="k")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        Firehose(app)
    assert "static_url_path=''" in caplog.text  # said at start-up
    caplog.clear()

    hints = _visit_pushing(app, caplog, "/app.css", "/media/private/alice/avatar.png?token=secret")
    assert hints == []
    assert caplog.text.count("Learning is off") == 1 and "Learning skips" not in caplog.text


def test_blueprint_statics_still_learn_beside_a_root_static(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__, static_url_path="")
    app.config.update(SECRET_KEY="k")
    Firehose(app)
    app.register_blueprint(Blueprint("theme", __name__, static_folder="theme", static_url_path="/theme/static"))

    hints = _visit_pushing(app, caplog, "/theme/static/app.css", "/app.css")
    assert hints == [["/theme/static/app.css"], ["/theme/static/app.css"]]
    assert "Learning is off" not in caplog.text


def test_credentialed_requests_teach_nothing_unless_public(tmp_path: Path) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/")
    def home() -> Any:
        push("/static/app.css")
        response = app.make_response("<p>home</p>")
        if request.headers.get("X-Public"):  # a header, not a query: a query is a URL variant
            response.headers["Cache-Control"] = "public, max-age=60"
        if request.headers.get("X-Vary"):
            response.headers["Vary"] = "Cookie"
        return response

    def learned_after(query: str, headers: dict[str, str]) -> bool:
        fresh = Flask(__name__)
        fresh.config.update(SECRET_KEY="k", FIREHOSE_LEARN_MIN_SEEN=1)
        Firehose(fresh)
        fresh.add_url_rule("/", "home", app.view_functions["home"])
        client = fresh.test_client(use_cookies=False)
        with record_early_hints(client) as hints:
            client.get("/" + query, headers=headers)
            assert hints.sent == []
            client.get("/")
        return bool(hints.sent)

    assert learned_after("", {}) is True
    assert learned_after("", {"Cookie": "session=abc"}) is False
    assert learned_after("", {"Authorization": "Bearer x"}) is False
    assert learned_after("", {"Cookie": "session=abc", "X-Public": "1"}) is True
    assert learned_after("", {"Cookie": "session=abc", "X-Public": "1", "X-Vary": "1"}) is False


def test_a_view_that_reads_the_session_teaches_nothing_even_if_marked_public() -> None:
    # Flask adds Vary: Cookie only after every after-request hook has run.
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/home")
    def home() -> Any:
        user = session.get("user", "anonymous")
        push(f"/static/private/{user}-statement.pdf", as_="fetch")
        response = app.make_response("<p>your page</p>")
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    alice = app.test_client()
    alice.get("/login/alice")
    with record_early_hints(alice):
        for _ in range(3):
            assert alice.get("/home").headers["Vary"] == "Cookie"
    bob = app.test_client(use_cookies=False)
    with record_early_hints(bob) as hints:
        bob.get("/home")
    assert all("alice" not in link.target for links in hints.links for link in links)


def test_a_link_only_one_url_pushes_is_not_the_endpoints() -> None:
    # Capability URLs need no cookie: /share/<token> pushes that token's file.
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False)
    Firehose(app)

    @app.get("/share/<token>")
    def share(token: str) -> str:
        push("/static/share.css")
        push(f"/static/shared/{token}/preview.png")
        return "<p>shared</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(3):  # a link-preview bot fetching one share twice over
            client.get("/share/secret-token-1")
        client.get("/share/other-token")
        client.get("/share/third-token")
        client.get("/share/fourth-token")
    sent = {link.target for links in hints.links for link in links}
    assert sent == {"/static/share.css"}


@pytest.mark.parametrize("key", ["REMOTE_USER", "SSL_CLIENT_CERT"])
def test_server_authenticated_requests_teach_nothing(key: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)
    app.add_url_rule("/", "home", lambda: push("/static/app.css") and "<p>home</p>")
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        client.get("/", environ_base={key: "alice"})
        client.get("/")
    assert hints.sent == []


def test_an_outer_app_context_shares_nothing_between_requests() -> None:
    # An app context pushed at import (db.create_all() style) is reused by every
    # request made inside it, and flask.g with it: hints must not live there.
    app = Flask(__name__)
    app.config.update(FIREHOSE_STRICT=False)
    Firehose(app)

    @app.get("/profile/<name>")
    def profile(name: str) -> str:
        return push(f"/static/avatars/{name}.png")

    @app.get("/api")
    def api() -> dict[str, bool]:
        return {"ok": True}

    with app.app_context():
        alice = app.test_client().get("/profile/alice")
        bob = app.test_client().get("/profile/bob")
        api_response = app.test_client().get("/api")
    assert [link.target for link in links_of(alice)] == ["/static/avatars/alice.png"]
    assert [link.target for link in links_of(bob)] == ["/static/avatars/bob.png"]
    assert "Link" not in api_response.headers


def test_a_vary_cookie_in_a_second_field_counts() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/")
    def home() -> Any:
        push("/static/app.css")
        response = app.make_response("<p>home</p>")
        response.headers["Cache-Control"] = "public, max-age=60"
        response.headers.add("Vary", "Accept-Encoding")
        response.headers.add("Vary", "Cookie")
        return response

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        client.get("/", headers={"Cookie": "auth=alice"})
        client.get("/")
    assert hints.sent == []


def test_a_link_only_one_query_pushes_is_not_the_endpoints() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_TRACKING=False)
    Firehose(app)

    @app.get("/search")
    def search() -> str:
        push("/static/search.css")
        push(f"/static/results/{request.args.get('q', 'none')}.png")
        return "<p>results</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(3):
            client.get("/search?q=alice")
        client.get("/search?q=bob")
        client.get("/search?q=carol")
        client.get("/search")
    sent = {link.target for links in hints.links for link in links}
    assert sent == {"/static/search.css"}


def test_a_capability_url_riding_in_a_link_parameter_reaches_no_one_else() -> None:
    """Share pages push the same public hero image, each with its own
    capability URL in ``imagesrcset`` (and ``anchor``, ``title``): the hero's
    target is common to every share, but the link is not public whole, so a
    stranger's 103 holds neither a token nor the link, and nothing with a
    token is even counted."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    @app.get("/share/<token>")
    def share(token: str) -> str:
        push("/static/share.css")
        push("/static/hero.jpg", as_="image", imagesrcset=f"/files/{token}/photo.jpg 1x", title=token)
        push("/static/hero.webp", as_="image", anchor=f"/files/{token}/")
        return "<p>shared</p>"

    visitors = app.test_client(use_cookies=False)
    with record_early_hints(visitors):
        for n in range(6):
            visitors.get(f"/share/t-{n}-secret")
    stranger = app.test_client(use_cookies=False)
    with record_early_hints(stranger) as hints:
        stranger.get("/share/mine")
    assert [[link.target for link in links] for links in hints.links] == [["/static/share.css"]]
    assert all("secret" not in value for headers in hints.sent for _, value in headers)
    from flask_firehose import MemoryHintStore
    from flask_firehose._state import state_of

    store = state_of(app).learner.store  # type: ignore[union-attr]
    assert isinstance(store, MemoryHintStore)
    counted = [link.target for key in store.endpoints() for link in store.learned(key)]
    assert counted == ["/static/share.css"]


@pytest.mark.parametrize(
    ("path", "mine", "theirs"),
    [
        ("/share/<token>", ["/share/SECRET?utm_source=a", "/share/SECRET?utm_source=b", "/share/SECRET?fbclid=c&"],
         "/share/someone-else"),
        ("/search", ["/search?q=carol&x=1", "/search?q=carol&x=2", "/search?x=3&q=carol", "/search?q=%63arol"],
         "/search?q=dave"),
    ],
)  # fmt: skip
def test_one_url_with_other_query_parameters_is_still_one_url(path: str, mine: list[str], theirs: str) -> None:
    """Tracking parameters (utm_*, fbclid) and junk ones never make one
    visitor's share link or search result common to the endpoint."""
    app = Flask("variants")
    app.config.update(FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)

    def page(token: str = "") -> str:
        push(f"/static/private/{token or request.args.get('q', '')}.png")
        return "<!doctype html>"

    app.add_url_rule(path, "page", page)
    for url in mine:
        client = app.test_client(use_cookies=False)
        with record_early_hints(client):
            client.get(url)
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        client.get(theirs)
    sent = [link.target for links in hints.links for link in links]
    assert not any("SECRET" in target or "carol" in target for target in sent), sent
