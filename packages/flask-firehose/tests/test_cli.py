"""The command line: ``flask firehose routes`` (through the ``flask.commands``
entry point, as ``flask`` finds it), and ``firehose probe``'s options, exit
statuses and its message when the ``probe`` extra is missing."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Blueprint, Flask, url_for
from flask.cli import FlaskGroup

import flask_firehose
from flask_firehose import Firehose, Link, early_hints
from flask_firehose._cli import exit_status, main
from flask_firehose._learning_scope import scoped_key
from flask_firehose._probe.result import ProbeResult, ProbeWarning


class FixedStore:
    """A hint store holding fixed learned hints per store key, listing its keys."""

    def __init__(self, learned: dict[str, list[Any]]) -> None:
        self.known = learned

    def learned(self, key: str) -> list[Any]:
        return self.known.get(key, [])

    def observe(self, key: str, links: Sequence[Link]) -> None:
        pass

    def endpoints(self) -> list[str]:
        return list(self.known)


class UnlistedStore(FixedStore):
    """A store that cannot list its keys (the HintStore protocol does not ask it to)."""

    endpoints = None  # type: ignore[assignment]


class BrokenStore(FixedStore):
    def learned(self, key: str) -> list[Any]:
        raise ConnectionError("store down")


def key(endpoint: str, site: str = "localhost", app: str = __name__) -> str:
    return scoped_key(app, site, endpoint)


def broken_hint() -> str:
    raise RuntimeError("no manifest")


def build_app(store: object = None, *, testing: bool = False, **config: Any) -> Flask:
    """An app declaring hints at every level: app-wide, blueprint, nested blueprint, view."""
    app = Flask(__name__)
    # One namespace for every app built here, as the stores below are keyed.
    app.config.update(SECRET_KEY="k", TESTING=testing, FIREHOSE_LEARN_NAMESPACE=__name__, **config)
    firehose = Firehose(hint_store=store)  # type: ignore[arg-type]
    firehose.declare_hints("/static/site.css")
    firehose.declare_hints(Link("/static/shop.js", as_="script"), blueprint="shop")
    firehose.declare_hints("/static/cart.css", blueprint="shop.cart")
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    cart = Blueprint("cart", __name__, url_prefix="/cart")

    @cart.get("/<int:item>")
    @early_hints(lambda: url_for("static", filename="item.css"), broken_hint)
    def item(item: int) -> str:
        return "item"

    @shop.get("/")
    def index() -> str:
        return "shop"

    shop.register_blueprint(cart)
    app.register_blueprint(shop)

    @app.get("/about")
    def about() -> str:
        return "about"

    firehose.init_app(app)
    return app


def flask_cli(app: Flask, *args: str) -> Result:
    """Run ``flask <args>`` for *app*, with the plugins its entry points add."""
    group = FlaskGroup(create_app=lambda: app)
    return CliRunner().invoke(group, list(args), catch_exceptions=False)


def routes(app: Flask) -> dict[str, Any]:
    result = flask_cli(app, "firehose", "routes", "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _declared(report: dict[str, Any], endpoint: str) -> list[tuple[str, str | None, str | None, str | None]]:
    (item,) = [entry for entry in report["endpoints"] if entry["endpoint"] == endpoint]
    return [
        (row["origin"], row["blueprint"], row["link"] and row["link"]["target"], row["error"])
        for row in item["declared"]
    ]


def test_routes_shows_each_origin_in_the_order_hints_apply() -> None:
    report = routes(build_app())
    assert report["app"] == __name__ and report["enabled"] is True and report["learning"] == "on"
    assert _declared(report, "shop.cart.item") == [
        ("app", None, "/static/site.css", None),
        ("blueprint", "shop.cart", "/static/cart.css", None),
        ("blueprint", "shop", "/static/shop.js", None),
        ("view", None, "/static/item.css", None),
        ("view", None, None, "RuntimeError: no manifest"),
    ]
    assert _declared(report, "shop.index") == [
        ("app", None, "/static/site.css", None),
        ("blueprint", "shop", "/static/shop.js", None),
    ]
    assert _declared(report, "about") == [("app", None, "/static/site.css", None)]
    (static,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "static"]
    assert static["static"] is True and static["declared"] == [] and static["learned"] is None


def test_routes_json_links_have_the_probe_shape() -> None:
    report = routes(build_app())
    (item,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "shop.cart.item"]
    assert item["rules"] == ["/shop/cart/<int:item>"] and item["methods"] == ["GET"]
    shop_js = item["declared"][2]
    assert shop_js["link"] == {"target": "/static/shop.js", "rel": "preload", "params": {"as": "script"}}
    assert shop_js["source"] == "Link('/static/shop.js')"
    assert item["declared"][4]["source"] == "broken_hint()"


def test_a_failing_callable_is_a_cell_even_when_strict() -> None:
    # TESTING makes the failure policy strict: the callable's error still does not escape.
    report = routes(build_app(testing=True))
    assert ("view", None, None, "RuntimeError: no manifest") in _declared(report, "shop.cart.item")


def table(output: str) -> list[list[str]]:
    """The rows of a fixed-width table, cut where the dashes under its header are."""
    lines = output.splitlines()
    rule = next(index for index, line in enumerate(lines) if set(line) == {"-", " "})
    starts = [match.start() for match in re.finditer(r"-+", lines[rule])]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [[line[start:end].strip() for start, end in bounds] for line in lines[rule - 1 : rule] + lines[rule + 1 :]]


def test_routes_table_is_like_flask_routes() -> None:
    result = flask_cli(build_app(), "firehose", "routes")
    assert result.exit_code == 0, result.output
    header, *rows = table(result.output)
    assert header == ["Endpoint", "Methods", "Rule", "Origin", "Hint"]
    assert ["about", "GET", "/about", "app", "</static/site.css>; rel=preload; as=style"] in rows
    item = rows.index(
        ["shop.cart.item", "GET", "/shop/cart/<int:item>", "app", "</static/site.css>; rel=preload; as=style"]
    )
    assert rows[item + 1 : item + 5] == [
        ["", "", "", "blueprint shop.cart", "</static/cart.css>; rel=preload; as=style"],
        ["", "", "", "blueprint shop", "</static/shop.js>; rel=preload; as=script"],
        ["", "", "", "view", "</static/item.css>; rel=preload; as=style"],
        ["", "", "", "view", "error in broken_hint(): RuntimeError: no manifest"],
    ]
    assert ["static", "GET", "/static/<path:filename>", "-", "(static files get no hints)"] in rows


def test_learned_hints_come_from_the_store_grouped_by_site() -> None:
    css = Link("/static/learned.css", as_="style")
    store = FixedStore(
        {
            key("about", "shop.example"): [css],
            key("about", "127.0.0.1:8443/app"): [Link("/app/static/other.css", as_="style"), "not a link"],
            key("about", "localhost", app="another_app"): [Link("/static/theirs.css", as_="style")],
            key("shop.index", "localhost"): [Link("https://evil.example/x.js", as_="script")],
        }
    )
    report = routes(build_app(store))
    (about,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "about"]
    assert [(row["site"], row["link"] and row["link"]["target"], row["note"]) for row in about["learned"]] == [
        ("127.0.0.1:8443/app", "/app/static/other.css", None),
        ("127.0.0.1:8443/app", None, "left out: not a valid Link: 'not a link'"),
        ("shop.example", "/static/learned.css", None),
    ]
    assert about["learned"][2] == {
        "origin": "learned",
        "blueprint": None,
        "source": "hint store",
        "link": {"target": "/static/learned.css", "rel": "preload", "params": {"as": "style"}},
        "error": None,
        "note": None,
        "site": "shop.example",
    }
    # Another app's keys are not this app's hints; a link a 103 would not carry is said to be left out.
    (index,) = [entry for entry in report["endpoints"] if entry["endpoint"] == "shop.index"]
    assert [row["link"] for row in index["learned"]] == [None]
    assert index["learned"][0]["note"].startswith("left out: ")
    rows = table(flask_cli(build_app(store), "firehose", "routes").output)
    assert ["", "", "", "learned on shop.example", "</static/learned.css>; rel=preload; as=style"] in rows


def test_a_store_that_cannot_list_its_keys_is_said() -> None:
    report = routes(build_app(UnlistedStore({key("about"): [Link("/static/a.css", as_="style")]})))
    assert report["learning"] == "unlisted"
    assert all(entry["learned"] is None for entry in report["endpoints"])
    output = flask_cli(build_app(UnlistedStore({})), "firehose", "routes").output
    assert output.splitlines()[0] == (
        "Learned hints not shown: the hint store cannot list what it learned (it has no endpoints() method)."
    )


def test_a_failing_store_is_said_once() -> None:
    app = build_app(BrokenStore({key("about"): [], key("shop.index"): []}))
    report = routes(app)
    assert report["learning"] == "failed" and report["store_error"] == "ConnectionError: store down"
    assert all(entry["learned"] is None for entry in report["endpoints"])
    output = flask_cli(app, "firehose", "routes").output
    assert output.splitlines()[0] == "Learned hints not shown: the hint store failed (ConnectionError: store down)."
    assert output.count("store down") == 1


def test_learning_off_and_disabled_are_said() -> None:
    output = flask_cli(build_app(FIREHOSE_LEARN=False, FIREHOSE_ENABLED=False), "firehose", "routes").output
    assert output.splitlines()[:2] == [
        "Flask-Firehose is disabled (FIREHOSE_ENABLED is off): none of these hints is sent.",
        "Learning is off: only declared hints are shown.",
    ]
    assert routes(build_app(FIREHOSE_LEARN=False))["learning"] == "off"


def test_routes_without_firehose_says_so_and_exits_1() -> None:
    app = Flask("bare")
    result = flask_cli(app, "firehose", "routes")
    assert result.exit_code == 1
    assert result.stderr == "Flask-Firehose is not initialised on app 'bare': call Firehose(app) first.\n"
    assert result.stdout == ""


# -- firehose probe ------------------------------------------------------------------


def test_the_console_script_has_probe() -> None:
    result = CliRunner().invoke(main, ["probe", "--help"])
    assert result.exit_code == 0
    for option in ("--cacert", "--insecure", "--timeout", "--header", "--cookie", "--http1", "--http2", "--repeat"):
        assert option in result.output
    assert "--json" in result.output


def test_flask_firehose_probe_is_the_same_command() -> None:
    result = flask_cli(build_app(), "firehose", "probe", "--help")
    assert result.exit_code == 0 and "--repeat" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.test/"], "not an http:// or https:// URL"),
        (["-H", "no colon", "http://127.0.0.1:1/"], "is not NAME:VALUE"),
        (["-H", "Connection: close", "http://127.0.0.1:1/"], "connection-specific"),
        (["--repeat", "0", "http://127.0.0.1:1/"], "--repeat"),
        (["--timeout", "0", "http://127.0.0.1:1/"], "--timeout"),
        (["--timeout", "nan", "http://127.0.0.1:1/"], "--timeout"),
        (["--timeout", "inf", "http://127.0.0.1:1/"], "--timeout"),
        (["--timeout", "1e308", "http://127.0.0.1:1/"], "--timeout"),
        (["--cookie", "a=b\r\nX-Evil: 1", "http://127.0.0.1:1/"], "--cookie"),
        (["--cookie", "a=b\nc", "http://127.0.0.1:1/"], "--cookie"),
        (["-H", "Content-Length: 5", "http://127.0.0.1:1/"], "connection-specific"),
        (["http://127.0.0.1:1/a b"], "no URL may hold"),
        (["http://127.0.0.1:1/a\r\nX: y"], "no URL may hold"),
        (["http://[::1"], "URL"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["probe", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_failed_probe_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["probe", "--timeout", "5", "http://127.0.0.1:1/"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "firehose probe: http://127.0.0.1:1/: connection refused by 127.0.0.1:1: nothing listens there\n"
    )


def test_without_the_probe_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name.partition(".")[2].partition(".")[0] == "_probe"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(flask_firehose, "_probe", raising=False)
    monkeypatch.setitem(sys.modules, "h2", None)
    result = CliRunner().invoke(main, ["probe", "http://127.0.0.1:1/"])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line == "firehose probe needs h2 and h11 (h2 is missing): pip install h2 h11"


def _result(*warnings: ProbeWarning) -> ProbeResult:
    return ProbeResult("http://x/", "h2", (), 200, 1.0, (), (), warnings)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([_result()], 0),
        ([_result(), _result()], 0),
        ([_result(), _result(ProbeWarning("head-too-large", "..."))], 1),
    ],
)
def test_exit_status(results: list[ProbeResult], status: int) -> None:
    assert exit_status(results) == status
