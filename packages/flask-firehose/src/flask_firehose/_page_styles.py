"""The images a page's own stylesheets name (a hero set as a CSS background).

A visitor's LCP report may only name an image the page references. An
``<img>`` is in the HTML; a background image is named by a stylesheet the
page links. :func:`stylesheet_images` reads those stylesheets where the app
itself would serve them from: a static route of the app or of a blueprint,
its file on disk (``safe_join`` of the route's folder), never over the
network and never a view's output. Only the first :data:`LIMIT` bytes of each
file are read, at most :data:`MAX_SHEETS` files a page, and what a file names
is remembered by its path, modification time and size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote, urljoin, urlsplit

from flask import Flask, Request
from werkzeug.security import safe_join

from ._memo import Memo
from ._page_scan_html import css_urls
from ._requests import is_static_endpoint

__all__ = ["LIMIT", "MAX_SHEETS", "StylesheetImages"]

#: Bytes of one stylesheet read.
LIMIT: Final = 64 * 1024
#: Stylesheets of one page read at most.
MAX_SHEETS: Final = 8
#: Images one stylesheet contributes at most.
MAX_IMAGES: Final = 32

# Extensions of what url() names that is no image: fonts, other stylesheets.
_NOT_IMAGES: Final = (".css", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".js")
_ORIGIN: Final = "https://page.invalid"


class StylesheetImages:
    """What an app's stylesheets name, remembered per file (bounded)."""

    def __init__(self) -> None:
        # file path -> ((mtime_ns, size), the urls its text names)
        self._files: Memo[str, tuple[tuple[int, int], tuple[str, ...]]] = Memo(256)

    def images(self, app: Flask, request: Request, stylesheets: Iterable[str]) -> tuple[str, ...]:
        """The same-origin image paths the *stylesheets* (link targets, as
        the page wrote them: absolute paths with the script root) name,
        resolved against each stylesheet's URL, in order, without repeats."""
        found: dict[str, None] = {}
        adapter = None
        for count, target in enumerate(stylesheets):
            if count == MAX_SHEETS:
                break
            if adapter is None:
                adapter = app.create_url_adapter(request)
                if adapter is None:
                    return ()
            path = self._file_of(app, adapter, request.script_root, target)
            if path is None:
                continue
            for url in self._urls_of(path):
                image = _resolved(target, url)
                if image is not None:
                    found.setdefault(image)
        return tuple(found)

    @staticmethod
    def _file_of(app: Flask, adapter: object, root: str, target: str) -> str | None:
        """The file a static route of *app* serves for *target*, or ``None``."""
        path = target.partition("?")[0]
        if root:
            if not path.startswith(root + "/"):
                return None
            path = path[len(root) :]
        try:
            endpoint, arguments = adapter.match(unquote(path), method="GET")  # type: ignore[attr-defined]
        except Exception:  # not found, a redirect, a converter's own error
            return None
        if not is_static_endpoint(str(endpoint)):
            return None
        owner = str(endpoint)[: -len("static")].rstrip(".")
        holder = app.blueprints.get(owner) if owner else app
        folder = getattr(holder, "static_folder", None)
        filename = arguments.get("filename")
        if not folder or not isinstance(filename, str):
            return None
        return safe_join(folder, filename)

    def _urls_of(self, path: str) -> tuple[str, ...]:
        try:
            stat = os.stat(path)
        except OSError:
            return ()
        version = (stat.st_mtime_ns, stat.st_size)
        known = self._files.get(path)
        if known is not None and known[0] == version:
            return known[1]
        try:
            with open(path, "rb") as file:
                text = file.read(LIMIT).decode("utf-8", "replace")
        except OSError:
            return ()
        urls = tuple(
            url
            for url in dict.fromkeys(css_urls(text, 256)[0])
            if url and not url.partition("?")[0].lower().endswith(_NOT_IMAGES)
        )[:MAX_IMAGES]
        self._files.put(path, (version, urls))
        return urls


def _resolved(stylesheet: str, url: str) -> str | None:
    """*url*, as a stylesheet at *stylesheet* names it, as a same-origin
    path (and query), or ``None`` (another origin, ``data:``, ...)."""
    if url.startswith("data:") or "\\" in url:
        return None
    parts = urlsplit(urljoin(_ORIGIN + stylesheet, url.strip()))
    if f"{parts.scheme}://{parts.netloc}" != _ORIGIN or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
