"""The two pages of the next-navigation benchmark, served by gunicorn.

``/a`` (blueprint ``first``) is a short page whose first element is a large link to
``/b``; ``/b`` is the page-load benchmark's page (:mod:`bench.pageload.app`): a
render-blocking stylesheet and a deferred script, both declared with
``@early_hints``, after a fixed think time, and at the end of its body an inline
script standing for analytics: it asks for ``/hit`` (204) once B's scripts run.
Both pages think the same time. Only ``/a`` carries speculation rules (declared on
its blueprint), so nothing on ``/b`` speculates.

Configured by the environment (one gunicorn per variant):

BENCH_NEXTNAV_RULES   a name from :data:`RULES` (:func:`setup` reads it): ``none``, or
                      ``ACTION-EAGERNESS`` (``prefetch``, ``prerender_until_script`` or
                      ``prerender``; ``immediate`` or ``moderate``): what ``/a`` asks the
                      browser to do with ``/b``; or ``query-prefetch-EAGERNESS`` (A's link
                      is ``/b?utm_source=bench``, the rule still lists ``/b``) and
                      ``query-nvs-prefetch-EAGERNESS`` (the same, and B declares
                      ``@no_vary_search(ignore=["utm_source"])``, so the rule carries
                      ``expects_no_vary_search``)
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

The benchmark's visitors are anonymous: ``FIREHOSE_SIGNED_IN`` is ``lambda: False``.
Without it, the ``bench_view`` cookie every request carries would make each visitor
count as signed in, and Firehose's default for them (``FIREHOSE_SPECULATION_SIGNED_IN
= "prefetch"``) would turn the prerender rules into prefetch rules.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from flask import Blueprint, Flask, url_for
from markupsafe import Markup

from flask_firehose import Firehose, early_hints, no_vary_search

from ..closing import when_closed
from ..pageload.app import CSS, JS

__all__ = ["QUERY", "RULES", "TRACKING", "RequestLog", "Setup", "create_app", "setup"]

RULES = (
    "none",
    "prefetch-immediate",
    "prefetch-moderate",
    "prerender_until_script-immediate",
    "prerender_until_script-moderate",
    "prerender-immediate",
    "prerender-moderate",
    "query-prefetch-immediate",
    "query-nvs-prefetch-immediate",
    "query-prefetch-moderate",
    "query-nvs-prefetch-moderate",
)

#: The parameter A's link adds in the query variants, and what B's No-Vary-Search ignores.
TRACKING = "utm_source"
QUERY = f"{TRACKING}=bench"


@dataclass(frozen=True)
class Setup:
    """What a variant asks: the rule's action and eagerness (None: no rule), whether
    A's link carries :data:`QUERY`, whether B declares No-Vary-Search for it."""

    action: str | None
    eagerness: str | None
    query: bool
    nvs: bool


def setup(variant: str) -> Setup:
    """:raises ValueError: for a name not in :data:`RULES`."""
    if variant not in RULES:
        raise ValueError(f"BENCH_NEXTNAV_RULES must be one of {RULES}, not {variant!r}")
    if variant == "none":
        return Setup(None, None, query=False, nvs=False)
    words = variant.split("-")
    return Setup(words[-2], words[-1], query=words[0] == "query", nvs="nvs" in words[:-2])


_TEXT = "This page links to the next one. A user reads it for a moment, then follows the link. " * 4


def _page_b() -> str:
    css, js = url_for("static", filename=CSS), url_for("static", filename=JS)
    return Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>page B</title>\n'
        f'<link rel="stylesheet" href="{css}">\n<script defer src="{js}"></script>\n</head>'
        f"<body><h1>Page B</h1>{''.join(f'<p>{_TEXT}</p>' for _ in range(3))}"
        f"<script>fetch({url_for('hit')!r})</script></body></html>\n"
    )


def _page_a(query: bool) -> str:
    link = '<a id="next" href="{}" style="display:block;font-size:32px;padding:24px 0">Read the next page</a>'
    href = url_for("page_b") + (f"?{QUERY}" if query else "")
    return Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>page A</title></head>\n'
        f"<body style='margin:0 2em'>{link.format(href)}<p>{_TEXT}</p></body></html>\n"
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
    asked = setup(os.environ.get("BENCH_NEXTNAV_RULES", "none"))
    think = float(os.environ.get("BENCH_NEXTNAV_THINK", "0.3"))
    app = Flask(__name__, static_folder=os.environ["BENCH_NEXTNAV_STATIC"], static_url_path="/static")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # with no-cache, a hinted file is downloaded twice
    app.config.update(FIREHOSE_TRACKING=False, FIREHOSE_LEARN=False, FIREHOSE_LINT=False)
    app.config["FIREHOSE_SIGNED_IN"] = lambda: False  # anonymous visitors, whatever their cookie
    firehose = Firehose(app)
    first = Blueprint("first", __name__)

    @first.get("/a")
    def page_a() -> str:
        time.sleep(think)
        return _page_a(asked.query)

    def page_b() -> str:
        time.sleep(think)
        return _page_b()

    view = early_hints(lambda: url_for("static", filename=CSS), lambda: url_for("static", filename=JS))(page_b)
    if asked.nvs:
        view = no_vary_search(ignore=[TRACKING])(view)
    app.get("/b")(view)

    @app.get("/hit")
    def hit() -> tuple[str, int]:
        return "", 204

    if asked.action is not None and asked.eagerness is not None:
        # On A's pages only (B speculates nothing): a list rule for B's endpoint (its bare URL).
        firehose.speculate(asked.action, eagerness=asked.eagerness, endpoints=("page_b",), blueprint="first")
    app.register_blueprint(first)
    if path := os.environ.get("BENCH_NEXTNAV_LOG"):
        app.wsgi_app = RequestLog(app.wsgi_app, path)  # type: ignore[method-assign]
    return app
