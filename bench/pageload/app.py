"""The synthetic site the page-load benchmark serves under gunicorn.

``/`` renders a small page after a fixed think time, with a render-blocking
stylesheet and a deferred script, both declared with ``@early_hints``; ``/limit``
is the same page without either (the physical limit for first paint). Every
navigation carries a nonce (``?n=...``) that the asset URLs repeat, so the access
logs say how often each file of each navigation was downloaded.

With ``BENCH_PAGELOAD_XORIGIN`` set, ``/`` also loads a small render-blocking
stylesheet (:data:`XCSS`, ``crossorigin``) from that second origin, not hinted as a
preload; in mode ``preconnect`` the 103 also carries ``<origin>; rel=preconnect;
crossorigin=anonymous`` (variant g against h, which is c with that stylesheet). The second origin is this same app
in mode ``xorigin``: Firehose off, CORS and ``Timing-Allow-Origin: *`` on every
response, so Resource Timing shows whether the connection was set up or reused.

Configured by the environment (one gunicorn per variant):

BENCH_PAGELOAD_MODE    none | final | hints | xhints | proxy | preconnect | xorigin (Firehose off;
                       Link header only; 103 to HTTP/2 clients; 103 over HTTP/1.1 too,
                       for a proxy; hints plus a preconnect to BENCH_PAGELOAD_XORIGIN;
                       the second origin: Firehose off, CORS + Timing-Allow-Origin)
BENCH_PAGELOAD_XORIGIN optional ``https://localhost:PORT``: the second origin the page
                       loads :data:`XCSS` from
BENCH_PAGELOAD_THINK   seconds the view thinks (default 0.3)
BENCH_PAGELOAD_STATIC  folder holding the files written by :func:`write_static`
BENCH_PAGELOAD_TIMES   optional file: one line per response, ``<unix time> <status> <target>``,
                       written when the server closed the response (after its last byte
                       was written), with microseconds; gunicorn's own ``%(t)s`` has seconds
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, url_for
from markupsafe import Markup, escape

from flask_firehose import Firehose, Link, early_hints

from ..closing import when_closed

__all__ = ["CSS", "JS", "MODES", "XCSS", "TimesLog", "create_app", "write_static", "write_xorigin"]

CSS, JS = "bench.css", "bench.js"
XCSS = "xorigin.css"  # the render-blocking stylesheet of the second origin
MODES = ("none", "final", "hints", "xhints", "proxy", "preconnect", "xorigin")

_TEXT = "Early hints let the browser fetch what a page needs while the server is still thinking about the page. " * 6


def _stream(label: str, size: int, line: str) -> str:
    """Deterministic filler: *line* formatted with hex digests until *size* bytes."""
    parts, total, i = [], 0, 0
    while total < size:
        digest = hashlib.sha256(f"{label}{i}".encode()).hexdigest()
        part = line.format(i=i, d=digest)
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)


def write_static(folder: Path, css_bytes: int = 60_000, js_bytes: int = 150_000) -> dict[str, int]:
    """Write the stylesheet and the script (same bytes for the same sizes); return their sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    css = "body{font:18px/1.5 sans-serif;margin:2em;color:#222}h1{font-size:2em}\n"
    css += _stream("css", css_bytes - len(css), ".r{i}-{d}{{color:#{d:.6};margin:{i}px;content:'{d}'}}\n")
    js = "window.benchRows=[\n"
    js += _stream("js", js_bytes - len(js) - 60, '"{d}{d}",\n')
    js += "];document.documentElement.dataset.js=String(benchRows.length);\n"
    sizes = {}
    for name, text in ((CSS, css), (JS, js)):
        (folder / name).write_text(text)
        sizes[name] = len(text.encode())
    return sizes


def write_xorigin(folder: Path, css_bytes: int = 4_000) -> int:
    """Write the second origin's small stylesheet; return its size."""
    folder.mkdir(parents=True, exist_ok=True)
    css = "h1{letter-spacing:.02em}\n"
    css += _stream("xcss", css_bytes - len(css), ".x{i}-{d}{{color:#{d:.6}}}\n")
    (folder / XCSS).write_text(css)
    return len(css.encode())


def _asset(name: str) -> str:
    return url_for("static", filename=name, n=request.args.get("n", ""))


def _page(assets: bool, xorigin: str = "") -> str:
    head = ""
    if assets:
        head = (
            f'<link rel="stylesheet" href="{escape(_asset(CSS))}">\n<script defer src="{escape(_asset(JS))}"></script>'
        )
        if xorigin:
            url = f"{xorigin}/static/{XCSS}?n={request.args.get('n', '')}"
            head += f'\n<link rel="stylesheet" crossorigin href="{escape(url)}">'
    paragraphs = "".join(f"<p>{_TEXT}</p>" for _ in range(3))
    return Markup(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>page-load bench</title>\n'
        f"{head}\n</head><body><h1>Page-load benchmark</h1>{paragraphs}</body></html>\n"
    )


class TimesLog:
    """WSGI middleware: log when each response was closed by the server (its last
    byte written), ``time.time()`` with microseconds, status and request target."""

    def __init__(self, app: Any, path: str) -> None:
        self.app, self.path, self._lock = app, path, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        status: list[str] = []

        def starting(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info)

        target = environ.get("PATH_INFO", "") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")

        def done() -> None:
            line = f"{time.time():.6f} {status[-1] if status else '-'} {target}\n"
            with self._lock, open(self.path, "a") as out:
                out.write(line)

        return when_closed(environ, self.app(environ, starting), lambda _sent: done())


def create_app() -> Flask:
    mode = os.environ.get("BENCH_PAGELOAD_MODE", "hints")
    if mode not in MODES:
        raise ValueError(f"BENCH_PAGELOAD_MODE must be one of {MODES}, not {mode!r}")
    think = float(os.environ.get("BENCH_PAGELOAD_THINK", "0.3"))
    xorigin = os.environ.get("BENCH_PAGELOAD_XORIGIN", "")
    if mode in ("preconnect", "xhints") and not xorigin:
        raise ValueError(f"BENCH_PAGELOAD_MODE={mode} needs BENCH_PAGELOAD_XORIGIN")
    app = Flask(__name__, static_folder=os.environ["BENCH_PAGELOAD_STATIC"])
    # Cacheable statics: with no-cache, a hinted file is downloaded twice (measured here).
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    if mode not in ("none", "xorigin"):
        app.config.update(
            FIREHOSE_EARLY_HINTS=mode != "final",
            FIREHOSE_EARLY_HINTS_HTTP1=mode == "proxy",
            FIREHOSE_TRACKING=False,
            FIREHOSE_LEARN=False,
            FIREHOSE_LINT=False,
        )
        Firehose(app)
    if mode == "xorigin":

        @app.after_request
        def cors(response: Response) -> Response:
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Timing-Allow-Origin"] = "*"
            return response

    hints: list[Any] = [lambda: _asset(CSS), lambda: _asset(JS)]
    if mode == "preconnect":
        # The page loads XCSS with crossorigin (CORS, no credentials): only an anonymous
        # preconnect opens a connection that request can use.
        hints.append(Link(xorigin, rel="preconnect", crossorigin="anonymous"))

    @app.get("/")
    @early_hints(*hints)
    def page() -> str:
        time.sleep(think)
        return _page(assets=True, xorigin=xorigin)

    @app.get("/limit")
    def limit() -> str:
        time.sleep(think)
        return _page(assets=False)

    if times := os.environ.get("BENCH_PAGELOAD_TIMES"):
        app.wsgi_app = TimesLog(app.wsgi_app, times)  # type: ignore[method-assign]
    return app
