"""The two pages of the next-navigation benchmark, served by gunicorn.

``/a`` (blueprint ``first``) is a short page whose first element is a large link to
``/b``; ``/b`` is the page-load benchmark's page (:mod:`bench.pageload.app`): a
render-blocking stylesheet and a deferred script, both declared with
``@early_hints``, after a fixed think time. Both pages think the same time. Only
``/a`` carries speculation rules (declared on its blueprint), so nothing on ``/b``
speculates.

Configured by the environment (one gunicorn per variant):

BENCH_NEXTNAV_RULES   none | prefetch-immediate | prefetch-moderate | prerender-immediate |
                      prerender-moderate: what ``/a`` asks the browser to do with ``/b``
BENCH_NEXTNAV_THINK   seconds each page's view thinks (default 0.3)
BENCH_NEXTNAV_STATIC  folder holding bench.css and bench.js (bench.pageload.app.write_static)
BENCH_NEXTNAV_LOG     file: one JSON object per request, written when the server closed the
                      response: ``start`` and ``end`` (unix time, when the request reached the
                      app and when its last byte was written), ``status``, ``method``,
                      ``target``, ``bytes`` (body), ``purpose`` (``Sec-Purpose``), ``view``
                      (the ``bench_view`` cookie, which the benchmark sets per page view)

The rules are the extension's: ``Firehose.speculate`` on A's blueprint, a list rule
naming B's endpoint, delivered as a ``Speculation-Rules`` header that points at the
content-hashed rules resource the extension serves.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from flask import Blueprint, Flask, url_for
from markupsafe import Markup

from flask_firehose import Firehose, early_hints

from ..closing import when_closed
from ..pageload.app import CSS, JS

__all__ = ["RULES", "RequestLog", "create_app"]

RULES = ("none", "prefetch-immediate", "prefetch-moderate", "prerender-immediate", "prerender-moderate")

_TEXT = "This page links to the next one. A user reads it for a moment, then follows the link. " * 4


def _page_b() -> str:
    css, js = url_for("static", filename=CSS), url_for("static", filename=JS)
    return Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>page B</title>\n'
        f'<link rel="stylesheet" href="{css}">\n<script defer src="{js}"></script>\n</head>'
        f"<body><h1>Page B</h1>{''.join(f'<p>{_TEXT}</p>' for _ in range(3))}</body></html>\n"
    )


def _page_a() -> str:
    link = '<a id="next" href="{}" style="display:block;font-size:32px;padding:24px 0">Read the next page</a>'
    return Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>page A</title></head>\n'
        f"<body style='margin:0 2em'>{link.format(url_for('page_b'))}<p>{_TEXT}</p></body></html>\n"
    )


class RequestLog:
    """WSGI middleware: one JSON line per request once the server closed its response."""

    def __init__(self, app: Any, path: str) -> None:
        self.app, self.path, self._lock = app, path, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.time()
        head: dict[str, Any] = {"status": 0, "length": None}
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        query = environ.get("QUERY_STRING", "")
        entry: dict[str, Any] = {
            "start": start,
            "method": environ.get("REQUEST_METHOD", ""),
            "target": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
            "purpose": environ.get("HTTP_SEC_PURPOSE", ""),
            "view": cookie["bench_view"].value if "bench_view" in cookie else "",
        }

        def starting(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            head["status"] = int(code.split(" ", 1)[0])
            for name, value in headers:
                if name.lower() == "content-length":
                    head["length"] = int(value)
            return start_response(code, headers, exc_info)

        def done(sent: int) -> None:
            length = head["length"]
            entry.update(end=time.time(), status=head["status"], bytes=sent if length is None else length)
            with self._lock, open(self.path, "a") as out:
                out.write(json.dumps(entry) + "\n")

        return when_closed(environ, self.app(environ, starting), done)


def create_app() -> Flask:
    rules = os.environ.get("BENCH_NEXTNAV_RULES", "none")
    if rules not in RULES:
        raise ValueError(f"BENCH_NEXTNAV_RULES must be one of {RULES}, not {rules!r}")
    think = float(os.environ.get("BENCH_NEXTNAV_THINK", "0.3"))
    app = Flask(__name__, static_folder=os.environ["BENCH_NEXTNAV_STATIC"], static_url_path="/static")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # with no-cache, a hinted file is downloaded twice
    app.config.update(FIREHOSE_TRACKING=False, FIREHOSE_LEARN=False, FIREHOSE_LINT=False)
    firehose = Firehose(app)
    first = Blueprint("first", __name__)

    @first.get("/a")
    def page_a() -> str:
        time.sleep(think)
        return _page_a()

    @app.get("/b")
    @early_hints(lambda: url_for("static", filename=CSS), lambda: url_for("static", filename=JS))
    def page_b() -> str:
        time.sleep(think)
        return _page_b()

    if rules != "none":
        action, eagerness = rules.split("-")
        # On A's pages only (B speculates nothing): a list rule for B's endpoint.
        firehose.speculate(action, eagerness=eagerness, endpoints=("page_b",), blueprint="first")
    app.register_blueprint(first)
    if path := os.environ.get("BENCH_NEXTNAV_LOG"):
        app.wsgi_app = RequestLog(app.wsgi_app, path)  # type: ignore[method-assign]
    return app
