"""A Flask app to run under gunicorn behind Caddy (docs/deploying.rst)."""

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, render_template_string, url_for

from flask_firehose import Firehose, early_hints

STATIC = Path(__file__).parent / "static"

PAGE = """<!doctype html>
<title>Hello</title>
<link rel="stylesheet" href="{{ push(static('main.css')) }}">
<h1>Hello, early hints</h1>
"""


@cache
def _version(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


def static(filename: str) -> str:
    """The file's URL with ?v= a hash of its content: Caddy caches such URLs
    for a year, and a changed file gets a new URL when the app restarts."""
    return url_for("static", filename=filename, v=_version(filename))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "change me"
    app.config.from_prefixed_env()  # FLASK_FIREHOSE_X=... becomes FIREHOSE_X: before Firehose(app)
    Firehose(app)
    app.jinja_env.globals["static"] = static

    @app.get("/")
    @early_hints(lambda: static("main.css"))
    def index() -> str:
        return render_template_string(PAGE)

    return app
