"""What one request hinted: the links ``push()`` added, the links declared
for its endpoint, and whether the response has already been written.

The state lives on the request context (not on :data:`flask.g`, which belongs
to the app context: an app context pushed at import, or around a test client,
is shared by every request made inside it) and is created by the first
``push()`` of a request (or by a declaration), so a request that never pushes
allocates nothing and the after-request hook can tell at a glance there is no
work. Once the hook has written the ``Link`` header the state is closed:
a ``push()`` from a streamed response's generator comes too late, and says so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from flask import has_request_context
from flask.globals import request_ctx

from ._links import Link

__all__ = [
    "CLOSED",
    "NOT_LOADED",
    "STATE_ATTRIBUTE",
    "LinkCollection",
    "RequestLinks",
    "close_request",
    "current_context",
    "current_links",
    "opened_session",
    "request_links",
]

#: Where a request context holds its :class:`RequestLinks`.
STATE_ATTRIBUTE = "_firehose_links"


class LinkCollection:
    """Ordered links of one response; a second link to the same target with the
    same ``rel`` is merged into the first (the first one's attributes win)."""

    __slots__ = ("_links",)

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], Link] = {}

    def add(self, link: Link) -> None:
        """Append *link* unless the same target and ``rel`` is already here."""
        self._links.setdefault(link.key, link)

    def __iter__(self) -> Iterator[Link]:
        return iter(self._links.values())

    def as_tuple(self) -> tuple[Link, ...]:
        """The links, in order."""
        return tuple(self._links.values())

    def __len__(self) -> int:
        return len(self._links)


#: :attr:`RequestLinks.tracked` before the tracker was asked.
NOT_LOADED: Any = object()


class RequestLinks:
    """The hints of one request: declared for its endpoint, and pushed; and
    the tracker's state, when the 103 already needed it."""

    __slots__ = ("closed", "declared", "pushed", "tracked")

    def __init__(self) -> None:
        self.declared: tuple[Link, ...] = ()
        self.pushed = LinkCollection()
        self.closed = False
        self.tracked: Any = NOT_LOADED


#: Put in place of the state of a request that pushed nothing, once its
#: response is written: never added to (``push()`` checks ``closed`` first).
CLOSED = RequestLinks()
CLOSED.closed = True

try:  # push() runs this for every link of every page: the context variable itself is cheapest
    from flask.globals import _cv_request

    #: The current request context, or ``None`` outside a request.
    current_context: Callable[[], Any] = functools.partial(_cv_request.get, None)

except ImportError:  # pragma: no cover - a Flask without the variable

    def current_context() -> Any:
        """The current request context, or ``None`` outside a request."""
        return request_ctx._get_current_object() if has_request_context() else None  # type: ignore[attr-defined]


def opened_session(context: object) -> Any:
    """The session *context* (a request context) has opened, without
    opening it or marking it read (``ctx.session`` does both), or ``None``."""
    found = vars(context)
    return found.get("_session", found.get("session"))


def _current_context() -> Any:
    context = current_context()
    if context is None:
        raise RuntimeError("Working outside of request context.")
    return context


def request_links() -> RequestLinks:
    """The current request's state, created on first use."""
    namespace = _current_context()
    links: RequestLinks | None = getattr(namespace, STATE_ATTRIBUTE, None)
    if links is None:
        links = RequestLinks()
        setattr(namespace, STATE_ATTRIBUTE, links)
    return links


def current_links() -> RequestLinks | None:
    """The current request's state, or ``None`` if nothing was hinted."""
    return getattr(_current_context(), STATE_ATTRIBUTE, None)


def close_request(links: RequestLinks | None) -> None:
    """Mark the current request's links as written."""
    if links is None:
        setattr(_current_context(), STATE_ATTRIBUTE, CLOSED)
    else:
        links.closed = True
