"""The Flask-Firehose demo site: the reference for using the extension.

``create_app()`` builds a small magazine site with server-side sessions,
versioned static files cached for a year, and pushes from templates and views.
The account area uses a custom connector that remembers pushes per user
instead of per session. Every page's footer holds a panel that shows what
Firehose sent for it (``demo/witness.py``); ``/compare`` measures ``/report``
against its no-hints twin ``/report?hints=off``.

With ``DEMO_REDIS_URL`` (``make demo`` sets it when it finds or starts a
``redis-server``), sessions live in Redis (Flask-Session's Redis backend) and
so do learned hints (``FIREHOSE_REDIS_URL``), shared by every gunicorn worker;
without it, sessions live in a cachelib file store and each worker learns alone.

Configuration comes from ``FLASK_*`` environment variables
(``FLASK_DEMO_DATA_DIR``, ``FLASK_DEMO_REDIS_URL``, ``FLASK_DEMO_CDN_ORIGIN``,
``FLASK_DEMO_SLOW_SECONDS``, ``FLASK_FIREHOSE_EARLY_HINTS_HTTP1``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cachelib import FileSystemCache
from flask import Flask, session
from flask_session import Session
from redis import Redis

from flask_firehose import Firehose, SessionConnector

from .assets import AssetVersions
from .connectors import AccountConnector
from .witness import Witness

__all__ = ["create_app"]


def _signed_in() -> bool:
    return "user" in session


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the demo app; *config* overrides the defaults and the environment."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="demo-secret-change-me",
        DEMO_DATA_DIR=app.instance_path,
        DEMO_CDN_ORIGIN="",
        DEMO_SLOW_SECONDS=0.3,
        # Versioned URLs change with the content, so they may be cached for a
        # year; a preload of a no-cache file would be downloaded twice.
        SEND_FILE_MAX_AGE_DEFAULT=31_536_000,
        DEMO_REDIS_URL=None,
        SESSION_PERMANENT=False,
    )
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)
    data = Path(app.config["DEMO_DATA_DIR"])
    redis_url = app.config["DEMO_REDIS_URL"]
    if redis_url:
        app.config.setdefault("SESSION_TYPE", "redis")
        app.config.setdefault("SESSION_REDIS", Redis.from_url(redis_url))
        app.config.setdefault("FIREHOSE_REDIS_URL", redis_url)
    else:
        app.config.setdefault("SESSION_TYPE", "cachelib")
        app.config.setdefault("SESSION_CACHELIB", FileSystemCache(str(data / "sessions"), threshold=10_000))
    Session(app)

    accounts = AccountConnector(FileSystemCache(str(data / "pushed-by-user")), fallback=SessionConnector())
    # Every visitor has a session (it tracks what was pushed to anonymous ones
    # too), so a cookie says nothing of who is signed in: the demo says it.
    # Signed-in users' pages then only prefetch (FIREHOSE_SPECULATION_SIGNED_IN).
    app.config.setdefault("FIREHOSE_SIGNED_IN", _signed_in)
    firehose = Firehose(app, connector=accounts)
    # Every same-origin link is prefetched on hover (its HTML only: cheap);
    # the article list prerenders its articles (views.index). Whatever signs
    # out (the nav's "Sign out" link) or only accepts POST is never speculated.
    firehose.speculate("prefetch", href_matches="/*")

    AssetVersions(app)
    from .views import account, site

    app.register_blueprint(site)
    app.register_blueprint(account, url_prefix="/account")
    # Outside Flask, where the 103s and the final headers can be seen: the panel
    # ("What Firehose did") and the no-hints twin (?hints=off) of /compare.
    app.wsgi_app = Witness(app)  # type: ignore[method-assign]
    return app
