"""Versioned static URLs: ``asset('css/main.css')`` -> ``/static/css/main.css?v=1a2b3c4d``.

The version is a hash of the file, so a new build is a new URL: browsers and
the push tracker both treat it as a new resource.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, url_for

__all__ = ["AssetVersions", "asset"]


class AssetVersions:
    """Registers :func:`asset` as a Jinja global on *app*."""

    def __init__(self, app: Flask) -> None:
        app.jinja_env.globals["asset"] = asset


@lru_cache(maxsize=256)
def _version(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def asset(filename: str) -> str:
    """The versioned URL of a file under the app's static folder."""
    folder = Path(current_app.static_folder or "static")
    path = folder / filename
    return url_for("static", filename=filename, v=_version(path, path.stat().st_mtime_ns))
