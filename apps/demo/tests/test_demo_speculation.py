"""The demo's Speculation Rules: articles prerendered from the list, every link
prefetched, "Sign out" never; prerenders are not counted as reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from demo import create_app
from demo.views import READS

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DEMO_REDIS_URL": None, "DEMO_DATA_DIR": str(tmp_path), "DEMO_SLOW_SECONDS": 0})


def _rules(app: Flask, path: str) -> dict[str, Any]:
    client = app.test_client()
    response = client.get(path, headers=NAV)
    url = response.headers["Speculation-Rules"].strip('"')
    rules: dict[str, Any] = json.loads(client.get(url).data)
    return rules


def test_the_article_list_prerenders_its_articles(app: Flask) -> None:
    rules = _rules(app, "/")
    (prerender,) = rules["prerender"]
    assert prerender["source"] == "list" and prerender["eagerness"] == "moderate"
    assert prerender["urls"] == ["/articles/early-hints", "/articles/push-is-dead", "/articles/budgets"]
    assert "prerender" not in _rules(app, "/gallery")


def test_sign_out_is_never_speculated(app: Flask) -> None:
    html = app.test_client().get("/").text
    assert 'href="/account/logout"' in html
    (prefetch,) = _rules(app, "/")["prefetch"]
    excluded = [p["pathname"] for c in prefetch["where"]["and"] if "not" in c for p in c["not"].get("href_matches", [])]
    assert "/account/logout" in excluded and "/*logout*" in excluded  # absolute: the browser resolves a relative one
    assert "/compare/reset" in excluded  # POST only


def test_a_prerender_is_not_counted_as_a_read(app: Flask) -> None:
    client = app.test_client()
    before = READS["budgets"]
    client.get("/articles/budgets", headers={**NAV, "Sec-Purpose": "prefetch;prerender"})
    assert READS["budgets"] == before
    client.get("/articles/budgets", headers=NAV)
    assert READS["budgets"] == before + 1


def test_sign_out_by_link_signs_out(app: Flask) -> None:
    client = app.test_client()
    client.post("/account/login", data={"user": "alice"})
    assert "Hello, alice" in client.get("/account/").text
    assert client.get("/account/logout").status_code == 302
    assert client.get("/account/").status_code == 302


def test_a_newsletter_link_is_the_prerendered_article(app: Flask) -> None:
    client = app.test_client()
    article = client.get("/articles/budgets?utm_source=newsletter", headers=NAV)
    (prerender,) = _rules(app, "/")["prerender"]
    # The article says its tracking parameters change nothing, and the list's
    # rule tells the browser so before the prerender's answer arrives.
    assert article.headers["No-Vary-Search"].startswith('params=("_ga" "_gl" "dclid"')
    assert prerender["expects_no_vary_search"] == article.headers["No-Vary-Search"]


def test_a_signed_in_visitor_gets_prefetch_where_a_visitor_gets_prerender(app: Flask) -> None:
    client = app.test_client()
    client.get("/", headers=NAV)  # an anonymous visitor has a session too (what was pushed)
    assert client.get_cookie("session") is not None
    anonymous = client.get("/", headers=NAV).headers["Speculation-Rules"]
    assert "prerender" in json.loads(client.get(anonymous.strip('"')).data)
    client.post("/account/login", data={"user": "alice"})
    signed_in = client.get("/", headers=NAV).headers["Speculation-Rules"]
    rules = json.loads(client.get(signed_in.strip('"')).data)
    assert "prerender" not in rules
    assert [url for rule in rules["prefetch"] if rule["source"] == "list" for url in rule["urls"]] == [
        "/articles/early-hints",
        "/articles/push-is-dead",
        "/articles/budgets",
    ]
