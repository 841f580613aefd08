"""Remembering what a client was already pushed, so it is not pushed again:
the tracker protocol, and which tracker an app gets.

Two interfaces meet here:

* the **connector** protocol users have written against since 0.2.3
  (:mod:`flask_firehose._connectors`): ``get_pushed() -> set[str]`` and
  ``set_pushed(set[str])``, given the whole set each time;
* the internal **tracker** protocol the response hook calls once per request:
  :meth:`Tracker.load` returns a container answering ``target in state`` (or
  ``None`` when nothing can be tracked for this request),
  :meth:`Tracker.admit` says which new targets it can record without
  forgetting the ones the page uses, and :meth:`Tracker.save` records them.
  A compact digest only needs to answer membership, so it can slot in here
  without ever producing the full set.

:func:`tracker_for` makes the choice: the digest cookie by default
(:mod:`flask_firehose._digest_tracker`), 0.2.3's session connector or any
other connector when one is given.

Tracking only ever concerns links a proxy would push: ``nopush`` hints and
cross-origin links are sent every time, since a hint for a file the browser
already has costs it nothing. A pushable link the tracker cannot record goes
out as a ``nopush`` hint: pushing what cannot be remembered would push it
again on every visit.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Sequence
from typing import Any, Protocol, TypeVar

from flask import Response

from ._config import Settings
from ._connectors import ConnectorTracker, SessionConnector, check_connector
from ._digest_tracker import DigestTracker
from ._failure import FailurePolicy

__all__ = ["Tracker", "tracker_for"]

S = TypeVar("S", bound=Container[str])


class Tracker(Protocol[S]):
    """The per-request interface the response hook uses."""

    name: str
    """How the log names this tracker when one of its calls fails.

    A tracker whose :meth:`admit` reads only *seen* and *new* (not the rest
    of the state) says so with an attribute ``shares_outcomes`` that is true
    (every tracker here does, a subclass of the session's with its own
    ``admit`` not): two states holding the same of a page's links
    then share the final header's outcome, even where :meth:`state_key` is
    ``None``. Without it, such states never share one."""

    def load(self) -> S | None:
        """Read the current client's state; ``None`` when there is nowhere to
        keep one. Must not fail on bad stored data."""
        ...

    def admit(self, state: S, seen: Sequence[str], new: Sequence[str]) -> Sequence[str]:
        """Which of *new* (highest priority first) can be recorded on top of
        *state* without forgetting *seen*, the known targets the page uses."""
        ...

    def state_key(self, state: S) -> Hashable | None:
        """A value equal for two states that answer every question alike, so
        the outcome for one may be reused for the other; ``None``: never.

        A tracker that gives a key also promises that the outcome depends on
        the state only through which candidates it holds (:meth:`admit`
        admits every new one), so two states holding the same of a page's
        links share an outcome too."""
        ...

    def save(self, state: S, seen: Sequence[str], added: Sequence[str], response: Response) -> None:
        """Record *added* on top of *state*, as returned by :meth:`load`
        (in *response*, for a tracker that keeps its state in a cookie)."""
        ...


def tracker_for(connector: object, settings: Settings, failures: FailurePolicy) -> Tracker[Any]:
    """The tracker for a ``Firehose(connector=...)`` argument, checked.

    ``None`` gives the default, the :class:`DigestTracker`; the
    :class:`SessionConnector` class itself (0.2.3's tracker, passed
    explicitly) gives one bounded by ``FIREHOSE_TRACKING_MAX_BYTES``; a
    :class:`SessionConnector` instance is used as it is; anything else with
    ``get_pushed``/``set_pushed`` is adapted.

    :raises ConfigurationError: when *connector* breaks the contract.
    """
    check_connector(connector)
    if connector is None:
        return DigestTracker(settings.cookie, settings.digest)
    if connector is SessionConnector:
        return SessionConnector(settings.tracking_max_bytes)
    if isinstance(connector, SessionConnector):
        return connector
    return ConnectorTracker(connector, failures)  # type: ignore[arg-type]
