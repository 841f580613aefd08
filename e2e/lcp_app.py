"""The page e2e/test_lcp_learning.py serves under gunicorn: ``Firehose(app)``
and nothing else, no ``push()``, no declaration. The page has a render-blocking
stylesheet, a deferred script and a hero image found late (after 20 kB of
markup), its Largest Contentful Paint at every viewport width.

Started as ``e2e.lcp_app:create_app()`` with, from the environment:

LCP_STATIC       the folder served at /static (the test writes it with :func:`write_static`)
LCP_REQUEST_LOG  where each request is logged, one JSON line each: path, method,
                 status and the address it came from
LCP_THINK        seconds the view thinks before answering (default 0.3)
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, request

from flask_firehose import Firehose

FILLER = "".join(f"<p class='filler'>Paragraph {n} of the story before the picture.</p>\n" for n in range(420))

PAGE = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LCP</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/lcp.css">
<script defer src="/static/lcp.js"></script>
</head><body>
<h1>A story</h1>
<div class="story">"""
    + FILLER
    + """</div>
<img class="hero" src="/static/hero.png" alt="The hero" width="1200" height="800">
</body></html>
"""
)

#: The hero sits at the top (the story is positioned below it), so it is
#: in the initial viewport and the largest element at every width.
CSS = (
    "body { margin: 0; font: 16px sans-serif; }\n"
    "h1 { font-size: 12px; margin: 0; }\n"
    ".hero { position: absolute; top: 20px; left: 0; width: 100vw; height: 80vh; object-fit: cover; }\n"
    ".story { position: absolute; top: 90vh; font-size: 10px; }\n"
)
JS = "window.__deferred = true;\n"


def write_static(folder: Path, hero: bytes) -> Path:
    """The files the page uses, with *hero* as its image."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lcp.css").write_text(CSS)
    (folder / "lcp.js").write_text(JS)
    (folder / "hero.png").write_bytes(hero)
    return folder


def create_app() -> Flask:
    """The app gunicorn serves (see the module's docstring)."""
    static = Path(os.environ["LCP_STATIC"])
    log = Path(os.environ["LCP_REQUEST_LOG"])
    think = float(os.environ.get("LCP_THINK", "0.3"))
    app = Flask(__name__, static_folder=str(static))
    # Hinted files must be cacheable, or Chromium downloads them twice.
    app.config.update(SECRET_KEY="e2e-lcp", SEND_FILE_MAX_AGE_DEFAULT=3600)
    Firehose(app)
    lock = threading.Lock()

    @app.after_request
    def record(response: Response) -> Response:
        entry = {
            "path": request.path,
            "method": request.method,
            "status": response.status_code,
            "remote": request.remote_addr,
        }
        with lock, log.open("a") as out:
            out.write(json.dumps(entry) + "\n")
        return response

    @app.get("/")
    def page() -> str:
        time.sleep(think)  # the 103 is out long before the page
        return PAGE

    return app
