"""The page e2e/test_hint_fidelity.py serves under gunicorn: one view declaring
links of every kind with ``@early_hints``, the ones browsers take from a 103
(:data:`TAKEN`) and the ones they ignore there (:data:`IGNORED`), and a page
that uses each taken file, so a browser reports how it got it.

Started as ``e2e.fidelity_app:create_app()`` with, from the environment:

FIDELITY_STATIC       the folder served at /static (the test writes it)
FIDELITY_REQUEST_LOG  where each /static request is logged, one JSON line each:
                      path, status and the request's Referer and Fetch Metadata
FIDELITY_CONFIG       JSON of extra ``FIREHOSE_*`` settings (policies for the 103)
FIDELITY_THINK        seconds the view thinks before answering (default 0.3)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, request

from flask_firehose import Firehose, Link, early_hints

#: Links a browser acts on in a 103, each used by :data:`PAGE` as it was hinted.
TAKEN = (
    Link("/static/a.css", as_="style"),
    Link("/static/app.js", as_="script"),
    Link("/static/blocks.woff2", as_="font", crossorigin="", params=(("type", "font/woff2"),)),
    Link("/static/hero.png", as_="image", params=(("fetchpriority", "high"),)),
    Link("/static/mod.js", rel="modulepreload"),
    Link("/static/data.json", as_="fetch", crossorigin=""),
)

#: Files the page does not use, hinted in ways a 103 cannot carry.
IGNORED_PLAIN = (
    Link("/static/srcset.png", as_="image", params=(("imagesrcset", "/static/srcset.png 1x"),)),
    Link("/static/print.css", as_="style", params=(("media", "print"),)),
    Link("/static/rp.js", as_="script", params=(("referrerpolicy", "no-referrer"),)),
    Link("/static/clip.mp4", as_="video"),
    Link("/static/next.html", rel="prefetch"),
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hint fidelity</title>
<link rel="stylesheet" href="/static/a.css">
<script defer src="/static/app.js"></script>
<script type="module" src="/static/mod.js"></script>
</head><body>
<p class="blocks">Text set in the hinted font.</p>
<img src="/static/hero.png" fetchpriority="high" alt="" width="64" height="64">
<script>
window.__fetched = fetch("/static/data.json").then((r) => r.json()).then(() => true, () => false);
</script>
</body></html>
"""

#: Files the test writes into FIDELITY_STATIC (binary ones are copied from the demo).
FILES = {
    "a.css": '@font-face { font-family: Blocks; src: url(/static/blocks.woff2) format("woff2"); }\n'
    ".blocks { font-family: Blocks, sans-serif; }\n",
    "app.js": "window.__app = true;\n",
    "mod.js": "window.__module = true;\n",
    "data.json": '{"ok": true}\n',
    "print.css": "body { color: black; }\n",
    "rp.js": "window.__rp = true;\n",
    "checked.js": "window.__checked = true;\n",
    "next.html": "<!doctype html><title>next</title>\n",
    "clip.mp4": "",
}


def integrity_link(static: Path) -> Link:
    """A script preload with a real ``integrity`` (which a 103 cannot carry)."""
    digest = hashlib.sha256((static / "checked.js").read_bytes()).digest()
    return Link(
        "/static/checked.js", as_="script", params=(("integrity", "sha256-" + base64.b64encode(digest).decode()),)
    )


def create_app() -> Flask:
    """The app gunicorn serves (see the module's docstring for its environment)."""
    static = Path(os.environ["FIDELITY_STATIC"])
    log = Path(os.environ["FIDELITY_REQUEST_LOG"])
    think = float(os.environ.get("FIDELITY_THINK", "0.3"))
    app = Flask(__name__, static_folder=str(static))
    # Hinted files must be cacheable, or Chromium downloads them twice.
    app.config.update(SEND_FILE_MAX_AGE_DEFAULT=3600, FIREHOSE_LEARN=False)
    app.config.update(json.loads(os.environ.get("FIDELITY_CONFIG", "{}")))
    Firehose(app)
    lock = threading.Lock()

    @app.after_request
    def record(response: Response) -> Response:
        if request.path.startswith("/static/"):
            entry = {
                "path": request.path,
                "status": response.status_code,
                "referer": request.headers.get("Referer"),
                "dest": request.headers.get("Sec-Fetch-Dest"),
                "mode": request.headers.get("Sec-Fetch-Mode"),
            }
            with lock, log.open("a") as out:
                out.write(json.dumps(entry) + "\n")
        return response

    @app.get("/")
    @early_hints(*TAKEN, *IGNORED_PLAIN, integrity_link(static))
    def page() -> str:
        time.sleep(think)  # the 103 is out long before the page
        return PAGE

    return app
