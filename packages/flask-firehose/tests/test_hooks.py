"""The request hooks: which declarations apply to an endpoint, in which
order, and which blueprints an endpoint belongs to (as Flask itself says)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from flask import Blueprint, Flask, request

from flask_firehose import ConfigurationError, Firehose, Link, MemoryHintStore, early_hints, push
from flask_firehose._learning_scope import scoped_key
from flask_firehose._scopes import blueprints_of
from flask_firehose._state import AppState, state_of
from flask_firehose.testing import links_of, record_early_hints

from .conftest import AppFactory


@pytest.mark.parametrize(
    ("endpoint", "blueprints"),
    [
        ("", []),
        ("view", []),
        ("a.view", ["a"]),
        ("a.b.view", ["a.b", "a"]),
        ("a.b.c.view", ["a.b.c", "a.b", "a"]),
        ("shop.item_detail", ["shop"]),
    ],
)
def test_blueprints_of(endpoint: str, blueprints: list[str]) -> None:
    assert blueprints_of(endpoint) == blueprints


@pytest.fixture
def nested(make_app: AppFactory) -> Flask:
    """An app with a view at each depth: ``/``, ``/a/``, ``/a/b/``, ``/a/b/c/``,
    each declaring a stylesheet named after its blueprint."""
    app, firehose = make_app(FIREHOSE_LEARN=False)
    firehose.declare_hints("/static/app.css")
    outer, middle, inner = Blueprint("a", __name__), Blueprint("b", __name__), Blueprint("c", __name__)
    for name, blueprint in (("a", outer), ("a.b", middle), ("a.b.c", inner)):
        firehose.declare_hints(f"/static/{name}.css", blueprint=name)
        blueprint.add_url_rule("/", "view", early_hints(f"/static/{name}.view.css")(lambda: "<p>page</p>"))
    app.add_url_rule("/", "view", early_hints("/static/view.css")(lambda: "<p>page</p>"))
    middle.register_blueprint(inner, url_prefix="/c")
    outer.register_blueprint(middle, url_prefix="/b")
    app.register_blueprint(outer, url_prefix="/a")
    return app


def _state(app: Flask) -> AppState:
    state = state_of(app)
    assert state is not None
    return state


@pytest.mark.parametrize(
    ("path", "endpoint"), [("/", "view"), ("/a/", "a.view"), ("/a/b/", "a.b.view"), ("/a/b/c/", "a.b.c.view")]
)
def test_blueprints_of_agrees_with_flask(nested: Flask, path: str, endpoint: str) -> None:
    with nested.test_request_context(path):
        assert request.endpoint == endpoint
        assert blueprints_of(endpoint) == request.blueprints


@pytest.mark.parametrize(
    ("endpoint", "declared"),
    [
        ("view", ["/static/app.css", "/static/view.css"]),
        ("a.view", ["/static/app.css", "/static/a.css", "/static/a.view.css"]),
        ("a.b.view", ["/static/app.css", "/static/a.b.css", "/static/a.css", "/static/a.b.view.css"]),
        (
            "a.b.c.view",
            ["/static/app.css", "/static/a.b.c.css", "/static/a.b.css", "/static/a.css", "/static/a.b.c.view.css"],
        ),
        ("no.such.endpoint", ["/static/app.css"]),
    ],
)
def test_declared_for_goes_app_blueprints_innermost_first_then_view(
    nested: Flask, endpoint: str, declared: list[str]
) -> None:
    assert list(_state(nested).hints.applied(nested, endpoint)) == declared


def test_the_103_and_the_header_follow_the_same_order(nested: Flask) -> None:
    client = nested.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/a/b/")
    expected = ["/static/app.css", "/static/a.b.css", "/static/a.css", "/static/a.b.view.css"]
    assert [[link.target for link in links] for links in hints.links] == [expected]
    assert [link.target for link in links_of(response)] == expected


def test_a_blueprint_declaration_reaches_its_nested_blueprints_only(nested: Flask) -> None:
    client = nested.test_client()
    with record_early_hints(client) as hints:
        for path in ("/", "/a/", "/a/b/c/"):
            client.get(path)
    with_b = [any(link.target == "/static/a.b.css" for link in links) for links in hints.links]
    assert with_b == [False, False, True]


NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


@pytest.mark.parametrize(
    ("environ", "learns"),
    [
        ({}, False),  # no wsgi.early_hints: the server sends no 103
        ({"wsgi.early_hints": lambda headers: None, "SERVER_PROTOCOL": "HTTP/1.1"}, False),  # HTTP/1.1, not allowed
        # A client's own "Version: 2" header over HTTP/1.1 is no HTTP/2.
        ({"wsgi.early_hints": lambda headers: None, "HTTP_VERSION": "2"}, False),
        ({"wsgi.early_hints": lambda headers: None, "flask_firehose.testing.http2": True}, True),
    ],
)
def test_learning_only_where_a_103_can_go_out(environ: dict[str, object], learns: bool) -> None:
    """Learned hints go in the 103 only: a request that could carry none
    teaches nothing (and costs nothing to observe)."""
    store = MemoryHintStore(min_seen=1)
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s")
    Firehose(app, hint_store=store)

    @app.get("/page")
    def page() -> str:
        push("/static/app.css")
        return "<p>page</p>"

    client = app.test_client()
    client.environ_base.update(environ)  # type: ignore[arg-type]
    response = client.get("/page", headers=NAVIGATION)
    assert response.status_code == 200 and "/static/app.css" in response.headers["Link"]
    learned = store.learned(scoped_key(state_of(app).learner.namespace, "localhost", "page"))  # type: ignore[union-attr, arg-type]
    assert [link.target for link in learned] == (["/static/app.css"] if learns else [])


def _targets_103(recorder: Any) -> list[list[str]]:
    return [[link.target for link in links] for links in recorder.links]


def test_the_103_memo_never_hands_one_clients_pushes_to_another(make_app: AppFactory) -> None:
    """Behind a pushing front with digest tracking, a returning client's 103
    leaves out what it was pushed; a new client's and a speculation's (both
    remembered) do not, in any order."""
    app, firehose = make_app(FIREHOSE_EARLY_HINTS_HTTP1=True, FIREHOSE_LEARN=False)
    firehose.declare_hints("/static/app.css", "/static/app.js")

    @app.get("/")
    def page() -> str:
        return "<p>page</p>"

    returning, new = app.test_client(), app.test_client()
    with record_early_hints(returning, http2=False) as mine:
        first = returning.get("/")
        assert "fh-pushed=" in first.headers["Set-Cookie"]
    everything = ["/static/app.css", "/static/app.js"]
    assert _targets_103(mine) == [everything]
    for _ in range(3):
        fresh = app.test_client()
        with record_early_hints(fresh, http2=False) as theirs:
            fresh.get("/", headers={"Sec-Purpose": "prefetch"})
        assert _targets_103(theirs) == [everything]
        with record_early_hints(new, http2=False) as theirs:
            new.delete_cookie("fh-pushed")
            new.get("/")
        assert _targets_103(theirs) == [everything]
        with record_early_hints(returning, http2=False) as mine:
            again = returning.get("/")
        assert _targets_103(mine) == []  # all pushed already: no 103
        assert all(link.has("nopush") for link in links_of(again))


def test_fresh_links_every_request_never_get_another_requests_103(make_app: AppFactory) -> None:
    """A declared callable making a new Link per request (ids are reused as
    soon as the old ones die; ``nopush`` so that the 103 holds a copy, and a
    text page so that no final-header outcome keeps the link alive): every
    103 holds this request's link."""
    app, _ = make_app(FIREHOSE_TRACKING=False, FIREHOSE_LEARN=False)
    counter = iter(range(10**6))

    @app.get("/")
    @early_hints(lambda: Link(f"/static/{next(counter) % 97}.css", as_="style", nopush=True))
    def page() -> Any:
        return app.response_class("page", mimetype="text/plain")

    client = app.test_client()
    for i in range(1500):
        with record_early_hints(client) as hints:
            client.get("/")
        assert _targets_103(hints) == [[f"/static/{i % 97}.css"]]
        if i % 50 == 0:
            gc.collect()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, [("Referrer-Policy", "strict-origin-when-cross-origin")]),
        ({"FIREHOSE_EARLY_HINTS_REFERRER_POLICY": None}, []),
        ({"FIREHOSE_EARLY_HINTS_REFERRER_POLICY": "No-Referrer"}, [("Referrer-Policy", "no-referrer")]),
        (
            {"FIREHOSE_EARLY_HINTS_REFERRER_POLICY": None, "FIREHOSE_EARLY_HINTS_CSP": "img-src 'self'"},
            [("Content-Security-Policy", "img-src 'self'")],
        ),
    ],
)
def test_the_103_carries_the_configured_policies(
    make_app: AppFactory, config: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    app, _ = make_app(**config)
    app.add_url_rule("/", "index", early_hints("/static/app.css")(lambda: "<p>page</p>"))
    with app.test_client() as client, record_early_hints(client) as hints:
        client.get("/")
    assert len(hints.sent) == 1
    assert [header for header in hints.sent[0] if header[0] != "Link"] == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FIREHOSE_EARLY_HINTS_REFERRER_POLICY", "unsafe-url\r\nSet-Cookie: a=b"),
        ("FIREHOSE_EARLY_HINTS_REFERRER_POLICY", "everything"),
        ("FIREHOSE_EARLY_HINTS_REFERRER_POLICY", ""),
        ("FIREHOSE_EARLY_HINTS_REFERRER_POLICY", 1),
        ("FIREHOSE_EARLY_HINTS_CSP", "img-src 'self'\nSet-Cookie: a=b"),
        ("FIREHOSE_EARLY_HINTS_CSP", "script-src 'nonce-abc123'"),
        ("FIREHOSE_EARLY_HINTS_CSP", " "),
        ("FIREHOSE_EARLY_HINTS_CSP", "img-src caf\u00e9.example"),
        ("FIREHOSE_BEHIND_CDN", "yes"),
    ],
)
def test_bad_policy_config_is_refused_naming_the_key(make_app: AppFactory, key: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=key):
        make_app(**{key: value})
