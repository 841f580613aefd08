"""Connectors: where a client's pushed URLs are kept, by the 0.2.3 contract.

A connector is what ``Firehose(connector=...)`` takes: anything with
``get_pushed() -> set[str]`` and ``set_pushed(set[str])``, given the whole set
each time (:class:`PushConnector`, the contract users have written against
since 0.2.3); an instance, or a class whose two methods are static or class
methods, both work (:func:`check_connector`, called by ``init_app``).

This module holds that contract, 0.2.3's own connector
(:class:`SessionConnector`: the session key ``h2-pushed``), which is also a
tracker of its own, and :class:`ConnectorTracker`, which adapts any other
connector to the per-request tracker calls of :mod:`flask_firehose._tracking`.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from flask import Response, session
from flask.sessions import NullSession

from ._failure import FailurePolicy, logger
from ._links import safe_repr
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_SESSION_KEY",
    "ConnectorTracker",
    "PushConnector",
    "SessionConnector",
    "check_connector",
]

#: The session key 0.2.3 documented, kept so upgraded apps keep their state.
DEFAULT_SESSION_KEY = "h2-pushed"

#: A stored value longer than this many times the budget was not written by
#: Flask-Firehose (0.2.3 state is rarely a tenth of it): it counts as empty.
_OVERSIZE_FACTOR: Final = 16


@runtime_checkable
class PushConnector(Protocol):
    """What a custom connector provides (the 0.2.3 contract)."""

    def get_pushed(self) -> Collection[str]:
        """Return the URLs already pushed to the current client."""
        ...

    def set_pushed(self, inset: set[str]) -> None:
        """Store *inset*, the full set of URLs pushed to the current client."""
        ...


# In the session value targets are joined with ",", which a target may hold;
# "|" never appears in one (it is percent-encoded), so it stands in for ",".
def _encode_key(target: str) -> str:
    return target.replace(",", "|")


def _decode_key(key: str) -> str:
    return key.replace("|", ",")


def _trim(keys: list[str], max_bytes: int) -> list[str]:
    """Keep the newest keys whose comma-joined length fits *max_bytes*."""
    size = -1
    start = len(keys)
    while start > 0 and size + len(keys[start - 1]) + 1 <= max_bytes:
        start -= 1
        size += len(keys[start]) + 1
    return keys[start:]


class SessionConnector:
    """0.2.3's tracker: pushed targets in the session, least recently used
    first. Chosen with ``Firehose(connector=SessionConnector())`` (or the
    class itself); without a connector, pushes are tracked in a digest
    cookie, the default since 1.0.

    The value is the 0.2.3 format, targets joined with ``,``, so state written
    by 0.2.3 is read as is (a ``,`` inside a target is stored as ``|``). It
    never grows past *max_bytes* characters: when new targets are recorded,
    the targets the page still uses move to the newest end and the least
    recently used are forgotten; a target that does not fit beside the ones
    the page uses is hinted with ``nopush`` instead of pushed, so no visit
    pushes the same file twice because the budget is small. Anything that is
    not a string, or is far larger than the budget, is treated as empty.
    Works with Flask's signed-cookie session (which needs ``SECRET_KEY``:
    without one nothing is tracked) and with server-side sessions
    (Flask-Session) alike.

    :param max_bytes: the most characters the stored value may hold (its
        URLs are percent-encoded ASCII, so characters and bytes agree).
    :param key: the session key.
    """

    name = "session tracking"

    @property
    def shares_outcomes(self) -> bool:
        """:meth:`admit` reads *seen* and *new* only (see ``Tracker.name``):
        true of this class's, not of a subclass's own, which is then asked
        for each client."""
        return type(self).admit is SessionConnector.admit

    def __init__(self, max_bytes: int = 1024, key: str = DEFAULT_SESSION_KEY) -> None:
        self.max_bytes = max_bytes
        self.key = key
        self.warned_no_secret = False

    def _writable(self) -> bool:
        if isinstance(session._get_current_object(), NullSession):  # type: ignore[attr-defined]
            if not self.warned_no_secret:
                self.warned_no_secret = True
                logger.warning(
                    "Pushes are not tracked: the session cannot be written (set SECRET_KEY, or use a "
                    "server-side session). Each page's links are pushed on every visit."
                )
            return False
        return True

    def load(self) -> dict[str, None] | None:
        """The stored targets as an ordered set (a dict with no values), or
        ``None`` when the session cannot be written."""
        if not self._writable():
            return None
        raw = session.get(self.key)
        if not isinstance(raw, str) or not raw or len(raw) > self.max_bytes * _OVERSIZE_FACTOR + 4096:
            return {}
        return dict.fromkeys(_decode_key(key) for key in raw.split(",") if key)

    def admit(self, state: dict[str, None], seen: Sequence[str], new: Sequence[str]) -> list[str]:
        """The leading targets of *new* that fit in the budget beside *seen*."""
        size = sum(len(_encode_key(key)) + 1 for key in seen) - 1
        admitted = []
        for target in new:
            extra = len(_encode_key(target)) + 1
            if size + extra <= self.max_bytes:
                admitted.append(target)
                size += extra
        return admitted

    def state_key(self, state: dict[str, None]) -> None:
        """Session states are not reused: they are read from the session each time."""
        return None

    def save(self, state: dict[str, None], seen: Sequence[str], added: Sequence[str], response: Response) -> None:
        """Move *seen* to the newest end, append *added*, trim, store."""
        if not added:
            return
        fresh = dict.fromkeys([*seen, *added])
        merged = [key for key in state if key not in fresh]
        merged.extend(fresh)
        keys = _trim([_encode_key(key) for key in merged], self.max_bytes)
        session[self.key] = ",".join(keys)

    def get_pushed(self) -> set[str]:
        """The 0.2.3 connector call: the stored targets as a set."""
        return set(self.load() or ())

    def set_pushed(self, inset: set[str]) -> None:
        """The 0.2.3 connector call: store *inset*, keeping the known order."""
        state = self.load()
        if state is None:
            return
        kept = [key for key in state if key in inset]
        added = sorted(key for key in inset if isinstance(key, str) and key not in state)
        session[self.key] = ",".join(_trim([_encode_key(key) for key in kept + added], self.max_bytes))


#: What ``get_pushed()`` usually returns; with only ``str`` items, taken as it is.
_PLAIN_COLLECTIONS: Final = frozenset({set, frozenset, list, tuple})
_ONLY_STR: Final = frozenset({str})


class ConnectorTracker:
    """Adapts a user's :class:`PushConnector` to the :class:`Tracker` calls:
    ``get_pushed()`` once per request, ``set_pushed()`` with the union.

    :param connector: the checked connector (see :func:`check_connector`).
    :param failures: where odd return values are reported.
    """

    #: :meth:`admit` admits every new target (see ``Tracker.name``).
    shares_outcomes = True

    def __init__(self, connector: PushConnector | type[Any], failures: FailurePolicy) -> None:
        self.connector = connector
        self.failures = failures
        label = connector.__qualname__ if isinstance(connector, type) else type(connector).__qualname__
        self.name = f"connector {label}"

    def load(self) -> set[str]:
        """Call ``get_pushed()``; ``bytes`` items are decoded as UTF-8 (as
        redis-py returns them); anything but an iterable of strings is empty."""
        pushed = self.connector.get_pushed()
        if pushed is None:
            return set()
        if type(pushed) in _PLAIN_COLLECTIONS and set(map(type, pushed)) <= _ONLY_STR:
            return set(pushed)  # the usual answer, a set of str: copied as it is
        if isinstance(pushed, (str, bytes, bytearray)) or not isinstance(pushed, Iterable):
            # Raised when strict; when lenient, logged and tracked as empty.
            self.failures.failed(
                f"{self.name} get_pushed()",
                TypeError(f"get_pushed() returned {safe_repr(pushed)}, not a set of URLs; treated as empty"),
            )
            return set()
        found = set()
        junk = None
        for item in pushed:
            if isinstance(item, (bytes, bytearray)):
                try:
                    item = item.decode("utf-8")
                except UnicodeDecodeError:
                    junk = item
                    continue
            if isinstance(item, str):
                found.add(str.__str__(item))
            else:
                junk = item
        if junk is not None:
            self.failures.failed(
                f"{self.name} get_pushed()",
                TypeError(f"get_pushed() returned {safe_repr(junk)} among its URLs; left out"),
            )
        return found

    def admit(self, state: set[str], seen: Sequence[str], new: Sequence[str]) -> Sequence[str]:
        """Every new target: the connector's storage is its own business."""
        return new

    def state_key(self, state: set[str]) -> None:
        """A connector's answer is its own business: never reused."""
        return None

    def save(self, state: set[str], seen: Sequence[str], added: Sequence[str], response: Response) -> None:
        """Call ``set_pushed()`` with everything now pushed."""
        if added:
            self.connector.set_pushed(state.union(added))


