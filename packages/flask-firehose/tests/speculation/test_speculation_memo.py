"""The ``Speculation-Rules`` header is worked out once per page's rules and
their URLs: what changes from one request to the next (a ``url_defaults``
function's values, the signed-in choice) still changes the header."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, g, request

from flask_firehose import Firehose, speculation

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


def _rules(client: Any, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    page = client.get(path, headers={**NAV, **(headers or {})})
    resource = client.get(page.headers["Speculation-Rules"].strip('"'))
    assert resource.status_code == 200
    return dict(json.loads(resource.data))


def _list_urls(rules: dict[str, Any], action: str) -> list[str]:
    return [url for rule in rules.get(action, []) if rule["source"] == "list" for url in rule["urls"]]


def test_a_url_defaults_function_gives_each_request_its_own_urls() -> None:
    """The i18n pattern: every URL carries the request's language."""
    app = Flask(__name__)
    app.config.update(TESTING=True, FIREHOSE_SIGNED_IN=lambda: False)
    Firehose(app)

    @app.url_defaults
    def language(endpoint: str, values: dict[str, Any]) -> None:
        if "lang" in app.url_map._rules_by_endpoint[endpoint][0].arguments:
            values.setdefault("lang", g.lang)

    @app.url_value_preprocessor
    def pull(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang = (values or {}).pop("lang", request.args.get("lang", "en"))

    @app.get("/<lang>/")
    @speculation("prerender", endpoints=["about"])
    def home() -> str:
        return "<p>home"

    @app.get("/<lang>/about")
    def about() -> str:
        return "<p>about"

    client = app.test_client()
    for _ in range(2):  # the second time from the memo
        assert _list_urls(_rules(client, "/en/"), "prerender") == ["/en/about"]
        assert _list_urls(_rules(client, "/fr/"), "prerender") == ["/fr/about"]


def test_the_resource_is_served_after_the_worker_forgot_it() -> None:
    app = Flask(__name__)
    app.config.update(TESTING=True)
    firehose = Firehose(app)

    @app.get("/")
    @speculation("prefetch", urls=["/next"])
    def home() -> str:
        return "<p>home"

    client = app.test_client()
    first = client.get("/", headers=NAV).headers["Speculation-Rules"]
    state = firehose._state_of(app)
    assert state is not None and state.speculation is not None
    state.speculation._bodies._entries.clear()  # evicted by 512 other rule sets
    again = client.get("/", headers=NAV).headers["Speculation-Rules"]
    assert again == first
    assert client.get(again.strip('"')).status_code == 200
