"""Development warnings about hints that will not work as meant.

On in debug mode (or with ``FIREHOSE_LINT = True``). Each problem is logged
once per URL on the ``flask_firehose.lint`` logger:

* a hinted static file served without a cacheable ``Cache-Control`` (Flask's
  default for static files is ``no-cache``, and Chromium then downloads a
  hinted file twice: once for the hint, once for the page); read as
  ``firehose probe`` reads it (:func:`~flask_firehose._caching.browser_reuses`);
* a ``preload`` without ``as`` (browsers ignore it), or with one they do not
  accept, in a ``Link`` header the view wrote itself;
* a font preload without ``crossorigin`` (downloaded twice).

What browsers do with a link is decided in :mod:`flask_firehose._browsers`
(:func:`~flask_firehose._browsers.preload_problem`), for the probe too.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable, Iterable

from werkzeug.wrappers import Response

from ._browsers import preload_problem
from ._caching import browser_reuses
from ._links import Link
from ._parsing import MalformedLinkHeader, ParsedLink, parse_link_header

__all__ = ["Linter"]

logger = logging.getLogger("flask_firehose.lint")


class Linter:
    """Remembers what was hinted and what was already reported (both bounded)."""

    def __init__(self, memory: int = 1024) -> None:
        self.memory = memory
        self._hinted: OrderedDict[Hashable, None] = OrderedDict()
        self._reported: OrderedDict[Hashable, None] = OrderedDict()

    def _remember(self, store: OrderedDict[Hashable, None], key: Hashable) -> None:
        store[key] = None
        store.move_to_end(key)
        while len(store) > self.memory:
            store.popitem(last=False)

    def _warn(self, problem: str, url: str, message: str) -> None:
        if (problem, url) not in self._reported:
            self._remember(self._reported, (problem, url))
            logger.warning(message)

    def hinted(self, links: Iterable[Link]) -> None:
        """Note the links that went out, and check them."""
        for link in links:
            self._remember(self._hinted, link.target)
            self._check(link)

    def view_links(self, response: Response) -> None:
        """Check the ``Link`` fields the view wrote itself."""
        for value in response.headers.getlist("Link"):
            try:
                parsed = parse_link_header(value)
            except MalformedLinkHeader:
                self._warn("malformed", value, f"the view's Link header is malformed: {value!r}")
                continue
            for link in parsed:
                self._check(link)

    def _check(self, link: Link | ParsedLink) -> None:
        problem = preload_problem(link)
        if problem is None:
            return
        url = link.target
        if problem.kind == "no-as":
            self._warn("as", url, f"preload of {url!r} has no 'as': browsers ignore it (pass as_=...)")
        elif problem.kind == "unknown-as":
            as_ = (problem.as_ or "").lower()
            self._warn("as", url, f"preload of {url!r} has as={as_!r}, which browsers ignore")
        else:
            self._warn("crossorigin", url, f"font preload of {url!r} lacks crossorigin: it downloads twice")

    def static_response(self, path: str, response: Response) -> None:
        """Check the caching of a file served at *path* (path and query):
        every ``Cache-Control`` field of *response*, read as one."""
        if path not in self._hinted:
            return
        policy = ", ".join(response.headers.getlist("Cache-Control"))
        if not browser_reuses(policy):
            self._warn(
                "cache",
                path,
                f"hinted file {path!r} is served with Cache-Control {policy!r}: the browser cannot reuse the "
                "hinted copy and downloads it twice; set SEND_FILE_MAX_AGE_DEFAULT (with versioned URLs)",
            )
