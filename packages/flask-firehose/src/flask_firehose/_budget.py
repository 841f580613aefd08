"""Choosing which links fit: priority order, a count cap, a byte budget.

Every channel that carries links (the final ``Link`` header, the 103) goes
through :func:`select`, so the same rules bound all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from ._links import Link

__all__ = ["SEPARATOR", "Selection", "header_value", "select"]

logger = logging.getLogger("flask_firehose")

_by_priority = attrgetter("priority")

#: Between two link-values of one field (RFC 9110 §5.6.1 list syntax).
SEPARATOR = ", "


@dataclass(frozen=True, slots=True)
class Selection:
    """The links that fit, in the order they go out, and the ones left out."""

    kept: tuple[Link, ...]
    dropped: tuple[Link, ...]


def select(links: Iterable[Link], max_links: int, max_bytes: int, max_pushes: int | None) -> Selection:
    """Order *links* by priority (stable) and keep what fits.

    A link that would take the field past *max_bytes*, or the list past
    *max_links*, is dropped; lower-priority links that still fit go in.
    Past *max_pushes* pushable links, the rest go out as ``nopush`` hints,
    since a proxy pushes only so many per connection (nginx: 10).
    ``max_pushes=None`` means no push cap: the 103, whose links never carry
    ``nopush`` (browsers reject it there).
    """
    kept: list[Link] = []
    dropped: list[Link] = []
    size = -len(SEPARATOR)  # the first link has no separator before it
    pushes = 0
    for link in sorted(links, key=_by_priority):
        extra = len(link.text) + len(SEPARATOR)
        if len(kept) >= max_links or size + extra > max_bytes:
            dropped.append(link)
            continue
        if link.pushable and max_pushes is not None:
            if pushes >= max_pushes:
                link = link.as_hint()
                extra = len(link.text) + len(SEPARATOR)
                if size + extra > max_bytes:
                    dropped.append(link)
                    continue
            else:
                pushes += 1
        kept.append(link)
        size += extra
    if dropped:
        logger.debug(
            "Link budget (%d links, %d bytes) dropped %d: %s",
            max_links,
            max_bytes,
            len(dropped),
            SEPARATOR.join(link.target for link in dropped),
        )
    return Selection(tuple(kept), tuple(dropped))


def header_value(links: Sequence[Link]) -> str:
    """One ``Link`` field value holding *links*."""
    return SEPARATOR.join(link.text for link in links)
