"""Remembering what a client was already pushed, so it is not pushed again.

Two interfaces meet here:

* the **connector** protocol users have written against since 0.2.3:
  ``get_pushed() -> set[str]`` and ``set_pushed(set[str])``, given the whole
  set each time; an instance or a class with static methods both work;
* the internal **tracker** protocol the response hook calls once per request:
  :meth:`Tracker.load` returns a container answering ``target in state``, and
  :meth:`Tracker.save` is given that state back with the targets just pushed.
  A compact digest only needs to answer membership, so it can slot in here
  without ever producing the full set.

Tracking only ever concerns links a proxy would push: ``nopush`` hints and
cross-origin links are sent every time, since a hint for a file the browser
already has costs it nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Container, Iterable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from flask import session

__all__ = [
    "DEFAULT_SESSION_KEY",
    "ConnectorTracker",
    "PushConnector",
    "SessionConnector",
    "Tracker",
    "tracker_for",
    "tracking_key",
]

logger = logging.getLogger("flask_firehose")

#: The session key 0.2.3 documented, kept so upgraded apps keep their state.
DEFAULT_SESSION_KEY = "h2-pushed"

S = TypeVar("S", bound=Container[str])


@runtime_checkable
class PushConnector(Protocol):
    """What a custom connector provides (the 0.2.3 contract)."""

    def get_pushed(self) -> Collection[str]:
        """Return the URLs already pushed to the current client."""
        ...

    def set_pushed(self, inset: set[str]) -> None:
        """Store *inset*, the full set of URLs pushed to the current client."""
        ...


class Tracker(Protocol[S]):
    """The per-request interface the response hook uses."""

    def load(self) -> S:
        """Read the current client's state; must not fail on bad stored data."""
        ...

    def save(self, state: S, added: Sequence[str]) -> None:
        """Record *added* on top of *state*, as returned by :meth:`load`."""
        ...


def tracking_key(target: str) -> str:
    """The key a target is tracked under: the target itself, with ``,``
    escaped because the 0.2.3 session format joins keys with commas."""
    return target.replace(",", "%2C")


def _trim(keys: list[str], max_bytes: int) -> list[str]:
    """Keep the newest keys whose comma-joined length fits *max_bytes*."""
    size = -1
    start = len(keys)
    while start > 0 and size + len(keys[start - 1]) + 1 <= max_bytes:
        start -= 1
        size += len(keys[start]) + 1
    return keys[start:]


class SessionConnector:
    """The default tracker: pushed targets in the session, oldest first.

    The value is the 0.2.3 format, targets joined with ``,``, so state written
    by 0.2.3 is read as is. It never grows past *max_bytes*: the oldest entries
    are forgotten first (and pushed again at worst). Anything that is not a
    string is treated as empty. Works with Flask's signed-cookie session and
    with server-side sessions (Flask-Session) alike.

    :param max_bytes: the most characters the stored value may hold.
    :param key: the session key.
    """

    def __init__(self, max_bytes: int = 1024, key: str = DEFAULT_SESSION_KEY) -> None:
        self.max_bytes = max_bytes
        self.key = key

    def load(self) -> dict[str, None]:
        """The stored keys as an ordered set (a dict with no values)."""
        raw = session.get(self.key)
        if not isinstance(raw, str) or not raw:
            return {}
        return dict.fromkeys(key for key in raw.split(",") if key)

    def save(self, state: dict[str, None], added: Sequence[str]) -> None:
        """Append *added* to *state*, trim to the budget, store."""
        merged = dict(state)
        merged.update(dict.fromkeys(added))
        session[self.key] = ",".join(_trim(list(merged), self.max_bytes))

    def get_pushed(self) -> set[str]:
        """The 0.2.3 connector call: the stored targets as a set."""
        return set(self.load())

    def set_pushed(self, inset: set[str]) -> None:
        """The 0.2.3 connector call: store *inset*, keeping the known order."""
        state = self.load()
        kept = {key: None for key in state if key in inset}
        self.save(kept, sorted(inset.difference(kept)))


#: 0.2.3 exported its default connector under this name.
Connector = SessionConnector


class ConnectorTracker:
    """Adapts a user's :class:`PushConnector` to the :class:`Tracker` calls:
    ``get_pushed()`` once per request, ``set_pushed()`` with the union."""

    def __init__(self, connector: PushConnector | type[Any]) -> None:
        self.connector = connector

    def load(self) -> set[str]:
        """Call ``get_pushed()``; anything but an iterable of strings is empty."""
        pushed = self.connector.get_pushed()
        if isinstance(pushed, str) or not isinstance(pushed, Iterable):
            if pushed is not None:
                logger.warning("get_pushed() returned %r, not a set of URLs; treating it as empty", pushed)
            return set()
        return {item for item in pushed if isinstance(item, str)}

    def save(self, state: set[str], added: Sequence[str]) -> None:
        """Call ``set_pushed()`` with everything now pushed."""
        self.connector.set_pushed(state.union(added))


def tracker_for(connector: object, max_bytes: int) -> Tracker[Any]:
    """The tracker for a ``Firehose(connector=...)`` argument.

    ``None`` and the :class:`SessionConnector` class itself (0.2.3's default,
    passed explicitly) give a :class:`SessionConnector` bounded by *max_bytes*;
    an object with ``load``/``save`` is used as it is; anything with
    ``get_pushed``/``set_pushed`` is adapted.

    :raises TypeError: when *connector* has neither.
    """
    if connector is None or connector is SessionConnector:
        return SessionConnector(max_bytes)
    if isinstance(connector, SessionConnector):
        return connector
    if callable(getattr(connector, "get_pushed", None)) and callable(getattr(connector, "set_pushed", None)):
        return ConnectorTracker(connector)  # type: ignore[arg-type]
    raise TypeError(f"connector must have get_pushed() and set_pushed(): {connector!r}")
