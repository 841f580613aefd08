"""App factories: one module-level ``Firehose()``, many apps, each alone.

Written as a Flask developer lays out an app (``create_app()`` calling
``init_app`` and declaring inside) and as an attacker would probe it: apps
built one after another and served interleaved, two apps alive at once,
declarations made after another app served requests.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import logging
import sys
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, render_template_string

from flask_firehose import Firehose, Link, early_hints, push
from flask_firehose._state import state_of
from flask_firehose.testing import links_of, record_early_hints

NAVIGATE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}

#: One extension for the whole module, as a factory-based project has it.
firehose = Firehose()


def create_app(number: int, calls: list[int] | None = None, **config: Any) -> Flask:
    """An app as a factory builds it: init_app, then its own declarations and rules."""
    app = Flask(f"factory_app_{number}")
    app.config.update(SECRET_KEY="s", TESTING=True, **config)
    firehose.init_app(app)

    def per_page() -> str:
        if calls is not None:
            calls.append(number)
        return f"/static/app{number}-dynamic.css"

    firehose.declare_hints(f"/static/app{number}.css", per_page)
    firehose.speculate("prefetch", urls=[f"/next-{number}"])
    shop = Blueprint("shop", __name__)
    firehose.declare_hints(f"/static/shop{number}.js", blueprint="shop")

    @shop.get("/shop")
    def shop_index() -> str:
        return "<!doctype html><title>shop</title>"

    app.register_blueprint(shop)

    @app.get("/")
    def index() -> str:
        return render_template_string("<!doctype html><link rel=stylesheet href='{{ push(u) }}'>", u=f"/p{number}.css")

    @app.get(f"/next-{number}")
    def following() -> str:
        return "<!doctype html>"

    return app


@pytest.fixture
def fresh_app() -> Flask:
    """A new app per test, from the one module-level extension."""
    return create_app(next(_numbers))


_numbers = itertools.count(1000)


def _targets(response: Any) -> set[str]:
    return {link.target for link in links_of(response)}


def _hints_sent(app: Flask, path: str = "/") -> tuple[set[str], set[str]]:
    """The 103's targets and the final header's, for one navigation."""
    with app.test_client() as client, record_early_hints(client) as recorder:
        response = client.get(path, headers=NAVIGATE)
        assert response.status_code == 200
        assert len(recorder.sent) == 1, recorder.sent
        return {link.target for link in recorder.links[0]}, _targets(response)


def _speculation_rules(app: Flask) -> str:
    with app.test_client() as client:
        response = client.get("/", headers=NAVIGATE)
        value = response.headers.get("Speculation-Rules")
        assert value is not None
        rules = client.get(value.strip('"'))
        assert rules.status_code == 200
        return rules.get_data(as_text=True)


@pytest.mark.parametrize("repeat", range(3))
def test_each_test_gets_an_app_of_its_own(fresh_app: Flask, repeat: int) -> None:
    """The fixture's apps come from one extension; each sees its own declarations only."""
    number = fresh_app.name.rsplit("_", 1)[1]
    early, final = _hints_sent(fresh_app)
    assert early == {f"/static/app{number}.css", f"/static/app{number}-dynamic.css"}
    assert final == early | {f"/p{number}.css"}


def test_twenty_apps_served_interleaved_each_alone() -> None:
    calls: list[int] = []
    apps = {n: create_app(n, calls) for n in range(1, 21)}
    for _ in range(2):
        for n, app in apps.items():
            calls.clear()
            early, final = _hints_sent(app)
            assert early == {f"/static/app{n}.css", f"/static/app{n}-dynamic.css"}
            assert final == early | {f"/p{n}.css"}
            assert calls == [n], "one app's hint callable ran for another app, or more than once"
            shop_early, _ = _hints_sent(app, "/shop")
            assert shop_early == early | {f"/static/shop{n}.js"}
            rules = _speculation_rules(app)
            assert f"/next-{n}" in rules
            assert not any(f'"/next-{m}"' in rules for m in apps if m != n)


def test_building_an_app_after_another_served_requests() -> None:
    """The second app of a factory used to raise RuntimeError once the first had served."""
    first = create_app(1)
    _hints_sent(first)
    second = create_app(2)  # declares inside the factory: no RuntimeError
    early, _ = _hints_sent(second)
    assert early == {"/static/app2.css", "/static/app2-dynamic.css"}


def test_declaring_after_the_first_request_is_an_error_for_that_app_only() -> None:
    first = create_app(1)
    second = create_app(2)
    _hints_sent(second)
    with pytest.raises(RuntimeError, match="factory_app_2"):
        firehose.declare_hints("/static/late.css")  # the last app initialised has served
    with pytest.raises(RuntimeError, match="factory_app_2"):
        firehose.speculate("prefetch", urls=["/late"], app=second)
    firehose.declare_hints("/static/late.css", app=first)  # the first has not served yet
    early, _ = _hints_sent(first)
    assert "/static/late.css" in early
    assert "/static/late.css" not in _hints_sent(second)[0]


def test_two_apps_alive_at_once_with_their_own_config() -> None:
    quiet = create_app(1, FIREHOSE_EARLY_HINTS=False)
    loud = create_app(2)
    with quiet.test_client() as client, record_early_hints(client) as recorder:
        client.get("/", headers=NAVIGATE)
        assert recorder.sent == []
    early, _ = _hints_sent(loud)
    assert early == {"/static/app2.css", "/static/app2-dynamic.css"}
    assert state_of(quiet) is not state_of(loud)
    assert quiet.extensions["firehose"] is loud.extensions["firehose"] is firehose


def test_declarations_made_in_an_app_context_go_to_that_app() -> None:
    first = create_app(1)
    create_app(2)
    with first.app_context():
        firehose.declare_hints("/static/ctx.css")
    assert "/static/ctx.css" in _hints_sent(first)[0]


