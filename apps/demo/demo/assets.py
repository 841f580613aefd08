"""Versioned static URLs: ``asset('css/main.css')`` -> ``/static/css/main.css?v=1a2b3c4d``.

The version is a hash of the file, so a new build is a new URL: browsers and
the push tracker both treat it as a new resource.
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, has_request_context, request, url_for

__all__ = ["AssetVersions", "asset"]


class AssetVersions:
    """Registers :func:`asset` as a Jinja global on *app*."""

    def __init__(self, app: Flask) -> None:
        app.jinja_env.globals["asset"] = asset


@lru_cache(maxsize=256)
def _version(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


#: Seconds a file's version is trusted before its mtime is looked at again.
RECHECK = 1.0
# (static folder, filename, script root) -> (when the mtime was looked at, the URL)
_checked: dict[tuple[str, str, str], tuple[float, str]] = {}


def asset(filename: str) -> str:
    """The versioned URL of a file under the app's static folder. Pages call
    it on every view (and declared hints on every navigation): the file's
    mtime, and the URL, are worked out once a second at most (per mount
    point: the URL starts with the request's script root)."""
    folder = current_app.static_folder or "static"
    if not has_request_context():  # an absolute URL (SERVER_NAME): never kept
        path = Path(folder) / filename
        return url_for("static", filename=filename, v=_version(path, path.stat().st_mtime_ns))
    # Kept per mount point. (A url_defaults function adding per-request values
    # to every URL would need them in the key; the demo has none.)
    key = (folder, filename, request.script_root)
    now = time.monotonic()
    known = _checked.get(key)
    if known is None or now - known[0] > RECHECK:
        path = Path(folder) / filename
        version = _version(path, path.stat().st_mtime_ns)
        known = (now, url_for("static", filename=filename, v=version))
        if len(_checked) > 1024:
            _checked.clear()
        _checked[key] = known
    return known[1]
