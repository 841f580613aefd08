"""Remembering what a client was already pushed, so it is not pushed again.

Two interfaces meet here:

* the **connector** protocol users have written against since 0.2.3:
  ``get_pushed() -> set[str]`` and ``set_pushed(set[str])``, given the whole
  set each time; an instance, or a class whose two methods are static or
  class methods, both work (checked by ``init_app``);
* the internal **tracker** protocol the response hook calls once per request:
  :meth:`Tracker.load` returns a container answering ``target in state`` (or
  ``None`` when nothing can be tracked for this request),
  :meth:`Tracker.admit` says which new targets it can record without
  forgetting the ones the page uses, and :meth:`Tracker.save` records them.
  A compact digest only needs to answer membership, so it can slot in here
  without ever producing the full set.

Tracking only ever concerns links a proxy would push: ``nopush`` hints and
cross-origin links are sent every time, since a hint for a file the browser
already has costs it nothing. A pushable link the tracker cannot record goes
out as a ``nopush`` hint: pushing what cannot be remembered would push it
again on every visit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Container, Hashable, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from flask import Request, Response, request, session
from flask.sessions import NullSession

from ._config import CookieSettings, Settings
from ._digest import DigestFormat, PushDigest
from ._failure import FailurePolicy, logger
from ._headers import append_checked, checked_value
from ._links import safe_repr
from ._memo import Memo
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_SESSION_KEY",
    "MAX_COOKIE_VALUES",
    "ConnectorTracker",
    "DigestTracker",
    "PushConnector",
    "SessionConnector",
    "Tracker",
    "check_connector",
    "cookie_value",
    "cookie_values",
    "tracker_for",
]

#: The session key 0.2.3 documented, kept so upgraded apps keep their state.
DEFAULT_SESSION_KEY = "h2-pushed"

#: The most values of the digest cookie one request is read for (a browser
#: sends one per path and domain it was set for).
MAX_COOKIE_VALUES: Final = 8

#: A stored value longer than this many times the budget was not written by
#: Flask-Firehose (0.2.3 state is rarely a tenth of it): it counts as empty.
_OVERSIZE_FACTOR: Final = 16

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

    name: str
    """How the log names this tracker when one of its calls fails."""

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
    """The default tracker: pushed targets in the session, least recently
    used first.

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


#: The current request, read on every request: the proxy's object, once.
_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]


def _value_at(header: str, start: int) -> str:
    end = header.find(";", start)
    value = (header[start:] if end < 0 else header[start:end]).strip(" \t")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def cookie_value(header: str, name: str) -> str | None:
    """The first value of the cookie *name* in a ``Cookie`` header, read
    without parsing the others (RFC 6265 §4.2.1: ``name=value`` pairs joined
    by ``"; "``); surrounding double quotes are dropped, as Werkzeug does.
    Anything else unusual is left for the digest's own check to refuse."""
    prefix = name + "="
    at = header.find(prefix)
    while at >= 0:
        if at == 0 or header[at - 1] in "; \t":
            return _value_at(header, at + len(prefix))
        at = header.find(prefix, at + 1)
    return None


def cookie_values(header: str, name: str, limit: int) -> list[str]:
    """The last *limit* values of the cookie *name* in a ``Cookie`` header,
    in the header's order, read as :func:`cookie_value` reads one.

    The last ones, since a browser lists cookies of longer paths first
    (RFC 6265 §5.4): a cookie of the same name planted for a deeper path
    comes before this app's, and only a few can come after it (one per
    parent domain at a path no longer than this app's). The header is
    searched from its end, so a header holding many copies costs no more
    than *limit* of them.
    """
    prefix = name + "="
    found: list[str] = []
    at = header.rfind(prefix)
    while at >= 0 and len(found) < limit:
        if at == 0 or header[at - 1] in "; \t":
            found.append(_value_at(header, at + len(prefix)))
        at = header.rfind(prefix, 0, at + len(prefix) - 1) if at > 0 else -1
    found.reverse()
    return found


