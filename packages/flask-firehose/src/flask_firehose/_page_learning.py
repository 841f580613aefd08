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

from ._caching import storable_by_others
from ._failure import FailurePolicy
from ._learning import Learner
from ._links import Link
from ._memo import Memo
from ._page_hints import PageScan, scan_page
from ._page_styles import StylesheetImages
from ._requests import RequestFacts

if TYPE_CHECKING:
    from ._lcp import LcpLearning

__all__ = [
    "LIMIT",
    "RESCAN",
    "SAMPLES_PER_CLIENT",
    "SAMPLES_PER_MINUTE",
    "STEADY_AFTER",
    "PageLearning",
    "PageLesson",
]

#: Bytes of a page's body read for its hints.
LIMIT: Final = 32 * 1024
#: Reads in a row naming the same links after which a page is steady.
STEADY_AFTER: Final = 3
#: Seconds after which a steady page is read again.
RESCAN: Final = 600.0
#: Visits of one endpoint per minute (per process) that get the LCP script
#: at most: a busy page whose visitors never agree is not read on every visit.
SAMPLES_PER_MINUTE: Final = 30
#: Of those, visits from one client address at most: one client cannot take
#: a page's samples from the others.
SAMPLES_PER_CLIENT: Final = 2

_NONE: Final[tuple[Link, ...]] = ()
# The HTML's images a token lists before those the stylesheets name.
_FIRST_IMAGES: Final = 8


