"""Actions and rule options: ``prerender_until_script`` with its ``prefetch``
twin, ``target_hint``, and a check that every rule set the app writes is one
Chromium 156 takes whole (no unknown rule key, no option on the wrong action)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Blueprint, Flask, render_template_string

from flask_firehose import ConfigurationError, Firehose, no_vary_search, speculation
from flask_firehose._speculation.rules import make_spec

from ..conftest import AppFactory
from .structured_fields import no_vary_search_of, run_with_hash_seed, served

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}

# What Chromium 156's ParseSpeculationRule accepts; any other key drops the rule.
RULE_KEYS = {
    "source",
    "urls",
    "where",
    "requires",
    "target_hint",
    "referrer_policy",
    "relative_to",
    "eagerness",
    "expects_no_vary_search",
    "tag",
}
ACTIONS = {"prefetch", "prerender", "prerender_until_script"}
EAGERNESS = {"conservative", "moderate", "eager", "immediate"}


def check_chromium_takes(rules: dict[str, Any]) -> None:
    """*rules* as Chromium 156 reads them: every rule kept, the rule set's tag taken."""
    assert set(rules) <= {"tag", *ACTIONS}, rules.keys()
    if "tag" in rules:
        assert isinstance(rules["tag"], str) and rules["tag"].isascii() and rules["tag"].isprintable()
    for action in ACTIONS & set(rules):
        assert isinstance(rules[action], list) and rules[action], action
        for rule in rules[action]:
            assert set(rule) <= RULE_KEYS, rule
            assert rule["source"] in ("list", "document")
            assert ("urls" in rule) == (rule["source"] == "list")
            assert ("where" in rule) == (rule["source"] == "document")
            assert rule.get("eagerness", "conservative") in EAGERNESS
            if "target_hint" in rule:
                assert action != "prefetch", rule
                assert rule["target_hint"] in ("_blank", "_self")
            if "expects_no_vary_search" in rule:
                assert rule["source"] == "list"
                no_vary_search_of(rule["expects_no_vary_search"])
            if "tag" in rule:
                assert isinstance(rule["tag"], str) and rule["tag"].isascii() and rule["tag"].isprintable()
            for url in rule.get("urls", ()):
                assert url.startswith("/") and not url.startswith("//")


def header_rules(client: Any, path: str = "/") -> dict[str, Any]:
    (value,) = client.get(path, headers=NAV).headers.getlist("Speculation-Rules")
    resource = client.get(value.strip('"'))
    assert resource.status_code == 200
    assert resource.mimetype == "application/speculationrules+json"
    rules: dict[str, Any] = json.loads(resource.data)
    check_chromium_takes(rules)
    return rules


def inline_rules(client: Any, path: str = "/inline") -> dict[str, Any]:
    html = client.get(path, headers=NAV).get_data(as_text=True)
    match = re.search(r'<script type="speculationrules">(.*?)</script>', html, re.S)
    assert match, html
    rules: dict[str, Any] = json.loads(match[1])
    check_chromium_takes(rules)
    return rules


def until_script_site(make_app: AppFactory, **config: Any) -> tuple[Flask, Firehose]:
    app, firehose = make_app(**config)

    @app.get("/")
    def index() -> str:
        return "<p>home"

    @app.get("/inline")
    def inline() -> str:
        return render_template_string("<p>{{ speculation_rules() }}")

    @app.get("/articles/<int:number>")
    @no_vary_search(ignore=["utm_source"])
    def article(number: int) -> str:
        return f"<p>{number}"

    @app.get("/plain")
    def plain() -> str:
        return "<p>plain"

    firehose.speculate("prefetch", urls=["/plain"], app=app)
    firehose.speculate(
        "prerender_until_script",
        urls=["/articles/1", "/plain"],
        endpoints=[("article", {"number": 2})],
        eagerness="eager",
        target_hint="_blank",
        tag="pus",
        app=app,
    )
    firehose.speculate("prerender_until_script", href_matches="/articles/*", target_hint="_self", app=app)
    return app, firehose


def without_hint(rule: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rule.items() if key != "target_hint"}


@pytest.mark.parametrize("read", [header_rules, inline_rules])
def test_prerender_until_script_has_a_prefetch_twin(make_app: AppFactory, read: Any) -> None:
    client = until_script_site(make_app)[0].test_client()
    rules = read(client)
    assert set(rules) == {"tag", "prefetch", "prerender_until_script"}
    until = rules["prerender_until_script"]
    assert [rule.get("target_hint") for rule in until] == ["_blank", "_blank", "_self"]
    declared_prefetch = {"source": "list", "urls": ["/plain"], "eagerness": "moderate"}
    assert rules["prefetch"][0] == declared_prefetch
    twins = rules["prefetch"][1:]
    assert twins == [without_hint(rule) for rule in until]
    assert all("target_hint" not in twin for twin in twins)
    # The twins are complete rules: list groups with their expectations, the tag, the document rule.
    assert twins[0] == {
        "source": "list",
        "urls": ["/articles/1", "/articles/2"],
        "eagerness": "eager",
        "expects_no_vary_search": 'params=("utm_source")',
        "tag": "pus",
    }
    assert twins[1] == {"source": "list", "urls": ["/plain"], "eagerness": "eager", "tag": "pus"}
    assert twins[2]["source"] == "document"