def test_a_factory_called_inside_another_apps_context_declares_for_the_new_app() -> None:
    """A test fixture keeps the first app's context pushed while the test builds a second app."""
    first = create_app(1)
    with first.app_context():
        second = create_app(2)
        firehose.declare_hints("/static/second-only.css")
    assert "/static/second-only.css" in _hints_sent(second)[0]
    assert _hints_sent(first)[0] == {"/static/app1.css", "/static/app1-dynamic.css"}


def test_declarations_before_any_app_are_shared_by_every_app() -> None:
    shared = Firehose()
    shared.declare_hints("/static/common.css")
    shared.speculate("prefetch", urls=["/common"])
    apps = []
    for n in range(3):
        app = Flask(f"shared_{n}")
        app.config.update(TESTING=True)
        shared.init_app(app)
        shared.declare_hints(f"/static/own{n}.css")

        @app.get("/")
        def index() -> str:
            return "<!doctype html>"

        @app.get("/common")
        def common() -> str:
            return "<!doctype html>"

        apps.append(app)
    for n, app in enumerate(apps):
        early, _ = _hints_sent(app)
        assert early == {"/static/common.css", f"/static/own{n}.css"}, "module-level declarations piled up"


def test_declarations_for_an_app_before_init_app_wait_for_it() -> None:
    extension = Firehose()
    app = Flask("pending")
    app.config.update(TESTING=True)
    extension.declare_hints("/static/early.css", app=app)

    @app.get("/")
    def index() -> str:
        return "<!doctype html>"

    extension.init_app(app)
    assert _hints_sent(app)[0] == {"/static/early.css"}


def test_app_is_checked() -> None:
    with pytest.raises(TypeError, match="not 'nope'"):
        Firehose().declare_hints("/a.css", app="nope")  # type: ignore[arg-type]


def test_an_app_that_goes_away_takes_its_state_with_it() -> None:
    extension = Firehose()
    app = Flask("gone")
    extension.init_app(app)
    extension.declare_hints("/static/a.css")
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None
    assert len(extension._per_app) == 0


def test_learning_stays_in_its_app() -> None:
    """Two apps of one factory, each with its own default store: one app's
    learned hints never reach the other's 103."""
    extension = Firehose()

    def build(name: str, asset: str) -> Flask:
        app = Flask(name)
        app.config.update(TESTING=True, FIREHOSE_LEARN_MIN_SEEN=1)
        extension.init_app(app)

        @app.get("/")
        def index() -> str:
            push(f"/static/{asset}")
            return "<!doctype html>"

        return app

    one, two = build("one", "one.css"), build("two", "two.css")
    for app in (one, two, one, two):
        with app.test_client() as client, record_early_hints(client):
            client.get("/", headers=NAVIGATE)
    assert _hints_sent(one)[0] == {"/static/one.css"}
    assert _hints_sent(two)[0] == {"/static/two.css"}


def test_a_callable_returning_thousands_of_urls_is_read_up_to_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    """Only what a header can hold is read: an endless generator ends too."""
    read: list[int] = []

    def endless() -> Iterator[str]:
        for n in itertools.count():
            read.append(n)
            yield f"/static/f{n}.css"

    app = Flask("endless")
    app.config.update(TESTING=True)
    extension = Firehose(app)
    extension.declare_hints(endless)

    @app.get("/")
    def index() -> str:
        return "<!doctype html>"

    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        early, final = _hints_sent(app)
    assert len(read) <= 65
    assert 0 < len(early) <= 20 and 0 < len(final) <= 20
    assert any("more than 64 links" in record.getMessage() for record in caplog.records)


def test_many_links_from_link_objects_are_bounded_too() -> None:
    app = Flask("objects")
    app.config.update(TESTING=True)
    extension = Firehose(app)
    many: Callable[[], list[Link]] = lambda: [Link(f"/static/{n}.css", as_="style") for n in range(5000)]  # noqa: E731
    extension.declare_hints(many)

    @app.get("/")
    @early_hints("/static/view.css")
    def index() -> str:
        return "<!doctype html>"

    early, _ = _hints_sent(app)
    assert len(early) <= 20


_TUTORIAL_INIT = """
from flask import Flask
from flask_firehose import Firehose

firehose = Firehose()


def create_app():
    app = Flask(__name__)
    app.config.update(TESTING=True)
    firehose.init_app(app)
    firehose.declare_hints("/static/main.css")
    from . import auth  # imported once, by the first app built

    app.register_blueprint(auth.bp)
    return app
"""

_TUTORIAL_AUTH = """
from flask import Blueprint

from . import firehose

bp = Blueprint("auth", __name__, url_prefix="/auth")
firehose.declare_hints("/static/auth.css", blueprint="auth")


@bp.get("/login")
def login():
    return "<!doctype html><title>log in</title>"
"""


def test_a_blueprint_module_declaring_at_its_top_level_serves_every_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flask's tutorial layout: a blueprint module imported inside create_app()
    runs its top-level declarations once; every app built gets them."""
    package = tmp_path / "tutorial_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(_TUTORIAL_INIT)
    (package / "auth.py").write_text(_TUTORIAL_AUTH)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("tutorial_pkg")
    try:
        first = module.create_app()
        assert _hints_sent(first, "/auth/login")[0] == {"/static/main.css", "/static/auth.css"}
        for _ in range(2):  # built after the first served: the module is not imported again
            app = module.create_app()
            assert _hints_sent(app, "/auth/login")[0] == {"/static/main.css", "/static/auth.css"}
    finally:
        for name in ("tutorial_pkg", "tutorial_pkg.auth"):
            sys.modules.pop(name, None)
