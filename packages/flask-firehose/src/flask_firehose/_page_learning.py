"""What a page's own HTML teaches, and when it is read.

With nothing but ``Firehose(app)``, a page that never calls ``push()`` still
names what it needs: its head's stylesheets, scripts and preloads
(:func:`~flask_firehose._page_hints.scan_page` reads them as the hints a
browser would match). :class:`PageLearning` decides when a response's body
is read for that, and hands what it found to the
:class:`~flask_firehose._learning.Learner`, whose privacy rules apply
unchanged (public static assets of this app only, never from a response
one user's credentials shaped).

The body is read only while an endpoint is being learned: once
:data:`STEADY_AFTER` reads in a row named the same links, they are
remembered, fed to the learner on each later response without reading it,
and the body is read again only after :data:`RESCAN` seconds (a template
changed without a restart, a new build). Only the first
:data:`LIMIT` bytes of a successful, non-streamed ``text/html`` response
are read.

It also carries the LCP image learned from visitors
(:class:`~flask_firehose._lcp.LcpLearning`) to the request: the agreed image
for the 103, the links for the final header, the script put into the pages
still sampled, and the images a report may name (those the page itself
references, in its HTML or in its own stylesheets
(:mod:`~flask_firehose._page_styles`), public files of this app).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from flask import Flask, Request, Response

from ._failure import FailurePolicy
from ._learning import Learner
from ._links import Link
from ._memo import Memo
from ._page_hints import PageScan, scan_page
from ._page_styles import StylesheetImages
from ._requests import RequestFacts

if TYPE_CHECKING:
    from ._lcp import LcpLearning

__all__ = ["LIMIT", "RESCAN", "SAMPLES_PER_MINUTE", "STEADY_AFTER", "PageLearning", "PageLesson"]

#: Bytes of a page's body read for its hints.
LIMIT: Final = 32 * 1024
#: Reads in a row naming the same links after which a page is steady.
STEADY_AFTER: Final = 3
#: Seconds after which a steady page is read again.
RESCAN: Final = 600.0
#: Visits of one endpoint per minute (per process) that get the LCP script
#: at most: a busy page whose visitors never agree is not read on every visit.
SAMPLES_PER_MINUTE: Final = 30

_NONE: Final[tuple[Link, ...]] = ()
# The HTML's images a token lists before those the stylesheets name.
_FIRST_IMAGES: Final = 8


@dataclass(slots=True)
class _Page:
    """What one endpoint's pages named so far."""

    links: tuple[Link, ...]
    """The links every read since :attr:`since` named, in the first one's order."""
    same: int
    """Reads in a row that left :attr:`links` as they were."""
    since: float
    """When this run of reads began (``time.monotonic()``)."""


@dataclass(frozen=True, slots=True)
class PageLesson:
    """What one response taught, for the after-request hook."""

    links: tuple[Link, ...]
    """The links the page names, for the learner (not for the final header:
    the page's HTML already names them)."""
    final: tuple[Link, ...]
    """Links for the final header: the LCP image learned from visitors."""


_EMPTY_LESSON: Final = PageLesson(_NONE, _NONE)


