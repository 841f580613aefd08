"""The final ``Link`` header: the channel every server and proxy understands.

One function, :func:`write_links`, runs after the view: it decides whether the
response may carry links, asks the tracker which pushable links the client
already had, fits the rest to the budget, appends one ``Link`` field next to
whatever the view set, and records what was really sent.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from . import budget
from .collection import LinkCollection
from .config import Settings
from .links import Link
from .tracking import Tracker, tracking_key

__all__ = ["may_carry_links", "write_links"]


def may_carry_links(method: str, status: int) -> bool:
    """Only a successful GET or HEAD carries links: a proxy pushes nothing for
    the others, and an error page must not mark anything as pushed."""
    return method in ("GET", "HEAD") and 200 <= status < 300


def write_links(
    method: str, response: Response, links: LinkCollection, settings: Settings, tracker: Tracker[Any] | None
) -> tuple[Link, ...]:
    """Append the links of a *method* request to *response*, record the
    pushes, and return the links that went out."""
    if not may_carry_links(method, response.status_code):
        return ()
    candidates: list[Link] = list(links)
    state = None
    if tracker is not None and any(link.pushable for link in candidates):
        state = tracker.load()
        candidates = [
            link.as_hint() if link.pushable and tracking_key(link.target) in state else link for link in candidates
        ]
    own = sum(len(value) + len(budget.SEPARATOR) for value in response.headers.getlist("Link"))
    chosen = budget.select(candidates, settings.max_links, settings.max_header_bytes - own, settings.max_pushes)
    if chosen.kept:
        response.headers.add("Link", budget.header_value(chosen.kept))
    if state is not None and tracker is not None:
        pushed = [tracking_key(link.target) for link in chosen.kept if link.pushable]
        if pushed:
            tracker.save(state, pushed)
    return chosen.kept
