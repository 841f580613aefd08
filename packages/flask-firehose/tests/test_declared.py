"""Declared hints: checked when declared, resolved per request, and a failing
callable costs its own links only, as the failure policy says."""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.views import View

from flask_firehose import Firehose, InvalidLinkError, Link, early_hints
from flask_firehose._declared import ATTRIBUTE, HintSpec, check_specs, resolve
from flask_firehose._failure import FailurePolicy
from flask_firehose._scopes import on_view
from flask_firehose.testing import ParsedLink, links_of, record_early_hints

from .conftest import AppFactory

BAD_URLS = ["/static/a b.css", "javascript:alert(1)", "/a%zz.css", "/x<y>.css", "", "data:text/css,x"]


def _targets(links: Iterable[Link | ParsedLink]) -> list[str]:
    return [link.target for link in links]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_url_fails_at_declaration_naming_it(url: str) -> None:
    with pytest.raises(InvalidLinkError, match=re.escape(repr(url))):
        early_hints("/static/fine.css", url)


def test_a_bad_url_fails_when_the_module_is_imported(tmp_path: Path) -> None:
    module = tmp_path / "views_with_a_typo.py"
    module.write_text(
        "from flask_firehose import early_hints\n\n"
        "@early_hints('/static/site.css', '/static/report .css')\n"
        "def report():\n"
        "    return 'report'\n"
    )
    spec = importlib.util.spec_from_file_location("views_with_a_typo", module)
    assert spec is not None and spec.loader is not None
    with pytest.raises(InvalidLinkError, match=re.escape("'/static/report .css'")):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize("spec", [42, None, b"/static/a.css", ("/static/a.css",)])
def test_an_entry_that_is_no_declaration_is_a_type_error(spec: object) -> None:
    with pytest.raises(TypeError, match=re.escape(repr(spec))):
        check_specs(["/static/a.css", spec])  # type: ignore[list-item]


def test_check_specs_keeps_every_kind_in_order() -> None:
    link = Link("/static/b.css", as_="style")

    def later() -> str:
        return "/static/c.css"

    specs: list[HintSpec] = ["/static/a.css", link, later]
    assert check_specs(iter(specs)) == ("/static/a.css", link, later)


def test_callables_are_not_called_when_declared() -> None:
    calls: list[str] = []

    def stylesheet() -> str:
        calls.append("called")
        return "/static/a.css"

    @early_hints(stylesheet)
    def view() -> str:
        return "x"

    assert calls == []


def test_stacked_decorators_add_up_innermost_first() -> None:
    @early_hints("/static/outer.css")
    @early_hints("/static/inner.css")
    def view() -> str:
        return "x"

    assert on_view(view, ATTRIBUTE) == ("/static/inner.css", "/static/outer.css")


def test_the_decorator_returns_the_view_itself() -> None:
    def view() -> str:
        return "x"

    assert early_hints("/static/a.css")(view) is view


def test_a_view_class_and_its_get_declare_for_the_view() -> None:
    @early_hints("/static/class.css")
    class Page(View):
        @early_hints("/static/get.css")
        def get(self) -> str:
            return "x"

    assert on_view(Page.as_view("page"), ATTRIBUTE) == ("/static/class.css", "/static/get.css")


def test_decorating_an_as_view_function_runs_the_class_callables_once(make_app: AppFactory) -> None:
    app, _ = make_app()
    calls: list[str] = []

    def stylesheet() -> str:
        calls.append("class")
        return "/static/class.css"

    @early_hints(stylesheet)
    class Page(View):
        def dispatch_request(self) -> str:
            return "<p>page</p>"

    app.add_url_rule("/", view_func=early_hints("/static/function.css")(Page.as_view("page")))
    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/")
    assert [sorted(_targets(links)) for links in hints.links] == [["/static/class.css", "/static/function.css"]]
    assert calls == ["class"]


def test_undecorated_objects_declare_nothing() -> None:
    assert on_view(None, ATTRIBUTE) == ()
    assert on_view(len, ATTRIBUTE) == ()


@pytest.mark.parametrize("order", ["route-first", "hints-first"])
def test_the_decorator_stacks_with_the_route_in_either_order(make_app: AppFactory, order: str) -> None:
    app, _ = make_app()

    def page() -> str:
        return "<p>page</p>"

    if order == "route-first":
        app.get("/")(early_hints("/static/page.css")(page))
    else:
        early_hints("/static/page.css")(app.get("/")(page))
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    assert [_targets(links) for links in hints.links] == [["/static/page.css"]]
    assert _targets(links_of(response)) == ["/static/page.css"]


def test_callables_are_called_for_each_request(make_app: AppFactory) -> None:
    app, _ = make_app()
    build = {"version": 1}
    calls: list[int] = []

    def stylesheet() -> str:
        calls.append(build["version"])
        return url_for("static", filename="site.css", v=build["version"])

    @app.get("/")
    @early_hints(stylesheet)
    def page() -> str:
        return "<p>page</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/")
        build["version"] = 2
        client.get("/")
        client.get("/")
    assert calls == [1, 2, 2]
    assert [_targets(links) for links in hints.links] == [
        ["/static/site.css?v=1"],
        ["/static/site.css?v=2"],
        ["/static/site.css?v=2"],
    ]


def test_a_callable_may_return_links_and_iterables() -> None:
    link = Link("/static/b.js", as_="script")
    specs: list[HintSpec] = [lambda: "/static/a.css", lambda: [link, "/static/c.png"], lambda: iter(())]
    assert resolve(specs, FailurePolicy(strict=True)) == [
        Link("/static/a.css", as_="style"),
        link,
        Link("/static/c.png", as_="image"),
    ]


def _raises() -> str:
    raise LookupError("no such asset")


def _returns_a_bad_url() -> str:
    return "/static/a b.css"


@pytest.mark.parametrize(
    ("failing", "error"),
    [(_raises, LookupError), (_returns_a_bad_url, InvalidLinkError), (lambda: 42, TypeError)],
    ids=["raises", "bad-url", "not-a-url"],
)
def test_strict_resolution_raises_the_callables_error(failing: Callable[[], str], error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve(["/static/a.css", failing], FailurePolicy(strict=True))


def test_lenient_resolution_logs_and_keeps_the_other_links(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        links = resolve(["/static/a.css", _raises, lambda: "/static/b.js"], FailurePolicy(strict=False))
    assert _targets(links) == ["/static/a.css", "/static/b.js"]
    (record,) = caplog.records
    assert record.name == "flask_firehose" and record.levelno == logging.ERROR
    assert "declared hint _raises()" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is LookupError


def test_declaring_after_a_first_request_of_any_app_raises_naming_it() -> None:
    firehose = Firehose()
    quiet, busy = Flask("quiet"), Flask("busy")
    for app in (quiet, busy):
        app.config.update(SECRET_KEY="k", TESTING=True)
        firehose.init_app(app)
    firehose.declare_hints("/static/early.css")  # before any request: fine
    busy.test_client().get("/")
    with pytest.raises(RuntimeError, match="'busy'"):
        firehose.declare_hints("/static/late.css")
