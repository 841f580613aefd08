"""Which declarations apply to an endpoint (``_scopes.py``): one table, read
by the hooks, the Speculation Rules and ``flask firehose routes`` alike."""

from __future__ import annotations

import logging
from typing import TypeVar

import pytest
from flask import Blueprint, Flask
from flask.views import MethodView, View

from flask_firehose._scopes import Scopes, blueprints_of, on_view

ATTRIBUTE = "_declared_here"


V = TypeVar("V")


def _mark(view: V, *values: str) -> V:
    setattr(view, ATTRIBUTE, (*getattr(view, ATTRIBUTE, ()), *values))
    return view


@pytest.fixture
def nested() -> Flask:
    """An app with a view at each depth: ``page``, ``a.page``, ``a.b.page``."""
    app = Flask(__name__)
    outer, inner = Blueprint("a", __name__), Blueprint("b", __name__)
    app.add_url_rule("/", "page", _mark(lambda: "x", "view:page"))
    outer.add_url_rule("/", "page", _mark(lambda: "x", "view:a.page"))
    inner.add_url_rule("/", "page", _mark(lambda: "x", "view:a.b.page"))
    outer.register_blueprint(inner, url_prefix="/b")
    app.register_blueprint(outer, url_prefix="/a")
    return app


TABLE = {None: ["app"], "a": ["a"], "a.b": ["a.b"], "b": ["not nested b"]}


@pytest.mark.parametrize(
    ("endpoint", "groups"),
    [
        ("page", [("app", None, ("app",)), ("view", None, ("view:page",))]),
        ("a.page", [("app", None, ("app",)), ("blueprint", "a", ("a",)), ("view", None, ("view:a.page",))]),
        (
            "a.b.page",
            [
                ("app", None, ("app",)),
                ("blueprint", "a.b", ("a.b",)),
                ("blueprint", "a", ("a",)),
                ("view", None, ("view:a.b.page",)),
            ],
        ),
        ("no.such", [("app", None, ("app",)), ("blueprint", "no", ()), ("view", None, ())]),
    ],
)
def test_groups_go_app_blueprints_innermost_first_then_view(
    nested: Flask, endpoint: str, groups: list[tuple[str, str | None, tuple[str, ...]]]
) -> None:
    scopes: Scopes[str] = Scopes({k: list(v) for k, v in TABLE.items()}, ATTRIBUTE, "declare")
    assert scopes.groups(nested, endpoint) == groups
    assert scopes.applied(nested, endpoint) == tuple(item for *_, items in groups for item in items)


def test_applied_is_worked_out_once_and_known_empty_after(nested: Flask) -> None:
    table: dict[str | None, list[str]] = {}
    scopes: Scopes[str] = Scopes(table, "_nothing_here", "declare")
    assert not scopes.known_empty("page")  # not asked yet: might have some
    assert scopes.applied(nested, "page") == ()
    assert scopes.known_empty("page")
    assert scopes.known_empty(None)
    table[None] = ["too late"]  # the first request has been served: declarations are closed
    assert scopes.applied(nested, "page") == ()


def test_a_declaration_added_before_the_first_use_counts(nested: Flask) -> None:
    table: dict[str | None, list[str]] = {}
    scopes: Scopes[str] = Scopes(table, ATTRIBUTE, "declare")
    table.setdefault("a", []).append("late but in time")
    assert scopes.applied(nested, "a.page") == ("late but in time", "view:a.page")


def test_unknown_blueprint_names_are_logged_once(nested: Flask, caplog: pytest.LogCaptureFixture) -> None:
    scopes: Scopes[str] = Scopes({"typo": ["x"], "b": ["y"]}, ATTRIBUTE, "declare_hints")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        scopes.applied(nested, "page")
        scopes.applied(nested, "a.page")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "'b', 'typo'" in messages[0] and "declare_hints" in messages[0] and "'a', 'a.b'" in messages[0]


def test_on_view_reads_a_class_based_views_class_and_get() -> None:
    class Page(MethodView):
        def get(self) -> str:
            return "x"

    _mark(Page, "class")
    _mark(Page.get, "get")
    view = _mark(Page.as_view("page"), "function")
    assert on_view(view, ATTRIBUTE) == ("function", "class", "get")

    class Plain(View):
        def dispatch_request(self) -> str:
            return "x"

    assert on_view(Plain.as_view("plain"), ATTRIBUTE) == ()
    assert on_view(None, ATTRIBUTE) == ()
    assert on_view(len, ATTRIBUTE) == ()


@pytest.mark.parametrize(
    ("endpoint", "blueprints"), [("page", []), ("a.page", ["a"]), ("a.b.c.page", ["a.b.c", "a.b", "a"])]
)
def test_blueprints_of_is_innermost_first(endpoint: str, blueprints: list[str]) -> None:
    assert blueprints_of(endpoint) == blueprints
