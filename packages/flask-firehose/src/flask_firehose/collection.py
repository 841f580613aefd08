"""What ``push()`` appends to: the links of one request, in order, deduplicated.

The collection lives on :data:`flask.g` under a private name and is created by
the first ``push()`` of a request, so a request that never pushes allocates
nothing and the after-request hook can tell at a glance there is no work.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import g

from .links import Link

__all__ = ["LinkCollection", "current_collection", "request_collection"]

_G_KEY = "_firehose_links"


class LinkCollection:
    """Ordered links of one response; a second link to the same target with the
    same ``rel`` is merged into the first (the first one's attributes win)."""

    __slots__ = ("_links",)

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], Link] = {}

    def add(self, link: Link) -> None:
        """Append *link* unless the same target and ``rel`` is already here."""
        self._links.setdefault((link.target, link.rel), link)

    def __iter__(self) -> Iterator[Link]:
        return iter(self._links.values())

    def __len__(self) -> int:
        return len(self._links)


# Resolving the proxy once is several times cheaper than ``g.get`` through it,
# and push() runs this for every link of every page.
_current_g = g._get_current_object


def request_collection() -> LinkCollection:
    """The current request's collection, created on first use."""
    namespace = _current_g()
    links: LinkCollection | None = getattr(namespace, _G_KEY, None)
    if links is None:
        links = LinkCollection()
        setattr(namespace, _G_KEY, links)
    return links


def current_collection() -> LinkCollection | None:
    """The current request's collection, or ``None`` if nothing was pushed."""
    return getattr(_current_g(), _G_KEY, None)
