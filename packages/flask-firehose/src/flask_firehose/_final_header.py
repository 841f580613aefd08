"""The final ``Link`` header: the channel every server and proxy understands.

One method, :meth:`FinalHeader.write`, runs after the view: it decides whether the
response may carry links, asks the tracker which pushable links the client
already had and which new ones it can remember (GET only), fits the rest to
the budget, appends one ``Link`` field next to whatever the view set, and
records what was really pushed. Tracker calls go through the failure policy:
if one fails, the links go out as they would with tracking off.

A response other clients may be handed is **public**: with
``FIREHOSE_BEHIND_CDN`` (a CDN may replay its ``Link`` header as a 103 to
every later visitor of the URL), or when a shared cache is told to keep it
(:func:`~flask_firehose._caching.kept_by`). Its header then holds only
the links that pass the public-asset rules
(:func:`~flask_firehose._learning.is_public_link`), as they were made (the
push cap aside, which behind a CDN does not apply: nothing there pushes): the
tracker is not asked (no ``nopush`` earned by one client's history, no
cookie), so every client gets the same field for the same links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from flask import Response, current_app, has_app_context, has_request_context, request

from . import _budget as budget
from ._caching import CACHING_FIELDS, kept_by
from ._collection import NOT_LOADED
from ._config import Settings
from ._failure import FailurePolicy
from ._headers import append_checked, checked_value
from ._learning_scope import written_root
from ._links import Link
from ._memo import IdentityMemo
from ._public_links import is_public_link, static_prefixes
from ._tracking import Tracker

__all__ = ["FinalHeader", "Outcome", "may_carry_links", "public_prefixes"]

_by_priority = attrgetter("priority")

_lint_logger = logging.getLogger("flask_firehose.lint")


def may_carry_links(method: str, status: int) -> bool:
    """Only a successful GET or HEAD carries links: a proxy pushes nothing for
    the others, and an error page must not mark anything as pushed."""
    return method in ("GET", "HEAD") and 200 <= status < 300


def public_prefixes(settings: Settings) -> tuple[str, ...]:
    """The current app's public-asset prefixes, as the learner has them,
    worked out afresh: ``FIREHOSE_LEARN_PREFIXES``, else its static routes'
    URL paths. Outside an app context, none."""
    if settings.learn_prefixes is not None:
        return settings.learn_prefixes
    if not has_app_context():
        return ()
    return static_prefixes(current_app._get_current_object())[0]  # type: ignore[attr-defined]


def _on_site(prefixes: Sequence[str], settings: Settings) -> tuple[str, ...]:
    """*prefixes* where this request's links lie: under the app's script
    root (a mount point), as the learner puts them; explicit prefixes also
    at the origin's root, where a front may serve them. A script root no
    plain path can start with leaves none."""
    base = tuple(prefixes)
    script_root = request.script_root if has_request_context() else ""
    if not script_root or not base:
        return base
    root = written_root(script_root)
    if root is None:
        return ()
    on_site = tuple(root + prefix for prefix in base)
    return tuple(dict.fromkeys(on_site + base)) if settings.learn_prefixes is not None else on_site


class Outcome(NamedTuple):
    """What :meth:`FinalHeader.write` decided for a response."""

    candidates: tuple[Link, ...]
    kept: tuple[Link, ...]
    header: str | None
    seen: tuple[str, ...]
    pushed: tuple[str, ...]


class FinalHeader:
    """The final header's channel for one app.

    :param prefixes: gives the app's public-asset prefixes (the learner's:
        :meth:`~flask_firehose._learning.Learner.prefixes`, before the script
        root is put in front), asked only for a public response; ``None``:
        :func:`public_prefixes`, worked out once.
    """

    __slots__ = ("_prefixes", "_public", "failures", "outcomes", "settings", "shared")

    def __init__(
        self,
        settings: Settings,
        failures: FailurePolicy,
        prefixes: Callable[[], Sequence[str]] | None = None,
        size: int = 256,
    ) -> None:
        self.settings = settings
        self.failures = failures
        #: Outcomes by the candidates, the view's own bytes and the tracker's
        #: :meth:`~flask_firehose._tracking.Tracker.state_key`.
        self.outcomes: IdentityMemo[Outcome] = IdentityMemo(size)
        #: Outcomes by the candidates and which of them the client's state holds.
        self.shared: IdentityMemo[Outcome] = IdentityMemo(size)
        self._prefixes = prefixes
        self._public: tuple[str, ...] | None = None

    def public_prefixes(self) -> tuple[str, ...]:
        """Where the app's public assets lie (see *prefixes*)."""
        if self._prefixes is not None:
            return tuple(self._prefixes())
        if self._public is None:
            self._public = public_prefixes(self.settings)
        return self._public

    def write(
        self,
        method: str,
        response: Response,
        links: Iterable[Link],
        tracker: Tracker[Any] | None,
        loaded: Any = NOT_LOADED,
    ) -> tuple[Link, ...]:
        """Append the links of a *method* request to *response*, record the
        pushes with *tracker*, and return the links that went out.

        :param loaded: the tracker's state if the 103 already asked for it
            (a connector's ``get_pushed()`` is called once per request).
        """
        if not may_carry_links(method, response.status_code):
            return ()
        settings = self.settings
        failures = self.failures
        candidates = links if type(links) is tuple else tuple(links)
        # One pass over the view's headers: the Link fields it set (they share
        # the byte budget) and whether caching headers need a closer look.
        own = 0
        caching = False
        for name, value in response.headers:
            lowered = name.lower()
            if lowered == "link":
                own += len(value) + len(budget.SEPARATOR)
            elif lowered in CACHING_FIELDS:
                caching = True
        # A response other clients may be handed (a CDN replaying its Link
        # header, a shared cache keeping it) gets public links only, and the same
        # ones for every client: its links are not tracked.
        # (Behind a CDN every response is public: which field says so is not asked.)
        kept_for_others = kept_by(response) if caching and candidates and not settings.behind_cdn else None
        public: tuple[str, ...] | None = None
        if candidates and (settings.behind_cdn or kept_for_others is not None):
            public = _on_site(self.public_prefixes(), settings)
        state = None
        # No tracking for HEAD (health checks, crawlers: nothing is downloaded),
        # nor for a public response: a tracking cookie in it would be handed to
        # every client the cache serves, and the nopush hints one client's cookie
        # earned too.
        if tracker is not None and method == "GET" and public is None and any(link.pushable for link in candidates):
            state = loaded if loaded is not NOT_LOADED else failures.call(f"{tracker.name} load", None, tracker.load)
        # The same links, room and tracking state give the same outcome (a
        # page's new visitors, a returning one with an unchanged cookie):
        # remembered by the links' identities (push() hands out the same Link
        # objects for the same calls).
        state_key = "" if state is None or tracker is None else tracker.state_key(state)
        # A tracker whose admit() reads only which candidates the state holds
        # (every one here; a test's own may not) shares outcomes by that.
        shares = state is not None and (state_key is not None or getattr(tracker, "shares_outcomes", False) is True)
        extra = (own, state_key, public)
        ids = tuple(map(id, candidates)) if state_key is not None or shares else ()
        outcome = self.outcomes.get(candidates, extra, ids) if state_key is not None else None
        if outcome is None:
            # Another client whose state holds the same of these links (a
            # page's returning visitors, each with a cookie of their own, or
            # a session, or a connector's set) gets the same outcome:
            # remembered by which candidates the state holds.
            held = None
            if shares and state is not None:
                held = (own, tuple(link.target in state for link in candidates if link.pushable))
                outcome = self.shared.get(candidates, held, ids)
            if outcome is None:
                if public is not None:
                    outcome = _decide_public(candidates, own, settings, public, kept_for_others)
                else:
                    outcome = _decide(candidates, own, settings, tracker, state, failures)
                if held is not None:
                    self.shared.put(candidates, outcome, held, ids)
            if state_key is not None:
                self.outcomes.put(candidates, outcome, extra, ids)
        if outcome.header is not None:
            append_checked(response.headers, "Link", outcome.header)
        if state is not None and tracker is not None and outcome.pushed:
            failures.call(f"{tracker.name} save", None, tracker.save, state, outcome.seen, outcome.pushed, response)
        return outcome.kept


