"""Development warnings about hints that will not work as meant.

On in debug mode (or with ``FIREHOSE_LINT = True``). Each problem is logged
once per URL on the ``flask_firehose.lint`` logger:

* a hinted static file served without a cacheable ``Cache-Control`` (Flask's
  default for static files is ``no-cache``, and Chromium then downloads a
  hinted file twice: once for the hint, once for the page);
* a ``preload`` without ``as`` (browsers ignore it), or with one they do not
  accept, in a ``Link`` header the view wrote itself;
* a font preload without ``crossorigin`` (downloaded twice).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable, Iterable

from werkzeug.wrappers import Response

from . import _grammar as grammar
from ._links import DESTINATIONS, Link
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
            self._check(link.target, link.rels, link.as_, link.crossorigin is not None)

    def view_links(self, response: Response) -> None:
        """Check the ``Link`` fields the view wrote itself."""
        for value in response.headers.getlist("Link"):
            try:
                parsed = parse_link_header(value)
            except MalformedLinkHeader:
                self._warn("malformed", value, f"the view's Link header is malformed: {value!r}")
                continue
            for link in parsed:
                self._check_parsed(link)

    def _check_parsed(self, link: ParsedLink) -> None:
        as_ = link.get("as")
        self._check(link.target, link.rels, as_.lower() if as_ else None, link.has("crossorigin"))

    def _check(self, url: str, rels: frozenset[str], as_: str | None, crossorigin: bool) -> None:
        if "preload" not in rels:
            return
        if as_ is None:
            self._warn("as", url, f"preload of {url!r} has no 'as': browsers ignore it (pass as_=...)")
        elif as_ not in DESTINATIONS:
            self._warn("as", url, f"preload of {url!r} has as={as_!r}, which browsers ignore")
        elif as_ == "font" and not crossorigin:
            self._warn("crossorigin", url, f"font preload of {url!r} lacks crossorigin: it downloads twice")

    def static_response(self, path: str, response: Response) -> None:
        """Check the caching of a file served at *path* (path and query)."""
        if path not in self._hinted:
            return
        policy = response.headers.get("Cache-Control", "")
        max_age = grammar.CACHE_MAX_AGE.search(policy)
        lowered = policy.lower()
        if "no-cache" in lowered or "no-store" in lowered or not max_age or int(max_age.group(1)) == 0:
            self._warn(
                "cache",
                path,
                f"hinted file {path!r} is served with Cache-Control {policy!r}: the browser cannot reuse the "
                "hinted copy and downloads it twice; set SEND_FILE_MAX_AGE_DEFAULT (with versioned URLs)",
            )
