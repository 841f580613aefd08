from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest
from flask import Flask, Response, jsonify, render_template_string, session

import flask_firehose
from flask_firehose import Firehose, SessionConnector, push
from flask_firehose.testing import links_of

from .conftest import AppFactory, targets


def test_direct_and_factory_initialisation() -> None:
    direct = Flask(__name__)
    direct.secret_key = "k"
    firehose = Firehose(direct)
    assert direct.extensions["firehose"] is firehose and firehose.app is direct

    shared = Firehose()
    for _ in range(2):
        app = Flask(__name__)
        app.secret_key = "k"
        shared.init_app(app)
        assert app.extensions["firehose"] is shared
        assert app.jinja_env.globals["push"] is push


def test_second_init_is_refused(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already initialised"):
        Firehose(app)


def test_push_outside_a_request(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with app.app_context(), pytest.raises(RuntimeError, match="active request"):
        push("/a.css")  # the app is strict (testing)
    app.config["TESTING"] = False
    with app.app_context(), caplog.at_level(logging.WARNING, logger="flask_firehose"):
        assert push("/a.css") == "/a.css"
    # No app at all: a generator streamed after its request ended. Nobody to
    # ask whether to raise, and a page must not be cut short.
    assert push("/b.css") == "/b.css"
    assert "active request" in caplog.text


def test_push_late_in_a_plain_stream_never_cuts_the_page() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True)
    Firehose(app)

    @app.get("/")
    def index() -> Response:
        def body() -> Iterator[str]:
            yield "<p>"
            yield push("/static/late.css")
            yield "</p>"

        return Response(body(), mimetype="text/html")

    response = app.test_client().get("/")
    assert response.status_code == 200 and response.data == b"<p>/static/late.css</p>"


def test_push_without_firehose() -> None:
    app = Flask(__name__)
    with app.test_request_context(), pytest.raises(RuntimeError, match=r"Firehose\(app\)"):
        push("/a.css")


def test_template_and_view_pushes(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        assert push("/static/view.js", **{"as": "script", "rel": "preload"}) == "/static/view.js"
        return render_template_string(
            "<link rel=\"stylesheet\" href=\"{{ push('/static/main.css', as='style', rel='preload') }}\">"
        )

    response = app.test_client().get("/")
    assert b'href="/static/main.css"' in response.data
    assert {(link.target, link.get("as")) for link in links_of(response)} == {
        ("/static/view.js", "script"),
        ("/static/main.css", "style"),
    }
    assert len(response.headers.getlist("Link")) == 1


def test_views_own_link_header_is_kept(app: Flask) -> None:
    @app.get("/")
    def index() -> tuple[str, dict[str, str]]:
        push("/static/a.css")
        return "ok", {"Link": "<https://api.example>; rel=preconnect"}

    response = app.test_client().get("/")
    assert targets(response) == ["https://api.example", "/static/a.css"]


def test_duplicates_are_merged(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        for _ in range(3):
            push("/static/a.css")
        push("/static/a.css", "nopush")
        return "ok"

    assert targets(app.test_client().get("/")) == ["/static/a.css"]


@pytest.mark.parametrize("status", [201, 204, 299])
def test_any_2xx_carries_links(app: Flask, status: int) -> None:
    @app.get("/")
    def index() -> tuple[str, int]:
        push("/static/a.css")
        return "", status

    assert targets(app.test_client().get("/")) == ["/static/a.css"]


@pytest.mark.parametrize("status", [302, 404, 500])
def test_unsuccessful_responses_carry_and_record_nothing(app: Flask, status: int) -> None:
    @app.get("/fail")
    def fail() -> tuple[str, int]:
        push("/static/a.css")
        return "no", status

    @app.get("/ok")
    def ok() -> str:
        push("/static/a.css")
        return "ok"

    client = app.test_client()
    response = client.get("/fail")
    assert "Link" not in response.headers and "Set-Cookie" not in response.headers
    assert targets(client.get("/ok"), pushable=True) == ["/static/a.css"]


def test_raising_view_records_nothing(app: Flask) -> None:
    @app.errorhandler(ZeroDivisionError)
    def handle(_: Exception) -> tuple[str, int]:
        return "oops", 500

    @app.get("/boom")
    def boom() -> str:
        push("/static/a.css")
        raise ZeroDivisionError

    @app.get("/ok")
    def ok() -> str:
        push("/static/a.css")
        return "ok"

    client = app.test_client()
    assert client.get("/boom").status_code == 500
    assert targets(client.get("/ok"), pushable=True) == ["/static/a.css"]


def test_post_carries_no_links(app: Flask) -> None:
    @app.post("/")
    def index() -> str:
        push("/static/a.css")
        return "ok"

    assert "Link" not in app.test_client().post("/").headers


def test_request_without_push_touches_nothing(app: Flask) -> None:
    @app.get("/api")
    def api() -> Response:
        return jsonify(ok=True)

    response = app.test_client().get("/api")
    assert "Vary" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert "Link" not in response.headers


def test_hints_alone_do_not_touch_the_session(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        push("https://cdn.example/lib.js")
        push("/static/a.css", "nopush")
        return "ok"

    response = app.test_client().get("/")
    assert len(links_of(response)) == 2
    assert "Vary" not in response.headers and "Set-Cookie" not in response.headers


def test_pushed_once_per_session_then_hinted(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        push("/static/a.css")
        push("/static/b.js")
        return "ok"

    client = app.test_client()
    first = client.get("/")
    assert targets(first, pushable=True) == ["/static/a.css", "/static/b.js"]
    second = client.get("/")
    assert targets(second, pushable=True) == []
    assert targets(second, pushable=False) == ["/static/a.css", "/static/b.js"]
    assert targets(app.test_client().get("/"), pushable=True) == ["/static/a.css", "/static/b.js"]


def test_off_switch(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_ENABLED=False)

    @app.get("/")
    def index() -> str:
        return push("/static/a.css")

    response = app.test_client().get("/")
    assert response.data == b"/static/a.css"
    assert "Link" not in response.headers and "Set-Cookie" not in response.headers


def test_tracking_off_pushes_every_time(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_TRACKING=False)

    @app.get("/")
    def index() -> str:
        return push("/static/a.css")

    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert targets(response, pushable=True) == ["/static/a.css"]
        assert "Set-Cookie" not in response.headers


def test_header_budget_counts_the_views_own_links(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_MAX_HEADER_BYTES=120)
    own = "<https://api.example>; rel=preconnect"

    @app.get("/")
    def index() -> tuple[str, dict[str, str]]:
        for i in range(10):
            push(f"/static/{i}.png")
        return "ok", {"Link": own}

    response = app.test_client().get("/")
    assert sum(len(v) + 2 for v in response.headers.getlist("Link")) <= 120 + 2
    assert response.headers.getlist("Link")[0] == own


class RecordingConnector:
    def __init__(self, already: set[str]) -> None:
        self.pushed = set(already)
        self.calls: list[str] = []

    def get_pushed(self) -> set[str]:
        self.calls.append("get")
        return set(self.pushed)

    def set_pushed(self, inset: set[str]) -> None:
        self.calls.append("set")
        self.pushed = set(inset)


class StaticConnector:
    """A connector written as 0.2.3's default was: a class of static methods."""

    store: ClassVar[set[str]] = set()

    @staticmethod
    def get_pushed() -> set[str]:
        return set(StaticConnector.store)

    @staticmethod
    def set_pushed(inset: set[str]) -> None:
        StaticConnector.store = set(inset)


def test_custom_connector_instance(make_app: AppFactory) -> None:
    connector = RecordingConnector({"/static/old.css"})
    app, _ = make_app(connector=connector)

    @app.get("/")
    def index() -> str:
        push("/static/old.css")
        push("/static/new.js")
        return "ok"

    response = app.test_client().get("/")
    assert targets(response, pushable=True) == ["/static/new.js"]
    assert targets(response, pushable=False) == ["/static/old.css"]
    assert connector.pushed == {"/static/old.css", "/static/new.js"}
    assert connector.calls == ["get", "set"]
    assert "Set-Cookie" not in response.headers


def test_custom_connector_class_with_static_methods(make_app: AppFactory) -> None:
    StaticConnector.store = {"/static/old.css"}
    app, _ = make_app(connector=StaticConnector)

    @app.get("/")
    def index() -> str:
        push("/static/old.css")
        push("/static/new.js")
        return "ok"

    assert targets(app.test_client().get("/"), pushable=True) == ["/static/new.js"]
    assert StaticConnector.store == {"/static/old.css", "/static/new.js"}


def test_legacy_default_connector_passed_explicitly(make_app: AppFactory) -> None:
    with pytest.deprecated_call(match="flask_firehose.SessionConnector"):
        legacy = flask_firehose.Connector
    assert legacy is SessionConnector
    app, _ = make_app(connector=legacy)

    @app.get("/")
    def index() -> str:
        return push("/static/a.css")

    client = app.test_client()
    client.get("/")
    with client.session_transaction() as state:
        assert state["h2-pushed"] == "/static/a.css"


def test_connector_without_methods_is_refused() -> None:
    with pytest.raises(TypeError, match="get_pushed"):
        Firehose(Flask(__name__), connector=object())


def test_session_written_by_the_view_survives(make_app: AppFactory) -> None:
    app, _ = make_app(SessionConnector())

    @app.get("/")
    def index() -> str:
        session["user"] = "ada"
        return push("/static/a.css")

    client = app.test_client()
    client.get("/")
    with client.session_transaction() as state:
        assert state["user"] == "ada" and state["h2-pushed"] == "/static/a.css"


def test_push_takes_its_url_first_or_by_name_and_any_attribute_name(make_app: AppFactory) -> None:
    """``push(url=...)`` works as in 0.2.3; with the URL given first, a
    keyword named ``url`` is an attribute like any other, never a TypeError."""
    app, _ = make_app(FIREHOSE_STRICT=False)

    @app.get("/")
    def index() -> str:
        returned = [push(url="/static/a.css"), push("/static/b.css", url=None), push("/static/c.css", url="x")]
        assert returned == ["/static/a.css", "/static/b.css", "/static/c.css"]
        return "ok"

    response = app.test_client().get("/")
    assert response.headers.getlist("Link") == [
        "</static/a.css>; rel=preload; as=style, </static/b.css>; rel=preload; as=style, "
        "</static/c.css>; rel=preload; as=style; url=x"
    ]


def test_push_without_a_url_is_a_type_error(make_app: AppFactory) -> None:
    app, _ = make_app()
    with app.test_request_context("/"), pytest.raises(TypeError, match="url"):
        push()  # type: ignore[call-overload]


class _EmptyLookingStore(flask_firehose.MemoryHintStore):
    """A store that is falsy (an empty container says ``len() == 0``)."""

    def __init__(self) -> None:
        super().__init__(min_seen=1)
        self.observed: list[str] = []

    def __len__(self) -> int:
        return 0

    def observe(self, key: str, links: object) -> None:
        self.observed.append(key)
        super().observe(key, links)  # type: ignore[arg-type]


def test_a_falsy_custom_hint_store_is_the_one_used() -> None:
    from flask_firehose._state import state_of
    from flask_firehose.testing import record_early_hints

    store = _EmptyLookingStore()
    assert not store
    app = Flask(__name__)
    app.config["FIREHOSE_REDIS_URL"] = None
    Firehose(app, hint_store=store)

    @app.get("/")
    def page() -> str:
        push("/static/app.css")
        return "<p>page</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
        client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    state = state_of(app)
    assert state is not None and state.learner is not None and state.learner.store is store
    assert len(store.observed) == 2
    assert [[link.target for link in links] for links in hints.links][-1] == ["/static/app.css"]