def _decide(
    candidates: tuple[Link, ...],
    own: int,
    settings: Settings,
    tracker: Tracker[Any] | None,
    state: Any,
    failures: FailurePolicy,
) -> Outcome:
    """Which links go out, how, and what is recorded as pushed."""
    given = candidates
    seen: list[str] = []
    if state is not None and tracker is not None:
        ordered = sorted(candidates, key=_by_priority)  # admit() takes the new ones highest priority first
        new: list[str] = []
        for link in ordered:
            if link.pushable:
                (seen if link.target in state else new).append(link.target)
        all_new: Sequence[str] = new  # if admit() fails: as without tracking
        admitted = set(failures.call(f"{tracker.name} admit", all_new, tracker.admit, state, seen, new))
        candidates = tuple(
            link.as_hint() if link.pushable and link.target not in admitted else link for link in ordered
        )
    chosen = budget.select(candidates, settings.max_links, settings.max_header_bytes - own, settings.max_pushes)
    # Link texts are checked when made; the field is checked once more here,
    # once per outcome, since it is then appended as it is.
    header = checked_value(budget.header_value(chosen.kept)) if chosen.kept else None
    pushed = tuple(link.target for link in chosen.kept if link.pushable) if state is not None else ()
    return Outcome(given, chosen.kept, header, tuple(seen), pushed)


def _decide_public(
    candidates: tuple[Link, ...], own: int, settings: Settings, prefixes: tuple[str, ...], kept_by: str | None
) -> Outcome:
    """The links of a public response: those that pass the public-asset
    rules, as they were made, within the budget; nothing recorded."""
    allowed: list[Link] = []
    refused: list[Link] = []
    for link in candidates:
        (allowed if is_public_link(link, prefixes) else refused).append(link)
    if refused:
        _report(refused, settings, kept_by)
    # Behind a CDN nothing pushes (and a nopush link replayed in a 103 is
    # ignored by browsers): the push cap, which makes hints of the links
    # past it, is for a pushing proxy in front.
    max_pushes = None if settings.behind_cdn else settings.max_pushes
    chosen = budget.select(allowed, settings.max_links, settings.max_header_bytes - own, max_pushes)
    header = checked_value(budget.header_value(chosen.kept)) if chosen.kept else None
    return Outcome(candidates, chosen.kept, header, (), ())


def _report(refused: Sequence[Link], settings: Settings, kept_by: str | None) -> None:
    """In development (the lint's setting), say which links a public response
    left out; once per outcome, so once per page while it is remembered."""
    lint = settings.lint
    if lint is None:
        lint = has_app_context() and bool(current_app.debug)
    if not lint:
        return
    why = "FIREHOSE_BEHIND_CDN is on" if settings.behind_cdn else f"{kept_by} lets a shared cache keep the response"
    _lint_logger.warning(
        "%s: left out of the Link header, as not public static assets: %s%s",
        why,
        ", ".join(repr(link.target) for link in refused[:8]),
        f" and {len(refused) - 8} more" if len(refused) > 8 else "",
    )
