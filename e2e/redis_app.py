"""A small app for the multi-worker e2e test: hints learned in Redis.

``gunicorn "e2e.redis_app:create_app()"`` with ``FIREHOSE_REDIS_URL`` set.
Every response names the worker process that served it (``X-Worker-Pid``),
so the test can tell which worker learned and which one hinted.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from flask_firehose import Firehose, RedisHintStore, push

__all__ = ["PUSHED", "create_app"]

#: What the page pushes: everything the learner may learn.
PUSHED = ("/static/css/main.css", "/static/js/app.js", "/static/fonts/blocks.woff2")


def create_app() -> Flask:
    app = Flask(__name__)
    store = RedisHintStore(
        url=os.environ["FIREHOSE_REDIS_URL"],
        prefix=os.environ.get("FIREHOSE_REDIS_PREFIX", "firehose:{hints}:"),
        timeout=float(os.environ.get("FIREHOSE_REDIS_TIMEOUT", "0.25")),
    )
    Firehose(app, hint_store=store)

    @app.get("/")
    def index() -> str:
        for url in PUSHED:
            push(url)
        return "<!doctype html><title>home</title><p>home</p>"

    @app.after_request
    def name_the_worker(response: Response) -> Response:
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
