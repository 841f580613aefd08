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

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from flask import Response

from . import budget
from .config import Settings
from .failure import FailurePolicy
from .links import Link
from .shared_cache import marked_public
from .tracking import Tracker

__all__ = ["may_carry_links", "write_links"]

_by_priority = attrgetter("priority")


def may_carry_links(method: str, status: int) -> bool:
    """Only a successful GET or HEAD carries links: a proxy pushes nothing for
    the others, and an error page must not mark anything as pushed."""
    return method in ("GET", "HEAD") and 200 <= status < 300


def write_links(
    method: str,
    response: Response,
    links: Iterable[Link],
    settings: Settings,
    tracker: Tracker[Any] | None,
    failures: FailurePolicy,
) -> tuple[Link, ...]:
    """Append the links of a *method* request to *response*, record the
    pushes, and return the links that went out."""
    if not may_carry_links(method, response.status_code):
        return ()
    candidates: list[Link] = sorted(links, key=_by_priority)
    state = None
    # No tracking for HEAD (health checks, crawlers: nothing is downloaded) nor
    # for a response a shared cache may store: a session cookie in it would
    # be handed to every client the cache serves.
    if (
        tracker is not None
        and method == "GET"
        and any(link.pushable for link in candidates)
        and not marked_public(response)
    ):
        state = failures.call(f"{tracker.name} load", None, tracker.load)
        if state is not None:
            seen: list[str] = []
            new: list[str] = []
            for link in candidates:
                if link.pushable:
                    (seen if link.target in state else new).append(link.target)
            all_new: Sequence[str] = new  # if admit() fails: as without tracking
            admitted = set(failures.call(f"{tracker.name} admit", all_new, tracker.admit, state, seen, new))
            candidates = [
                link.as_hint() if link.pushable and link.target not in admitted else link for link in candidates
            ]
    own = sum(len(value) + len(budget.SEPARATOR) for value in response.headers.getlist("Link"))
    chosen = budget.select(candidates, settings.max_links, settings.max_header_bytes - own, settings.max_pushes)
    if chosen.kept:
        response.headers.add("Link", budget.header_value(chosen.kept))
    if state is not None and tracker is not None:
        pushed = [link.target for link in chosen.kept if link.pushable]
        if pushed:
            failures.call(f"{tracker.name} save", None, tracker.save, state, seen, pushed, response)
    return chosen.kept
