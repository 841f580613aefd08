"""The demo tests itself as a user's app would, with ``flask_firehose.testing``:
the "What Firehose did" panel, the /compare page and the no-hints twin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from demo import create_app
from flask_firehose.testing import links_of, record_early_hints


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DEMO_REDIS_URL": None, "DEMO_DATA_DIR": str(tmp_path), "DEMO_SLOW_SECONDS": 0})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def _panel(html: str) -> str:
    match = re.search(r'<details class="fh-panel".*?</details>', html, re.S)
    assert match, "no panel in the page"
    return match[0]


def _paths(targets: list[str]) -> set[str]:
    return {target.split("?")[0] for target in targets}


def test_report_sends_its_declared_hint_in_the_103(client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        response = client.get("/report")
    assert response.status_code == 200
    assert len(hints.links) == 1
    early = [link.target for link in hints.links[0]]
    assert "/static/css/report.css" in _paths(early)
    final = [link.target for link in links_of(response)]
    assert {"/static/css/report.css", "/static/img/heatmap.png", "/static/css/main.css"} <= _paths(final)
    # The panel lists what was handed to the server, and the final header as sent.
    panel = _panel(response.text)
    for target in early:
        assert f"<code>{target.replace('&', '&amp;')}</code>" in panel
    for value in response.headers.getlist("Link"):
        assert "Link: " + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in panel
    assert 'class="fh-nopush">nopush' in panel  # the logo is a hint only
    assert 'class="fh-push">push' in panel


def test_panel_is_closed_and_in_the_footer_of_every_page(client: FlaskClient) -> None:
    for url in ["/", "/gallery", "/articles/early-hints", "/compare", "/account/login"]:
        html = client.get(url).text
        footer = html[html.index("<footer>") :]
        assert '<details class="fh-panel" id="fh-panel"' in footer, url
        assert '<details class="fh-panel" id="fh-panel" data-twin="false" open' not in footer
        assert "<!--firehose-panel-->" not in html
        assert "/static/js/panel.js?v=" in html


def test_panel_without_a_103_server_says_so(client: FlaskClient) -> None:
    panel = _panel(client.get("/report").text)
    assert "offers no <code>wsgi.early_hints</code>" in panel


def test_content_length_matches_the_page_with_its_panel(client: FlaskClient) -> None:
    response = client.get("/")
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_no_hints_twin_sends_no_103_and_no_link(client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        client.get("/report")  # learns, so the twin would have more to hint
        response = client.get("/report?hints=off")
    assert response.status_code == 200
    assert len(hints.sent) == 1  # the first request's only
    assert response.headers.getlist("Link") == []
    assert links_of(response) == []
    panel = _panel(response.text)
    assert 'data-twin="true"' in panel
    assert "No-hints twin" in panel
    assert "<pre" not in panel


def test_compare_renders(client: FlaskClient) -> None:
    response = client.get("/compare")
    assert response.status_code == 200
    html = response.text
    assert 'id="fh-compare-run"' in html
    assert "/report?hints=off" in html
    assert "certificate" in html and "HTTP/2" in html
    assert "noisy" in html


def test_compare_reset_clears_the_cache(client: FlaskClient) -> None:
    response = client.post("/compare/reset")
    assert response.status_code == 204
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert "Link" not in response.headers


def test_panel_escapes_what_it_shows(app: Flask, client: FlaskClient) -> None:
    # A view that sets a Link of its own with markup in it (percent-encoded by
    # nobody): the panel must show it as text, never as markup.
    @app.get("/hostile")
    def hostile() -> tuple[str, dict[str, str]]:
        from flask import render_template_string

        page = render_template_string('{% extends "base.html" %}{% block body %}{{ q }}{% endblock %}', q="<b>x</b>")
        return page, {"Link": '</x?<script>alert(1)</script>>; rel=preload; as=script; title="<i>"'}

    html = client.get("/hostile?q=<!--firehose-panel-->").text
    assert "<script>alert(1)" not in html
    assert "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _panel(html)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count('<details class="fh-panel"') == 1


def test_user_input_never_becomes_the_marker(client: FlaskClient) -> None:
    # The login form echoes nothing, but a query string with the marker must not
    # place a panel (autoescaping turns "<" into "&lt;").
    html = client.get("/account/login?next=<!--firehose-panel-->").text
    assert html.count('<details class="fh-panel"') == 1