class DigestTracker:
    """The default tracker: a Golomb-coded digest of the pushed URLs in a
    cookie of its own (:mod:`flask_firehose._digest`).

    It needs neither the session nor a secret: the cookie only steers what is
    sent to the client that holds it, as h2o's CASPer does, so a forged or
    stale value costs that client a push or a hint, nothing else. A value that
    does not decode exactly counts as empty. About 10 bits per URL (1 % false
    positives): 100 URLs in ~200 characters, 1,000 in ~1,800; past
    ``FIREHOSE_DIGEST_MAX_BYTES`` the oldest generation is dropped.

    :param cookie: the cookie's name and attributes.
    :param fmt: the digest's false-positive rate and size budget.
    """

    name = "digest tracking"

    def __init__(self, cookie: CookieSettings, fmt: DigestFormat) -> None:
        self.cookie = cookie
        self.format = fmt
        self._empty = PushDigest(fmt)
        # The attributes after the value, written once (RFC 6265 §4.1.1);
        # Max-Age alone, which every current browser honours, needs no clock.
        attributes = [f"Path={cookie.path}"]
        if cookie.domain is not None:
            attributes.append(f"Domain={cookie.domain}")
        if cookie.max_age is not None:
            attributes.append(f"Max-Age={cookie.max_age}")
        if cookie.httponly:
            attributes.append("HttpOnly")
        if cookie.samesite is not None:
            attributes.append(f"SameSite={cookie.samesite}")
        plain = "; " + "; ".join(attributes)
        self._attributes = {False: plain, True: plain + "; Secure"}
        self._added: Memo[tuple[str, tuple[str, ...], bool], str] = Memo(256)
        self._loaded: Memo[str, PushDigest] = Memo(256)
        self._merged: Memo[tuple[str, ...], PushDigest] = Memo(32)

    def load(self) -> PushDigest:
        """The digest the request's cookie holds; empty when it holds none,
        or anything that is not exactly a digest.

        A browser may send the cookie more than once (one for another path,
        one a sibling subdomain set for the parent domain): the last few
        values are read (:func:`cookie_values`, at most
        :data:`MAX_COOKIE_VALUES`, each no longer than a digest), the ones
        that are not digests are left out and the others are merged
        (:meth:`~flask_firehose._digest.PushDigest.merge`), so a stray value,
        junk or a valid digest, cannot hide this app's own: it can only
        claim that a few more files were pushed (they then go out as hints).
        The cookie then written holds the merged digest with the new files.
        """
        header = _current_request().environ.get("HTTP_COOKIE")
        if not header:  # a new visitor: nothing to parse
            return self._empty
        limit = self.format.max_chars  # a longer value is no digest: never kept, not even as a key
        texts = [t for t in cookie_values(header, self.cookie.name, MAX_COOKIE_VALUES) if 0 < len(t) <= limit]
        if len(texts) <= 1:
            return self._decoded(texts[0]) if texts else self._empty
        key = tuple(dict.fromkeys(texts))  # distinct, in order
        if len(key) == 1:
            return self._decoded(key[0])
        merged = self._merged.get(key)
        if merged is None:
            found = [digest for text in key if (digest := self._decoded(text)) is not self._empty]
            merged = PushDigest.merge(found, self.format) if found else self._empty
            self._merged.put(key, merged)
        return merged

    def _decoded(self, text: str) -> PushDigest:
        """The digest *text* encodes, or the empty one."""
        if not text or len(text) > self.format.max_chars:  # longer than any digest: not kept
            return self._empty
        # A client sends the same cookie page after page: its digest is kept
        # for the last few values (a value that does not decode, as empty).
        digest = self._loaded.get(text)
        if digest is None:
            try:
                digest = PushDigest.decode(text, self.format, remember=False)  # kept here
            except ValueError:
                digest = self._empty
            if not digest:
                digest = self._empty
            self._loaded.put(text, digest)
        return digest

    def admit(self, state: PushDigest, seen: Sequence[str], new: Sequence[str]) -> Sequence[str]:
        """Every new target: the digest makes room by itself."""
        return new

    def state_key(self, state: PushDigest) -> str:
        """The digest's own text: two equal cookies answer alike."""
        return state.encode()

    def save(self, state: PushDigest, seen: Sequence[str], added: Sequence[str], response: Response) -> None:
        """Set the cookie to the digest with *added*."""
        if not added:
            return
        secure = self.cookie.secure
        if secure is None:
            secure = _current_request().environ.get("wsgi.url_scheme") == "https"
        append_checked(response.headers, "Set-Cookie", self._set_cookie(state, tuple(added), secure))

    def _set_cookie(self, state: PushDigest, added: tuple[str, ...], secure: bool) -> str:
        """The ``Set-Cookie`` value for *state* with *added*. New visitors of
        a page all start empty and are pushed the same files: the result is
        remembered for the last few (state, files, secure) triples."""
        key = (state.encode(), added, secure)
        header = self._added.get(key)
        if header is None:
            value = state.add(added).encode()
            header = checked_value(f"{self.cookie.name}={value}{self._attributes[secure]}")
            self._added.put(key, header)
        return header


class ConnectorTracker:
    """Adapts a user's :class:`PushConnector` to the :class:`Tracker` calls:
    ``get_pushed()`` once per request, ``set_pushed()`` with the union.

    :param connector: the checked connector (see :func:`check_connector`).
    :param failures: where odd return values are reported.
    """

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


def tracker_for(connector: object, settings: Settings, failures: FailurePolicy) -> Tracker[Any]:
    """The tracker for a ``Firehose(connector=...)`` argument, checked.

    ``None`` gives the :class:`DigestTracker`; the :class:`SessionConnector`
    class itself (0.2.3's default, passed explicitly) gives one bounded by
    ``FIREHOSE_TRACKING_MAX_BYTES``; a :class:`SessionConnector` instance is
    used as it is; anything else with ``get_pushed``/``set_pushed`` is adapted.

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
