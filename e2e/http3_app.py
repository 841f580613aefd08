"""The page e2e/test_http3.py serves under gunicorn behind Caddy over HTTP/3.

``Firehose(app)`` with one declared hint: the page's stylesheet, served by
Caddy from a folder with a year of caching (its URL carries ``?v=``, which
infra/caddy/Caddyfile caches for good). The view thinks before answering, so
the 103 goes out well before the page.

Started as ``e2e.http3_app:create_app()`` with, from the environment:

HTTP3_THINK        seconds the view thinks (default 0.3)
HTTP3_REQUEST_LOG  where each page view is logged, one JSON line each: path,
                   the time (Unix) the view started and the time it answered
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, request

from flask_firehose import Firehose, early_hints

#: The stylesheet the page links and the 103 hints; Caddy serves it from its folder.
STYLESHEET = "/static/h3.css?v=1"
CSS = "body { margin: 0; font: 16px sans-serif; }\nh1 { color: #234; }\n"
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HTTP/3</title>
<link rel="stylesheet" href="{STYLESHEET}">
</head><body><h1>Over QUIC</h1></body></html>
"""


def write_static(folder: Path) -> Path:
    """The folder Caddy serves as ``/static``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "h3.css").write_text(CSS)
    return folder


def create_app() -> Flask:
    """The app gunicorn serves (see the module's docstring)."""
    think = float(os.environ.get("HTTP3_THINK", "0.3"))
    log = Path(os.environ["HTTP3_REQUEST_LOG"])
    app = Flask(__name__, static_folder=None)
    # Caddy speaks HTTP/1.1 to the app: the 103 must go out over it.
    app.config.update(SECRET_KEY="e2e-http3", FIREHOSE_EARLY_HINTS_HTTP1=True, FIREHOSE_LEARN=False)
    Firehose(app)
    lock = threading.Lock()

    @app.get("/")
    @early_hints(STYLESHEET)
    def page() -> Response:
        started = time.time()
        time.sleep(think)  # the 103 has long gone out
        response = Response(PAGE, mimetype="text/html")
        entry = {"path": request.path, "started": started, "answered": time.time()}
        with lock, log.open("a") as out:
            out.write(json.dumps(entry) + "\n")
        return response

    return app
