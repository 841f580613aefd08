"""Declarations (app-wide, blueprint, view) apply to HTML navigations answered
by a view, and to nothing else: static files, JSON, fetch/XHR, redirects and
errors leave with no ``Link``, no ``Vary`` and no ``Set-Cookie`` of ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, abort, jsonify, redirect
from werkzeug.wrappers import Response

from flask_firehose import Firehose, early_hints
from flask_firehose.testing import links_of, record_early_hints

NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    (tmp_path / "app.css").write_text("body{}")
    app = Flask(__name__, static_folder=str(tmp_path))
    app.config.update(SECRET_KEY="k", TESTING=True)
    firehose = Firehose(app)
    calls: list[str] = []
    app.config["calls"] = calls

    def app_wide() -> str:
        calls.append("app-wide")
        return "/static/app.css"

    firehose.declare_hints(app_wide)
    firehose.declare_hints("/static/shop.css", blueprint="shop")

    @app.get("/")
    @early_hints("/static/home.css")
    def home() -> str:
        return "<p>home</p>"

    @app.get("/api")
    @early_hints("/static/home.css")
    def api() -> Response:
        return jsonify(ok=True)

    @app.get("/go")
    @early_hints("/static/home.css")
    def go() -> Response:
        return redirect("/")

    @app.get("/broken")
    @early_hints("/static/home.css")
    def broken() -> str:
        abort(500)

    @app.get("/gone")
    def gone() -> str:
        abort(404)

    @app.route("/form", methods=["GET", "POST"])
    def form() -> str:
        return "<p>form</p>"

    shop = Blueprint("shop", __name__)

    @shop.get("/")
    def index() -> str:
        return "<p>shop</p>"

    app.register_blueprint(shop, url_prefix="/shop")
    return app


def _untouched(response: Any) -> None:
    assert "Link" not in response.headers
    assert "Vary" not in response.headers
    assert "Set-Cookie" not in response.headers


def test_an_html_navigation_gets_every_declaration(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/shop/", headers=NAVIGATE)
    assert [link.target for link in links_of(response)] == ["/static/app.css", "/static/shop.css"]
    assert [[link.target for link in links] for links in hints.links] == [["/static/app.css", "/static/shop.css"]]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/static/app.css", NAVIGATE),  # a static file, even navigated to
        ("GET", "/static/app.css", {}),
        ("GET", "/api", NAVIGATE),  # JSON answering a navigation
        ("GET", "/", {"Sec-Fetch-Mode": "cors"}),  # fetch()
        ("GET", "/", {"X-Requested-With": "XMLHttpRequest"}),
        ("GET", "/", {"HX-Request": "true", "Accept": "text/html"}),
        ("GET", "/", {"Accept": "application/json"}),
        ("GET", "/go", NAVIGATE),  # a redirect
        ("GET", "/broken", NAVIGATE),  # an error page
        ("GET", "/gone", NAVIGATE),
        ("GET", "/no-such-page", NAVIGATE),
        ("POST", "/form", NAVIGATE),
    ],
)
def test_everything_else_is_untouched(app: Flask, method: str, path: str, headers: dict[str, str]) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    with record_early_hints(client, navigate=False):
        response = client.open(path, method=method, headers=headers)
    _untouched(response)


def test_app_wide_callables_run_for_navigations_only(app: Flask) -> None:
    client = app.test_client()
    client.get("/static/app.css", headers=NAVIGATE)
    client.post("/form", headers=NAVIGATE)
    client.get("/", headers={"Sec-Fetch-Mode": "cors"})
    client.get("/no-such-page", headers=NAVIGATE)
    assert app.config["calls"] == []
    client.get("/", headers=NAVIGATE)
    assert app.config["calls"] == ["app-wide"]


def test_declaring_after_the_first_request_raises(app: Flask) -> None:
    app.test_client().get("/", headers=NAVIGATE)
    with pytest.raises(RuntimeError, match="first request"):
        app.extensions["firehose"].declare_hints("/static/late.css")


def test_an_unknown_blueprint_name_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app).declare_hints("/static/x.css", blueprint="shopp")
    app.register_blueprint(Blueprint("shop", __name__))
    app.add_url_rule("/", "home", lambda: "<p>home</p>")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        app.test_client().get("/", headers=NAVIGATE)
    assert "'shopp'" in caplog.text and "'shop'" in caplog.text


def test_class_based_views_take_declarations() -> None:
    from flask.views import MethodView

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app)

    class Report(MethodView):
        @early_hints("/static/report.css")
        def get(self) -> str:
            return "<p>report</p>"

    app.add_url_rule("/report", view_func=Report.as_view("report"))
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/report")
    assert [[link.target for link in links] for links in hints.links] == [["/static/report.css"]]
    assert [link.target for link in links_of(response)] == ["/static/report.css"]