class PageLearning:
    """One app's reading of its pages.

    :param learner: the app's learner (its key, its checks, its policy).
    :param read_html: ``FIREHOSE_LEARN_FROM_HTML``.
    :param lcp: the app's LCP learning, or ``None`` when it is off.
    :param clock: seconds, monotonic (a parameter for the tests).
    """

    def __init__(
        self,
        learner: Learner,
        failures: FailurePolicy,
        *,
        read_html: bool,
        lcp: LcpLearning | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.learner = learner
        self.failures = failures
        self.read_html = read_html
        self.lcp = lcp
        self._clock = clock
        self._pages: Memo[str, _Page] = Memo(1024)
        self._styles = StylesheetImages()
        # key -> (the minute, visits sampled in it)
        self._sampled: Memo[str, tuple[int, int]] = Memo(1024)

    def early(self, app: Flask, request: Request) -> list[Link]:
        """The 103's share: the LCP image every viewport agreed on, checked
        as a learned hint is."""
        lcp = self.lcp
        if lcp is None:
            return []
        key = self.learner.key(app, request)
        if key is None:
            return []
        found = self.failures.call("LCP hints", _NONE, lcp.hints, key)
        return self.learner.checked(app, request, found) if found else []

    def after_view(
        self, app: Flask, request: Request, response: Response, facts: RequestFacts, private: bool
    ) -> PageLesson:
        """Read *response* if its endpoint is still being learned (or its LCP
        sampled), put the LCP script into it if sampled, and say what it
        taught. Nothing is read from a response that may not teach
        (:meth:`Learner.may_learn_from`)."""
        learner = self.learner
        if not learner.may_learn_from(response, private, facts):
            return _EMPTY_LESSON
        key = learner.key(app, request)
        if key is None:
            return _EMPTY_LESSON
        lcp = self.lcp
        now = self._clock()
        sampling = (
            lcp is not None
            and self.failures.call("LCP sampling", False, lcp.wants_sample, key)
            and self._may_sample(key, now)
        )
        page = self._pages.get(key) if self.read_html else None
        steady = page is not None and page.same >= STEADY_AFTER and now - page.since < RESCAN
        links = page.links if page is not None and steady else _NONE
        if (self.read_html and not steady) or sampling:
            scan = _scan(response, request)
            if scan is not None:
                if self.read_html:
                    links = scan.links
                    self._remember(key, scan.links, page, now)
                if lcp is not None:
                    self._images(app, request, response, key, scan, sampling)
        final = _NONE
        if lcp is not None:
            found = self.failures.call("LCP links", _NONE, lcp.final_links, key)
            final = tuple(self._checked_images(app, request, found)) if found else _NONE
        return PageLesson(links, final) if links or final else _EMPTY_LESSON

    def _may_sample(self, key: str, now: float) -> bool:
        """Whether this visit of *key* may be sampled: at most
        :data:`SAMPLES_PER_MINUTE` a minute (a visit counts when asked)."""
        minute = int(now // 60)
        found = self._sampled.get(key)
        count = found[1] if found is not None and found[0] == minute else 0
        if count >= SAMPLES_PER_MINUTE:
            return False
        self._sampled.put(key, (minute, count + 1))
        return True

    def _remember(self, key: str, found: tuple[Link, ...], page: _Page | None, now: float) -> None:
        """Count one read of *key*'s page: steady once the links every read
        named stay the same :data:`STEADY_AFTER` reads in a row; a page read
        again after :data:`RESCAN` starts over from what it names now."""
        if page is None or now - page.since >= RESCAN:
            self._pages.put(key, _Page(found, 1, now))
            return
        kept = frozenset(found)
        common = tuple(link for link in page.links if link in kept)
        if common == page.links:
            page.same += 1
        else:
            page.links = common
            page.same = 1

    def _images(
        self, app: Flask, request: Request, response: Response, key: str, scan: PageScan, sampling: bool
    ) -> None:
        """Tell the LCP learning which images the page references (public
        files of this app only), and sample this visit if it wants one."""
        lcp = self.lcp
        assert lcp is not None
        # A hero is an <img> near the top, or a background the page's own
        # stylesheets set: the first few of the HTML's, then the stylesheets'.
        styles = self._styles.images(app, request, [link.target for link in scan.links if link.as_ == "style"])
        named = [*scan.images[:_FIRST_IMAGES], *styles, *scan.images[_FIRST_IMAGES:]]
        forms = [_image_hint(url) for url in dict.fromkeys(named)]
        images = [link.target for link in self.learner.checked(app, request, [f for f in forms if f is not None])]
        self.failures.call("LCP page images", None, lcp.page_images, key, images)
        if sampling and images:
            self.failures.call("LCP script", False, lcp.inject, response, key, images)

    def _checked_images(self, app: Flask, request: Request, links: tuple[Link, ...]) -> list[Link]:
        """The final header's LCP links whose image is a public file of this
        app (a per-viewport link carries ``media``, which learned hints never
        do: its image is checked in the form of the 103's)."""
        kept = []
        for link in links:
            form = _image_hint(link.target)
            if form is not None and self.learner.checked(app, request, [form]):
                kept.append(link)
        return kept


@functools.lru_cache(maxsize=1024)
def _image_hint(target: str) -> Link | None:
    """The hint an LCP image gets, or ``None`` for a target no link can hold."""
    try:
        return Link(target, rel="preload", as_="image", params=(("fetchpriority", "high"),))
    except ValueError:
        return None


def _scan(response: Response, request: Request) -> PageScan | None:
    """The scan of *response*'s first :data:`LIMIT` bytes, or ``None`` for a
    body that is streamed or a file (never read: reading would consume it)."""
    if response.is_streamed or response.direct_passthrough:
        return None
    body = response.get_data()
    query = request.query_string.decode("latin-1")
    path = request.script_root + request.path + (f"?{query}" if query else "")
    return scan_page(body[:LIMIT], path, limit=LIMIT, charset=response.mimetype_params.get("charset"))
