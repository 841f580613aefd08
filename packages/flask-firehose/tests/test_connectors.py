"""Connectors: 0.2.3's session layout (``h2-pushed``), and a user's connector adapted."""

from __future__ import annotations

from pathlib import Path

import pytest
from cachelib import FileSystemCache
from flask import Flask
from flask.testing import FlaskClient
from flask_session import Session
from hypothesis import given
from hypothesis import strategies as st

from flask_firehose import Firehose, SessionConnector, push
from flask_firehose._connectors import ConnectorTracker, _trim
from flask_firehose._failure import FailurePolicy

from .conftest import AppFactory, targets

PAGE = ["/static/app.css", "/static/app.js", "/static/a,b.png"]


def _serve_page(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        for url in PAGE:
            push(url)
        return "ok"


def _server_side_app(tmp_path: Path) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k",
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(str(tmp_path)),
        SESSION_PERMANENT=False,
    )
    Session(app)
    Firehose(app, connector=SessionConnector())
    _serve_page(app)
    return app


def _cookie_app(make_app: AppFactory) -> Flask:
    app, _ = make_app(SessionConnector())
    _serve_page(app)
    return app


@pytest.mark.parametrize("kind", ["signed-cookie", "server-side"])
def test_second_visit_pushes_nothing(kind: str, make_app: AppFactory, tmp_path: Path) -> None:
    app = _cookie_app(make_app) if kind == "signed-cookie" else _server_side_app(tmp_path)
    client = app.test_client()
    assert targets(client.get("/"), pushable=True) == PAGE
    assert targets(client.get("/"), pushable=True) == []
    assert targets(app.test_client().get("/"), pushable=True) == PAGE


def _with_stored(client: FlaskClient, value: object) -> None:
    with client.session_transaction() as state:
        state["h2-pushed"] = value


def test_reads_the_023_value(make_app: AppFactory) -> None:
    client = _cookie_app(make_app).test_client()
    _with_stored(client, "/static/app.css,/static/app.js")
    assert targets(client.get("/"), pushable=True) == ["/static/a,b.png"]
    with client.session_transaction() as state:
        assert state["h2-pushed"] == "/static/app.css,/static/app.js,/static/a|b.png"


@pytest.mark.parametrize("value", [42, ["/static/app.css"], {"a": 1}, None, "", ",,,", "\x00garbage"])
def test_malformed_value_is_empty(make_app: AppFactory, value: object) -> None:
    client = _cookie_app(make_app).test_client()
    _with_stored(client, value)
    response = client.get("/")
    assert response.status_code == 200
    assert targets(response, pushable=True) == PAGE


def test_oversized_server_side_state_is_empty(tmp_path: Path) -> None:
    client = _server_side_app(tmp_path).test_client()
    client.get("/")
    with client.session_transaction() as state:
        state["h2-pushed"] = "/static/app.css," * 100_000
    assert targets(client.get("/"), pushable=True) == PAGE
    with client.session_transaction() as state:
        assert len(state["h2-pushed"]) <= 1024


def test_tampered_cookie_is_empty(make_app: AppFactory) -> None:
    client = _cookie_app(make_app).test_client()
    client.get("/")
    client.set_cookie("session", "eyJoMi1wdXNoZWQiOiIvc3RhdGljL2FwcC5jc3MifQ.forged.signature")
    assert targets(client.get("/"), pushable=True) == PAGE


def test_state_stays_bounded(make_app: AppFactory) -> None:
    app, _ = make_app(SessionConnector, FIREHOSE_TRACKING_MAX_BYTES=300)

    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(f"/static/asset-{n:04}.0123456789abcdef.js")

    client = app.test_client()
    for n in range(200):
        client.get(f"/{n}")
    with client.session_transaction() as state:
        stored = state["h2-pushed"]
    assert len(stored) <= 300
    assert stored.endswith("/static/asset-0199.0123456789abcdef.js")
    assert targets(client.get("/199"), pushable=True) == []
    assert targets(client.get("/0"), pushable=True) == ["/static/asset-0000.0123456789abcdef.js"]


@given(st.lists(st.text(alphabet="abc/.%", min_size=1, max_size=30), max_size=60), st.integers(0, 200))
def test_trim_keeps_newest_within_budget(keys: list[str], budget: int) -> None:
    kept = _trim(keys, budget)
    assert len(",".join(kept)) <= budget
    assert kept == keys[len(keys) - len(kept) :]
    if len(kept) < len(keys):
        assert len(",".join(keys[len(keys) - len(kept) - 1 :])) > budget


def test_session_connector_keeps_the_023_calls(app: Flask) -> None:
    connector = SessionConnector()
    with app.test_request_context():
        assert connector.get_pushed() == set()
        connector.set_pushed({"/b.js", "/a.css"})
        assert connector.get_pushed() == {"/a.css", "/b.js"}
        connector.set_pushed({"/a.css", "/c.png"})
        assert connector.get_pushed() == {"/a.css", "/c.png"}


def test_a_comma_and_its_escape_are_two_urls(app: Flask) -> None:
    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(["/static/a,b.css", "/static/a%2Cb.css"][n])

    client = app.test_client()
    assert targets(client.get("/0"), pushable=True) == ["/static/a,b.css"]
    assert targets(client.get("/1"), pushable=True) == ["/static/a%2Cb.css"]
    assert targets(client.get("/0"), pushable=True) == []
    assert targets(client.get("/1"), pushable=True) == []


@pytest.mark.parametrize("returned", [None, "/a.css", 42])
def test_connector_returning_garbage_is_empty(returned: object) -> None:
    class Odd:
        def get_pushed(self) -> object:
            return returned

        def set_pushed(self, inset: set[str]) -> None:
            pass

    assert ConnectorTracker(Odd(), FailurePolicy(strict=False)).load() == set()  # type: ignore[arg-type]