@dataclass(slots=True)
class _Page:
    """What one endpoint's pages named so far (since :attr:`since`)."""

    links: tuple[Link, ...]
    """The links every read named, in the first one's order."""
    images: tuple[str, ...]
    """The public images every read referenced, in the first one's order."""
    same: int
    """Reads in a row that left :attr:`links` as they were."""
    since: float
    """When this run of reads began (``time.monotonic()``)."""
    url: str
    """The first read's URL (path and query)."""
    plain: bool
    """Every read was of a URL without arguments or query: the endpoint's
    one URL, whose links are the endpoint's."""
    varied: bool
    """The reads came from two URLs or more: what they share belongs to the
    endpoint, not to one URL (``/share/<token>``)."""

    @property
    def common(self) -> bool:
        """Whether what every read named belongs to the endpoint: its one
        URL, or two URLs or more agree."""
        return self.plain or self.varied


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
    :param behind_cdn: ``FIREHOSE_BEHIND_CDN``: no page gets the LCP script
        (a CDN may keep any of them).
    :param clock: seconds, monotonic (a parameter for the tests).
    """

    def __init__(
        self,
        learner: Learner,
        failures: FailurePolicy,
        *,
        read_html: bool,
        lcp: LcpLearning | None,
        behind_cdn: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.learner = learner
        self.behind_cdn = behind_cdn
        self.failures = failures
        self.read_html = read_html
        self.lcp = lcp
        self._clock = clock
        self._pages: Memo[str, _Page] = Memo(1024)
        self._styles = StylesheetImages()
        # key -> (the minute, visits sampled in it); (key, client) -> the same
        self._sampled: Memo[str, tuple[int, int]] = Memo(1024)
        self._by_client: Memo[tuple[str, str], tuple[int, int]] = Memo(4096)

    def early(self, app: Flask, request: Request) -> list[Link]:
        """The 103's share: the LCP image every viewport agreed on, checked
        as a learned hint is, and only while this process knows the image is
        one the endpoint's pages share (:meth:`_shared`)."""
        lcp = self.lcp
        if lcp is None:
            return []
        key = self.learner.key(app, request)
        if key is None:
            return []
        found = self.failures.call("LCP hints", _NONE, lcp.hints, key)
        return self._shared(app, request, key, found) if found else []

    def after_view(
        self,
        app: Flask,
        request: Request,
        response: Response,
        facts: RequestFacts,
        private: bool,
        teaches: bool | None = None,
    ) -> PageLesson:
        """Read *response* if its endpoint is still being learned (or its LCP
        sampled), put the LCP script into it if sampled, and say what it
        taught. Nothing is read from a response that may not teach
        (:meth:`Learner.may_learn_from`; *teaches*: its answer, if already
        asked)."""
        learner = self.learner
        if teaches is None:
            teaches = learner.may_learn_from(response, private, facts)
        if not teaches:
            return _EMPTY_LESSON
        key = learner.key(app, request)
        if key is None:
            return _EMPTY_LESSON
        lcp = self.lcp
        now = self._clock()
        page = self._pages.get(key)
        if page is not None and now - page.since >= RESCAN:
            page = None  # read again, from what the page names now
        steady = page is not None and page.same >= STEADY_AFTER and page.common
        sampling = (
            lcp is not None
            # A page that references no image its pages share has no LCP image to learn.
            and not (page is not None and steady and not page.images)
            # Nor a page behind a CDN, which may keep any of them.
            and not self.behind_cdn
            and self.failures.call("LCP sampling", False, lcp.wants_sample, key)
            and self._may_sample(key, request.remote_addr or "", now, response)
        )
        # Replayed unread only once they are the endpoint's (not one URL's).
        links = page.links if self.read_html and page is not None and steady else _NONE
        query = url = ""
        if not steady or sampling:  # a steady page's URL is not needed
            query = request.query_string.decode("latin-1")
            url = request.path + (f"?{query}" if query else "")
        # The one URL read so far, read enough: reading it again tells nothing.
        again = not steady and page is not None and not page.common and page.same >= STEADY_AFTER and url == page.url
        if (not steady and not again) or sampling:
            scan = _scan(response, request.script_root + url)
            if scan is not None:
                images = self._images_of(app, request, scan) if lcp is not None else ()
                plain = not request.view_args and not query
                page = self._remember(key, url, plain, scan.links, images, page, now)
                if self.read_html:
                    links = scan.links
                if lcp is not None:
                    if page.common:
                        self.failures.call("LCP page images", None, lcp.page_images, key, page.images)
                    if sampling and images:
                        self.failures.call("LCP script", False, lcp.inject, response, key, images)
        final = _NONE
        if lcp is not None:
            found = self.failures.call("LCP links", _NONE, lcp.final_links, key)
            if found:
                final = tuple(link.as_hint() for link in self._shared(app, request, key, found))
        return PageLesson(links, final) if links or final else _EMPTY_LESSON

    def _may_sample(self, key: str, client: str, now: float, response: Response) -> bool:
        """Whether this visit of *key* by *client* (its address) may be
        sampled: at most :data:`SAMPLES_PER_MINUTE` a minute, of which
        :data:`SAMPLES_PER_CLIENT` from one address, and never a *response*
        a shared cache may keep (one single-use token would reach every
        visitor it serves). A visit counts when it is sampled."""
        minute = int(now // 60)
        found = self._sampled.get(key)
        count = found[1] if found is not None and found[0] == minute else 0
        if count >= SAMPLES_PER_MINUTE:
            return False
        mine = self._by_client.get((key, client))
        own = mine[1] if mine is not None and mine[0] == minute else 0
        if own >= SAMPLES_PER_CLIENT or storable_by_others(response):
            return False
        self._sampled.put(key, (minute, count + 1))
        self._by_client.put((key, client), (minute, own + 1))
        return True

    def _remember(
        self,
        key: str,
        url: str,
        plain: bool,
        links: tuple[Link, ...],
        images: tuple[str, ...],
        page: _Page | None,
        now: float,
    ) -> _Page:
        """Count one read of *key*'s page at *url* (*plain*: a URL without
        arguments or query): steady once the links every read named stay the
        same :data:`STEADY_AFTER` reads in a row, and they belong to the
        endpoint (:attr:`_Page.common`)."""
        if page is None:
            page = _Page(links, images, 1, now, url, plain, False)
            self._pages.put(key, page)
            return page
        kept = frozenset(links)
        common = tuple(link for link in page.links if link in kept)
        if common == page.links:
            page.same += 1
        else:
            page.links = common
            page.same = 1
        if page.images:
            shown = frozenset(images)
            page.images = tuple(image for image in page.images if image in shown)
        page.plain = page.plain and plain
        if not page.varied and url != page.url:
            page.varied = True
            page.same = 1  # steady counts from the first read that two URLs share
        return page

    def _images_of(self, app: Flask, request: Request, scan: PageScan) -> tuple[str, ...]:
        """The images the page references, public files of this app only: a
        hero is an ``<img>`` near the top, or a background the page's own
        stylesheets set, so the first few of the HTML's, then the
        stylesheets', then the rest."""
        styles = self._styles.images(app, request, [link.target for link in scan.links if link.as_ == "style"])
        named = [*scan.images[:_FIRST_IMAGES], *styles, *scan.images[_FIRST_IMAGES:]]
        forms = [form for url in dict.fromkeys(named) if (form := _image_hint(url)) is not None]
        return tuple(link.target for link in self.learner.checked(app, request, forms))

    def _shared(self, app: Flask, request: Request, key: str, links: tuple[Link, ...]) -> list[Link]:
        """Those of the LCP *links* this process may hint on *request*: the
        image is a public file of this app (a per-viewport link carries
        ``media``, which learned hints never do: its image is checked in the
        form of the 103's), and one the endpoint's pages share. A report names
        an image of the one URL it came from; learning is per endpoint, so an
        image is hinted only where this process read the endpoint's pages and
        found it on its one URL, or on two URLs or more (a ``/product/<id>``
        whose hero differs by product gets none)."""
        page = self._pages.get(key)
        if page is None or not page.common:
            return []
        shared = frozenset(page.images)
        kept = []
        for link in links:
            form = _image_hint(link.target)
            if form is not None and link.target in shared and self.learner.checked(app, request, [form]):
                kept.append(link)
        return kept


@functools.lru_cache(maxsize=1024)
def _image_hint(target: str) -> Link | None:
    """The hint an LCP image gets, or ``None`` for a target no link can hold."""
    try:
        return Link(target, rel="preload", as_="image", params=(("fetchpriority", "high"),))
    except ValueError:
        return None


def _scan(response: Response, page_path: str) -> PageScan | None:
    """The scan of *response*'s first :data:`LIMIT` bytes, served at
    *page_path* (script root, path and query), or ``None`` for a body that is
    streamed or a file (never read: reading would consume it)."""
    if response.is_streamed or response.direct_passthrough:
        return None
    body = response.get_data()
    return scan_page(body[:LIMIT], page_path, limit=LIMIT, charset=response.mimetype_params.get("charset"))
