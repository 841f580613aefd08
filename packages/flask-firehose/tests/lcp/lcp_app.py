"""A small app with the LCP learner wired as the request hooks wire it, and
a client that reports as the browser script does (the tests share it)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from flask import Flask, Response
from flask.testing import FlaskClient

from flask_firehose._failure import FailurePolicy
from flask_firehose._lcp import LcpLearning, MemoryLcpStore

__all__ = ["IMAGES", "KEY", "LcpApp", "build", "report", "script_tags", "token_of"]

KEY = "app|http://localhost/|index"
IMAGES = ("/static/hero.jpg", "/static/logo.png?v=2", "/static/footer.webp")
PAGE = (
    "<!doctype html><html><head><title>t</title></head><body>"
    '<img src="/static/hero.jpg"><img src="/static/logo.png?v=2"><img src="/static/footer.webp">'
    "</body></html>"
)


class LcpApp:
    """An app, its learner and its store."""

    def __init__(self, app: Flask, learning: LcpLearning, store: MemoryLcpStore) -> None:
        self.app = app
        self.learning = learning
        self.store = store


def build(
    name: str = "lcp_app",
    secret: str | None = "test-secret",
    *,
    store: MemoryLcpStore | None = None,
    strict: bool | None = False,
    key: str = KEY,
    **options: Any,
) -> LcpApp:
    """An app serving ``/`` (a page with :data:`IMAGES`, the script injected
    while the learner wants samples) and the learner's two routes."""
    app = Flask(name)
    if secret is not None:
        app.config["SECRET_KEY"] = secret
    store = store or MemoryLcpStore()
    learning = LcpLearning(
        store=store, failures=FailurePolicy(strict=strict), secret=lambda: app.config.get("SECRET_KEY"), **options
    )
    learning.register(app)

    @app.get("/")
    def index() -> str:
        return PAGE

    @app.after_request
    def sample(response: Response) -> Response:
        from flask import request

        if request.endpoint == "index" and learning.wants_sample(key):
            learning.inject(response, key, IMAGES)
        return response

    return LcpApp(app, learning, store)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.found.append(dict(attrs))


def script_tags(html: str) -> list[dict[str, str | None]]:
    """The attributes of each ``<script>`` in *html*, parsed."""
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser.found


def token_of(client: FlaskClient, path: str = "/") -> str:
    """The token of the LCP script in the page at *path*."""
    tags = [tag for tag in script_tags(client.get(path).get_data(as_text=True)) if "data-firehose-lcp" in tag]
    assert len(tags) == 1, tags
    token = tags[0]["data-firehose-lcp"]
    assert token
    return token


def report(
    client: FlaskClient,
    token: str,
    url: str = "http://localhost/static/hero.jpg",
    *,
    width: int = 1200,
    in_viewport: bool = True,
    address: str = "192.0.2.1",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    path: str = "/_firehose/lcp",
) -> tuple[int, str]:
    """POST one report as the browser script does; ``(status, text)``."""
    sent = {
        "Origin": "http://localhost",
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Dest": "empty",
        "Sec-Fetch-Mode": "cors",
        "Content-Type": "application/json",
    }
    sent.update(headers or {})
    for name, value in list(sent.items()):
        if value == "":
            del sent[name]
    data = body if body is not None else json.dumps({"t": token, "w": width, "u": url, "v": in_viewport}).encode()
    response = client.post(path, data=data, headers=sent, environ_base={"REMOTE_ADDR": address})
    return response.status_code, response.get_data(as_text=True)
