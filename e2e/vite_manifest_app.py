"""The app e2e/test_vite_manifest.py serves under gunicorn: a real ``vite build``
of e2e/vite-app, its hints declared from the manifest with
``AssetManifest.vite(...).entry()`` and its tags written with ``tags()``.

Started as ``e2e.vite_manifest_app:create_app()`` with, from the environment:

VITE_DIST         the build's output folder, served at /static/dist/
VITE_REQUEST_LOG  where each /static request is logged, one JSON line each:
                  path, status, and the request's Sec-Fetch-Dest and -Mode
VITE_THINK        seconds the view thinks before answering (default 0.3)
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, render_template_string, request

from flask_firehose import AssetManifest, Firehose

#: The entries the page uses: a script entry and a CSS entry.
ENTRIES = ("src/main.js", "src/theme.css")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vite manifest</title>
{{ assets.tags(*entries) }}
</head><body>
<p class="main">styled by the entry's CSS</p>
<p class="shared">styled by the shared chunk's CSS</p>
</body></html>
"""


def create_app() -> Flask:
    """The app gunicorn serves (see the module's docstring for its environment)."""
    dist = Path(os.environ["VITE_DIST"])
    log = Path(os.environ["VITE_REQUEST_LOG"])
    think = float(os.environ.get("VITE_THINK", "0.3"))
    app = Flask(__name__, static_folder=str(dist), static_url_path="/static/dist")
    # Hinted files must be cacheable, or Chromium downloads them twice.
    app.config.update(SEND_FILE_MAX_AGE_DEFAULT=3600, FIREHOSE_LEARN=False)
    firehose = Firehose(app)
    assets = AssetManifest.vite(dist / ".vite" / "manifest.json", base="/static/dist/")
    firehose.declare_hints(assets.entry(*ENTRIES))
    lock = threading.Lock()

    @app.after_request
    def record(response: Response) -> Response:
        if request.path.startswith("/static/"):
            entry = {
                "path": request.path,
                "status": response.status_code,
                "dest": request.headers.get("Sec-Fetch-Dest"),
                "mode": request.headers.get("Sec-Fetch-Mode"),
            }
            with lock, log.open("a") as out:
                out.write(json.dumps(entry) + "\n")
        return response

    @app.get("/")
    def page() -> str:
        time.sleep(think)  # the 103 is out long before the page
        return render_template_string(PAGE, assets=assets, entries=ENTRIES)

    return app
