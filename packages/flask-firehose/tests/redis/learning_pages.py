"""A page that learns through a given hint store, and one visit to it: what
the Redis tests (one server, a cluster, a slow peer) serve while they break
the store."""

from __future__ import annotations

import time

from flask import Flask

from flask_firehose import Firehose, HintStore, push
from flask_firehose.testing import record_early_hints

__all__ = ["learning_app", "visit"]


def learning_app(store: HintStore, name: str) -> Flask:
    """An app whose ``/page/<name>`` pushes two static files, learning
    through *store*, lenient (a store failure is logged, the page served)."""
    app = Flask(name)
    app.config.update(SECRET_KEY="s", FIREHOSE_STRICT=False)
    Firehose(app, hint_store=store)

    @app.get("/page/<name>")
    def page(name: str) -> str:
        push("/static/app.css")
        push("/static/app.js")
        return f"<p>{name}</p>"

    return app


def visit(app: Flask, n: int) -> tuple[int, list[list[str]], float]:
    """Navigate to ``/page/<n>`` over HTTP/2: the status, each 103's targets, and seconds taken."""
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        started = time.monotonic()
        status = client.get(f"/page/{n}").status_code
        elapsed = time.monotonic() - started
    return status, [[link.target for link in links] for links in hints.links], elapsed