def _is_instance_method(cls: type, name: str) -> bool:
    # A plain function in a class becomes a method of its instances; a
    # staticmethod, classmethod, functools.partial or other callable does not.
    return inspect.isfunction(inspect.getattr_static(cls, name, None))


def check_connector(connector: object) -> None:
    """Check a ``Firehose(connector=...)`` argument at ``init_app``.

    :raises ConfigurationError: naming what is missing or how to fix it.
    """
    if connector is None or connector is SessionConnector or isinstance(connector, SessionConnector):
        return
    label = connector.__qualname__ if isinstance(connector, type) else repr(connector)
    for name, args in (("get_pushed", ()), ("set_pushed", (set(),))):
        method = getattr(connector, name, None)
        if not callable(method):
            raise ConfigurationError(
                f"connector {label} has no {name}() method: a connector provides get_pushed() and set_pushed(urls)",
                "connector",
                connector,
            )
        if isinstance(connector, type) and _is_instance_method(connector, name):
            raise ConfigurationError(
                f"connector class {label} defines {name}() as an instance method: pass an instance "
                f"(Firehose(connector={label}())), or make get_pushed() and set_pushed() static methods",
                "connector",
                connector,
            )
        try:
            inspect.signature(method).bind(*args)
        except TypeError as exc:
            raise ConfigurationError(
                f"connector {label}: {name}() cannot be called as {name}({'urls' if args else ''}): {exc}",
                "connector",
                connector,
            ) from None
        except ValueError:  # no signature to read (a builtin): trust it
            pass
