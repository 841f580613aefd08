"""``LcpLearning``: what the request hooks ask of the LCP learner.

One per app. It registers the script and report routes, says whether a key
still needs samples, puts the script into a page that does, and turns what the
samples agree on into links: the 103's (one image every viewport class agreed
on) and the final header's (that one, or one link per class run with
``media``). The agreement of a key is kept a few seconds (bounded), so the
calls made on every navigation cost a dict lookup; every store call goes
through the app's failure policy, and a store that fails means no sampling
and no hints for those seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final

from flask import Flask, Response, request

from .._failure import FailurePolicy
from .._links import Link
from .._memo import Memo
from .._paths import is_plain_path
from ..errors import InvalidLinkError
from . import inject as injecting
from . import tokens
from .agreement import Agreement, agree, media_queries, ranges
from .limits import ClientLimiter, KeyLimiter
from .reports import Reports, token_context
from .store import LcpStore

__all__ = ["LcpLearning"]

logger = logging.getLogger("flask_firehose")

#: Keys whose agreement is kept at once.
_MEMO_SIZE: Final = 1024
_SCRIPT_HEADERS: Final = {
    "Cache-Control": "public, max-age=86400",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class _Known:
    """A key's agreement (``None``: the store failed) and its links, at a time."""

    at: float
    agreement: Agreement | None
    hints: tuple[Link, ...]
    final: tuple[Link, ...]


def _image_link(url: str, media: str | None = None) -> Link | None:
    """The preload of an agreed image; ``None`` for a value that is no
    same-origin path (a store is not trusted to hand back one)."""
    if not url.startswith("/") or url.startswith("//") or len(url) > tokens.MAX_IMAGE_LENGTH:
        return None
    params: tuple[tuple[str, str | None], ...] = (("fetchpriority", "high"),)
    if media is not None:
        params += (("media", media),)
    try:
        return Link(url, rel="preload", as_="image", params=params)
    except InvalidLinkError:
        return None


def _check(path: str, breakpoints: tuple[int, ...], samples: int) -> None:
    if not isinstance(path, str) or not is_plain_path(path):
        raise ValueError(f"the LCP path must be a plain absolute path like '/_firehose/lcp', not {path!r}")
    if (
        not isinstance(breakpoints, tuple)
        or not breakpoints
        or any(type(limit) is not int or limit < 1 for limit in breakpoints)
        or list(breakpoints) != sorted(set(breakpoints))
    ):
        raise ValueError(f"the LCP breakpoints must be ascending positive ints, not {breakpoints!r}")
    if type(samples) is not int or samples < 1:
        raise ValueError(f"the LCP samples must be a positive int, not {samples!r}")


