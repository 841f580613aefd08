"""``flask firehose routes`` says why it shows no learned hint: hints are
learned only from visits answered with a 103, which Flask's development
server never sends (a real Werkzeug server on 127.0.0.1, visited as a browser
navigates, teaches nothing); the in-memory store is one per process, and the
line says how to share one (the app's config; a bare ``FIREHOSE_REDIS_URL``
variable is not read); with
``FIREHOSE_EARLY_HINTS`` off no 103 is ever sent. Once a server that sends
103s was visited, the learned hint is listed and the line is gone."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from flask_firehose import Firehose, Link, push
from flask_firehose._hint_store import MemoryHintStore
from flask_firehose._routes import IN_THIS_PROCESS, LEARNED_FROM_103S
from flask_firehose._state import state_of
from flask_firehose.testing import record_early_hints

from .live_server import serving
from .redis_server import RedisServer
from .test_cli import FixedStore, flask_cli, key, routes

#: What the line adds by default: FIREHOSE_LEARN_MIN_SEEN is 2.
TWO_VISITS = " A link is learned once it went out on 2 such visits (FIREHOSE_LEARN_MIN_SEEN)."
NO_103 = (
    "No learned hints: FIREHOSE_EARLY_HINTS is off, so no 103 is sent, and hints are learned only "
    "from page visits answered with one."
)


def page_app(store: object = None, **config: Any) -> Flask:
    """A page whose template pushes its stylesheet: what learning learns."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_NAMESPACE=__name__, **config)
    Firehose(app, hint_store=store)  # type: ignore[arg-type]

    @app.get("/")
    def index() -> str:
        return f'<!doctype html><link rel="stylesheet" href="{push("/static/site.css")}"><p>hello</p>'

    return app


def first_line(app: Flask) -> str:
    result = flask_cli(app, "firehose", "routes")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[0]


def navigate(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_visits_to_the_development_server_teach_nothing_and_routes_says_why() -> None:
    app = page_app()
    with serving(app) as port:
        assert [navigate(port) for _ in range(3)] == [200, 200, 200]
    report = routes(app)
    (index,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "index"]
    assert index["learned"] == []
    expected = LEARNED_FROM_103S + TWO_VISITS + IN_THIS_PROCESS
    assert report["learning"] == "on" and report["nothing_learned"] == expected
    assert first_line(app) == expected


def test_a_visit_answered_with_a_103_is_learned_and_the_line_goes() -> None:
    app = page_app()
    client = app.test_client()
    with record_early_hints(client):  # a server offering wsgi.early_hints, over HTTP/2
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert routes(app)["nothing_learned"] is not None  # once is not enough (FIREHOSE_LEARN_MIN_SEEN)
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    report = routes(app)
    (index,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "index"]
    assert [row["link"]["target"] for row in index["learned"]] == ["/static/site.css"]
    assert report["nothing_learned"] is None
    assert first_line(app).startswith("Endpoint")


def test_a_shared_store_says_what_learning_needs_only() -> None:
    app = page_app(FixedStore({}), FIREHOSE_LEARN_MIN_SEEN=1)
    assert routes(app)["nothing_learned"] == LEARNED_FROM_103S
    assert first_line(app) == LEARNED_FROM_103S


def test_the_visits_a_link_needs_are_said() -> None:
    line = first_line(page_app(FixedStore({}), FIREHOSE_LEARN_MIN_SEEN=3))
    assert line == LEARNED_FROM_103S + TWO_VISITS.replace("2", "3")


def test_early_hints_off_is_the_reason() -> None:
    app = page_app(FIREHOSE_EARLY_HINTS=False)
    assert routes(app)["nothing_learned"] == NO_103
    assert first_line(app) == NO_103


@pytest.mark.parametrize(
    ("config", "learning"),
    [({"FIREHOSE_LEARN": False}, "off"), ({"FIREHOSE_ENABLED": False}, "on")],
)
def test_no_such_line_where_another_one_says_it(config: dict[str, Any], learning: str) -> None:
    report = routes(page_app(**config))
    assert report["learning"] == learning and report["nothing_learned"] is None


def test_a_store_holding_hints_gets_no_such_line() -> None:
    app = page_app(FixedStore({key("index", app=__name__): [Link("/static/site.css", as_="style")]}))
    assert routes(app)["nothing_learned"] is None


def env_app() -> Flask:
    """The line's advice followed: the app loads FLASK_-prefixed variables first."""
    app = Flask(__name__)
    app.config.from_prefixed_env()
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_NAMESPACE=__name__)
    Firehose(app)
    return app


def test_the_in_memory_line_says_what_shares_a_store(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch, closing: Callable[[Any], Any]
) -> None:
    assert "FLASK_FIREHOSE_REDIS_URL=" in IN_THIS_PROCESS and "from_prefixed_env()" in IN_THIS_PROCESS
    # What users tried from the old line: the bare variable is not read, the store stays in memory.
    monkeypatch.setenv("FIREHOSE_REDIS_URL", server.url)
    assert first_line(env_app()) == LEARNED_FROM_103S + TWO_VISITS + IN_THIS_PROCESS
    # What the line says: through from_prefixed_env, the command reads the server's Redis.
    monkeypatch.setenv("FLASK_FIREHOSE_REDIS_URL", server.url)
    app = env_app()
    state = state_of(app)
    assert state is not None and state.learner is not None
    assert not isinstance(state.learner.store, MemoryHintStore)
    closing(state.learner.store)
    assert app.config["FIREHOSE_REDIS_URL"] == server.url
    assert routes(app)["nothing_learned"] == LEARNED_FROM_103S + TWO_VISITS