def test_prerender_until_script_alone_still_gets_its_twin(make_app: AppFactory) -> None:
    app, firehose = make_app()
    app.add_url_rule("/", "index", lambda: "<p>")
    app.add_url_rule("/b", "b", lambda: "<p>")
    firehose.speculate("prerender_until_script", urls=["/b"], app=app)
    rules = header_rules(app.test_client())
    assert rules == {
        "tag": "flask-firehose",
        "prerender_until_script": [{"source": "list", "urls": ["/b"], "eagerness": "moderate"}],
        "prefetch": [{"source": "list", "urls": ["/b"], "eagerness": "moderate"}],
    }


def test_a_view_rule_and_a_blueprint_rule(make_app: AppFactory) -> None:
    app, firehose = make_app()
    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/")
    @speculation("prerender_until_script", urls=["/shop/b"], target_hint="_self")
    def index() -> str:
        return "<p>"

    shop.add_url_rule("/b", "b", lambda: "<p>")
    app.register_blueprint(shop)
    firehose.speculate("prerender", urls=["/shop/b"], target_hint="_blank", blueprint="shop", app=app)
    rules = header_rules(app.test_client(), "/shop/")
    assert rules["prerender"] == [
        {"source": "list", "urls": ["/shop/b"], "eagerness": "moderate", "target_hint": "_blank"}
    ]
    assert rules["prerender_until_script"] == [
        {"source": "list", "urls": ["/shop/b"], "eagerness": "moderate", "target_hint": "_self"}
    ]
    assert rules["prefetch"] == [{"source": "list", "urls": ["/shop/b"], "eagerness": "moderate"}]


def test_the_rules_over_the_wire(make_app: AppFactory) -> None:
    app, _ = until_script_site(make_app)
    with served(app) as server:
        status, headers, _ = server.request("GET", "/", NAV)
        assert status == 200
        (value,) = headers.get_all("Speculation-Rules") or []
        status, headers, body = server.request("GET", value.strip('"'))
    assert status == 200
    assert headers["Content-Type"] == "application/speculationrules+json"
    rules = json.loads(body)
    check_chromium_takes(rules)
    assert len(rules["prefetch"]) == 1 + len(rules["prerender_until_script"])


# -- target_hint ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["prerender", "prerender_until_script"])
@pytest.mark.parametrize("hint", ["_blank", "_self"])
def test_target_hint_on_prerenders(action: str, hint: str) -> None:
    assert make_spec(action, urls=["/a"], target_hint=hint).target_hint == hint


def test_target_hint_none_is_no_hint() -> None:
    assert make_spec("prefetch", urls=["/a"], target_hint=None).target_hint is None


@pytest.mark.parametrize("hint", ["_blank", "_self"])
def test_target_hint_on_prefetch_is_refused(make_app: AppFactory, hint: str) -> None:
    _, firehose = make_app()
    with pytest.raises(ConfigurationError, match="prefetch") as raised:
        make_spec("prefetch", urls=["/a"], target_hint=hint)
    assert (raised.value.key, raised.value.value) == ("target_hint", hint)
    with pytest.raises(ConfigurationError):
        firehose.speculate("prefetch", urls=["/a"], target_hint=hint)
    with pytest.raises(ConfigurationError):
        speculation("prefetch", href_matches="/a/*", target_hint=hint)


@pytest.mark.parametrize(
    "hint", ["_top", "_parent", "_foo", "", "blank", "_BLANK", " _blank", "_blank\n", 5, b"_self", True]
)
@pytest.mark.parametrize("action", ["prerender", "prefetch"])
def test_bad_target_hints_are_refused_naming_them(hint: Any, action: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_spec(action, urls=["/a"], target_hint=hint)
    assert raised.value.key == "target_hint"
    assert raised.value.value == hint
    assert repr(hint) in str(raised.value)


@pytest.mark.parametrize("action", ["prerender_until_script ", "Prerender", "prerender-until-script", "", None, 1])
def test_bad_actions_are_refused(action: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_spec(action, urls=["/a"])
    assert raised.value.key == "action"


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError, match="targethint"):
        make_spec("prerender", urls=["/a"], targethint="_blank")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="expects_no_vary_search"):
        make_spec("prefetch", urls=["/a"], expects_no_vary_search="params")  # type: ignore[call-arg]


_SET_RULES = """
from flask import Flask
from flask_firehose import Firehose
app = Flask("seeded")
app.config.update(TESTING=True)
firehose = Firehose(app)
for name in ("a", "b", "c", "d", "e", "f"):
    app.add_url_rule("/" + name, name, lambda: "<p>")
app.add_url_rule("/", "index", lambda: "<p>")
firehose.speculate("prefetch", urls={"/a", "/b", "/c", "/d", "/e", "/f"})
page = app.test_client().get("/", headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
print(page.headers["Speculation-Rules"])
"""


def test_a_set_of_urls_names_the_same_resource_in_every_process() -> None:
    """Hash seeds 0 and 1 order this set differently; the page must still
    name one resource, which any worker can rebuild."""
    assert run_with_hash_seed(_SET_RULES, 0) == run_with_hash_seed(_SET_RULES, 1)
