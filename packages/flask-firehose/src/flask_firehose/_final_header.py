"""The final ``Link`` header: the channel every server and proxy understands.

One function, :func:`write_links`, runs after the view: it decides whether the
response may carry links, asks the tracker which pushable links the client
already had and which new ones it can remember (GET only, and never for a
response a shared cache may store), fits the rest to the budget,
appends one ``Link`` field next to whatever the view set, and records what was
really pushed. Tracker calls go through the failure policy: if one fails, the
links go out as they would with tracking off.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from flask import Response

from . import _budget as budget
from ._collection import NOT_LOADED
from ._config import Settings
from ._failure import FailurePolicy
from ._headers import append_checked, checked_value
from ._links import Link
from ._memo import Memo
from ._shared_cache import storable_by_others
from ._tracking import Tracker

__all__ = ["Outcome", "may_carry_links", "write_links"]

_by_priority = attrgetter("priority")

# Fields that may let a shared cache store a response (see _shared_cache).
_CACHING_FIELDS = frozenset({"cache-control", "expires", "vary"})


def may_carry_links(method: str, status: int) -> bool:
    """Only a successful GET or HEAD carries links: a proxy pushes nothing for
    the others, and an error page must not mark anything as pushed."""
    return method in ("GET", "HEAD") and 200 <= status < 300


class Outcome(NamedTuple):
    """What :func:`write_links` decided for a response."""

    candidates: tuple[Link, ...]
    kept: tuple[Link, ...]
    header: str | None
    seen: tuple[str, ...]
    pushed: tuple[str, ...]


def write_links(
    method: str,
    response: Response,
    links: Iterable[Link],
    settings: Settings,
    tracker: Tracker[Any] | None,
    failures: FailurePolicy,
    memo: Memo[Hashable, Outcome] | None = None,
    loaded: Any = NOT_LOADED,
    shared: Memo[Hashable, Outcome] | None = None,
) -> tuple[Link, ...]:
    """Append the links of a *method* request to *response*, record the
    pushes, and return the links that went out.

    :param loaded: the tracker's state if the 103 already asked for it
        (a connector's ``get_pushed()`` is called once per request).
    :param memo: outcomes by the tracker's :meth:`~flask_firehose._tracking.Tracker.state_key`;
        *shared*: by which candidates the state holds.
    """
    if not may_carry_links(method, response.status_code):
        return ()
    candidates = links if type(links) is tuple else tuple(links)
    # One pass over the view's headers: the Link fields it set (they share
    # the byte budget) and whether caching headers need a closer look.
    own = 0
    caching = False
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "link":
            own += len(value) + len(budget.SEPARATOR)
        elif lowered in _CACHING_FIELDS:
            caching = True
    state = None
    # No tracking for HEAD (health checks, crawlers: nothing is downloaded) nor
    # for a response a shared cache may store and serve to others: a tracking
    # cookie in it would be handed to every client the cache serves, and the
    # nopush hints one client's cookie earned too.
    if (
        tracker is not None
        and method == "GET"
        and any(link.pushable for link in candidates)
        and not (caching and storable_by_others(response))
    ):
        state = loaded if loaded is not NOT_LOADED else failures.call(f"{tracker.name} load", None, tracker.load)
    # The same links, room and tracking state give the same outcome (a page's
    # new visitors, a returning one with an unchanged cookie): remembered.
    # push() hands out the same Link objects for the same calls, so the key
    # names them by identity (cheaper than hashing each); an outcome holds its
    # candidates, so their ids cannot be reused while it is remembered, and
    # it is only taken when they are the same links.
    state_key = "" if state is None or tracker is None else tracker.state_key(state)
    ids = tuple(map(id, candidates))
    key = (ids, own, state_key) if memo is not None and state_key is not None else None
    outcome = memo.get(key) if memo is not None and key is not None else None
    if outcome is not None and outcome.candidates != candidates:
        outcome = None
    if outcome is None:
        # Another client whose state holds the same of these links (a page's
        # returning visitors, each with a cookie of their own) gets the same
        # outcome: remembered by which candidates the state holds.
        held_key = None
        if shared is not None and key is not None and state is not None:
            held_key = (ids, own, tuple(link.target in state for link in candidates if link.pushable))
            outcome = shared.get(held_key)
            if outcome is not None and outcome.candidates != candidates:
                outcome = None
        if outcome is None:
            outcome = _decide(candidates, own, settings, tracker, state, failures)
            if shared is not None and held_key is not None:
                shared.put(held_key, outcome)
        if memo is not None and key is not None:
            memo.put(key, outcome)
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
