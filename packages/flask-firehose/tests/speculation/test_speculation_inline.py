"""One page, one set of rules: a page that inlines its rules gets no
``Speculation-Rules`` header for them, whichever comes first (the template
rendered before the response hook, or streamed after it), and a page that
calls ``speculation_rules()`` twice writes its rules once."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from flask import Flask, g, render_template_string, request, stream_template_string

from flask_firehose import Firehose

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
_SF_STRING = re.compile(r'"([^"\\]*)"')


def header_urls(response: Any) -> list[str]:
    return [m for value in response.headers.getlist("Speculation-Rules") for m in _SF_STRING.findall(value)]


def scripts(html: str) -> list[dict[str, Any]]:
    return [json.loads(body) for body in re.findall(r'<script type="speculationrules">(.*?)</script>', html, re.S)]


def every_rule(client: Any, response: Any) -> Counter[str]:
    """Each rule the browser gets from the page, header and inline together,
    counted (a rule counted twice is speculated twice)."""
    found: Counter[str] = Counter()
    sets = scripts(response.get_data(as_text=True))
    for url in header_urls(response):
        sets.append(json.loads(client.get(url).data))
    for rules in sets:
        for action, listed in rules.items():
            if action == "tag":  # the rule set's tag, not an action
                continue
            for rule in listed:
                if rule["source"] == "list":
                    found.update(f"{action} list {url}" for url in rule["urls"])
                else:
                    found[f"{action} {json.dumps(rule, sort_keys=True)}"] += 1
    return found


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    firehose = Firehose(app)

    @app.before_request
    def who() -> None:
        g.user = request.headers.get("X-User", "anon")

    @app.get("/")
    def index() -> str:
        return "<p>no inline"

    @app.get("/once")
    def once() -> str:
        return render_template_string("<head>{{ speculation_rules() }}</head>")

    @app.get("/twice")
    def twice() -> str:
        # A base layout and a page block both asking for the rules.
        return render_template_string(
            "{% macro head() %}{{ speculation_rules() }}{% endmacro %}<head>{{ head() }}</head>"
            "<body>{{ speculation_rules(nonce='n') }}</body>"
        )

    @app.get("/streamed")
    def streamed() -> Any:
        return stream_template_string("<head>{{ speculation_rules() }}</head><body>{{ speculation_rules() }}</body>")

    @app.get("/next/<name>")
    def next_page(name: str) -> str:
        return name

    firehose.speculate("prefetch", endpoints=[("next_page", {"name": "shared"})])
    firehose.speculate("prerender", href_matches="/next/*")
    firehose.speculate("prerender", endpoints=[("next_page", {"name": lambda: f"for-{g.user}"})])
    return app


def test_inline_first_then_the_hook_sends_no_header(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/once", headers=NAV)
    assert header_urls(page) == []
    assert len(scripts(page.text)) == 1
    counted = every_rule(client, page)
    assert counted["prefetch list /next/shared"] == 1
    assert counted["prerender list /next/for-anon"] == 1
    assert max(counted.values()) == 1


def test_a_page_that_calls_it_twice_writes_the_rules_once(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/twice", headers=NAV)
    assert page.text.count("<script") == 1
    assert header_urls(page) == []
    counted = every_rule(client, page)
    assert counted and max(counted.values()) == 1


def test_a_streamed_page_gets_the_header_then_only_what_it_left_out(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/streamed", headers={**NAV, "X-User": "alice"})
    (url,) = header_urls(page)  # the hook ran before the template
    (inline,) = scripts(page.get_data(as_text=True))  # once, though called twice
    assert json.dumps(inline).count("for-alice") == 1
    assert "/next/shared" not in json.dumps(inline)
    shared = json.loads(client.get(url).data)
    assert "for-alice" not in json.dumps(shared)
    counted = every_rule(client, page)
    assert counted["prefetch list /next/shared"] == 1
    assert counted["prerender list /next/for-alice"] == 1
    assert max(counted.values()) == 1


def test_a_streamed_page_without_per_request_rules_writes_no_script(app: Flask) -> None:
    plain = Flask(__name__)
    plain.config.update(SECRET_KEY="s", TESTING=True)
    Firehose(plain).speculate("prefetch", href_matches="/*")

    @plain.get("/")
    def index() -> Any:
        return stream_template_string("<head>{{ speculation_rules() }}</head>")

    page = plain.test_client().get("/", headers=NAV)
    assert len(header_urls(page)) == 1
    assert "<script" not in page.get_data(as_text=True)


def test_the_mark_is_per_request(app: Flask) -> None:
    client = app.test_client()
    client.get("/once", headers=NAV)
    assert len(header_urls(client.get("/", headers=NAV))) == 1
    assert len(scripts(client.get("/once", headers=NAV).text)) == 1