class LcpLearning:
    """The LCP image learned from real visitors, for one app.

    :param store: where the samples are kept.
    :param failures: the app's failure policy (every store call).
    :param secret: returns the app's ``SECRET_KEY`` (read when needed: apps
        set it after ``init_app``); without one, nothing is injected.
    :param path: the report URL; the script is served at ``path + ".js"``.
    :param breakpoints: the viewport classes' upper widths.
    :param samples: the distinct clients a class needs to agree.
    :param memo_seconds: how long a key's agreement is kept.
    :param report_interval: seconds between two accepted reports of a client.
    :param reports_per_minute: accepted reports per key and minute.
    """

    def __init__(
        self,
        *,
        store: LcpStore,
        failures: FailurePolicy,
        secret: Callable[[], str | bytes | None],
        path: str = "/_firehose/lcp",
        breakpoints: tuple[int, ...] = (480, 600, 782),
        samples: int = 3,
        memo_seconds: float = 5.0,
        report_interval: float = 10.0,
        reports_per_minute: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check(path, breakpoints, samples)
        self.store = store
        self.failures = failures
        self.path = path
        self.breakpoints = breakpoints
        self.samples = samples
        self.memo_seconds = memo_seconds
        self._secret = secret
        self._clock = clock
        self._memo: Memo[str, _Known] = Memo(_MEMO_SIZE)
        self._warned = False
        self._script: bytes | None = None
        self._lock = threading.Lock()
        self.reports = Reports(
            secret=secret,
            breakpoints=breakpoints,
            done=self._done,
            record=self._record,
            clients=ClientLimiter(report_interval, clock=clock),
            keys=KeyLimiter(reports_per_minute, clock=clock),
        )

    # The routes.

    def register(self, app: Flask) -> None:
        """Add the script route (GET ``path.js``) and the report route
        (POST ``path``) to *app*."""
        app.add_url_rule(f"{self.path}.js", "firehose_lcp_script", self._serve_script, methods=["GET"])
        app.add_url_rule(self.path, "firehose_lcp_report", self._serve_report, methods=["POST"])

    def script(self) -> bytes:
        """The browser script (package data, read once)."""
        if self._script is None:
            with self._lock:
                if self._script is None:
                    self._script = resources.files(__package__).joinpath("script.js").read_bytes()
        return self._script

    def _serve_script(self) -> Response:
        response = Response(self.script(), mimetype="text/javascript")
        response.headers.update(_SCRIPT_HEADERS)
        return response

    def _serve_report(self) -> Response:
        return self.reports.respond(request)

    # What a key's samples say, kept a few seconds.

    def _known(self, key: str) -> _Known:
        now = self._clock()
        known = self._memo.get(key)
        if known is not None and now - known.at < self.memo_seconds:
            return known
        found = self.failures.call("LCP store samples()", None, self.store.samples, key)
        agreement = None if found is None else agree(found, len(self.breakpoints) + 1, self.samples)
        known = self._links(now, agreement)
        self._memo.put(key, known)
        return known

    def _links(self, now: float, agreement: Agreement | None) -> _Known:
        if agreement is None:
            return _Known(now, None, (), ())
        one = agreement.one
        if one is not None:
            link = _image_link(one)
            hints = (link,) if link is not None else ()
            return _Known(now, agreement, hints, hints)
        by_class = agreement.by_class
        final: list[Link] = []
        if by_class is not None:
            for url, first, last in ranges(by_class):
                link = _image_link(url, media_queries(self.breakpoints, first, last))
                if link is not None:
                    final.append(link)
        return _Known(now, agreement, (), tuple(final))

    def _done(self, key: str) -> frozenset[int]:
        agreement = self._known(key).agreement
        # A store that fails takes no report (every class counts as done).
        return agreement.done if agreement is not None else frozenset(range(len(self.breakpoints) + 1))

    def _record(self, key: str, report_id: str, client: str, viewport: int, url: str) -> bool | None:
        kept: bool | None = self.failures.call(
            "LCP store record()", None, self.store.record, key, report_id, client, viewport, url
        )
        if kept:
            self._memo.put(key, self._links(-float("inf"), None))  # read again next time
        return kept

    # What the request hooks call.

    def wants_sample(self, key: str) -> bool:
        """Whether some viewport class of *key* is not agreed yet."""
        agreement = self._known(key).agreement
        return agreement is not None and not agreement.complete

    def inject(self, response: Response, key: str, images: Sequence[str]) -> bool:
        """Put the script, with a fresh token naming *images* (the page's
        same-origin image paths), into *response*; whether it was."""
        secret = self._secret()
        if not secret:
            if not self._warned:
                self._warned = True
                logger.warning("the LCP image is not learned: the app has no SECRET_KEY to sign its reports with")
            return False
        agreement = self._known(key).agreement
        if agreement is None or agreement.complete:
            return False
        token = tokens.issue(secret, token_context(request), key, images, self.breakpoints, agreement.done)
        reason = injecting.inject(response, f"{request.script_root}{self.path}.js", token)
        if reason is not None and "Content-Security-Policy" in reason:
            self.failures.warn_once_in_a_while(
                ("lcp script", request.endpoint), "no LCP script on %s: %s", request.endpoint, reason
            )
        return reason is None

    def hints(self, key: str) -> tuple[Link, ...]:
        """For the 103: the image every class agreed on, else nothing."""
        return self._known(key).hints

    def final_links(self, key: str) -> tuple[Link, ...]:
        """For the final header: the 103's image, or one per class run with ``media``."""
        return self._known(key).final

    def page_images(self, key: str, images: Sequence[str]) -> None:
        """A fresh scan of the page found *images*: when an agreed image is
        no longer among them, the key's samples are forgotten."""
        agreement = self._known(key).agreement
        if agreement is None or not agreement.urls or agreement.urls <= set(images):
            return
        self.failures.call("LCP store forget()", None, self.store.forget, key)
        self._memo.put(key, self._links(-float("inf"), None))
