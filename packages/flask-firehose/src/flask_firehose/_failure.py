"""The failure policy: a hint is an optimisation, so a failure around one
never changes the page.

Every call Flask-Firehose makes into user code or a backend (a connector, a
hint store, a declared callable, the server's 103 callback, the lint) goes
through :meth:`FailurePolicy.call`. What happens when the call raises depends
on whether the app is *strict*:

* **strict** (``app.debug`` or ``app.testing``, or ``FIREHOSE_STRICT = True``):
  the exception propagates, so a developer sees it at once;
* **lenient** (production, or ``FIREHOSE_STRICT = False``): the part of
  Flask-Firehose's work that failed is skipped, the response is what it would
  be without that part, and one log record on the ``flask_firehose`` logger
  carries the exception. Repeats of the same failure at the same place are
  counted, not logged, for :attr:`FailurePolicy.interval` seconds.

Invalid arguments to ``push()`` follow the same rule through
:meth:`FailurePolicy.invalid_push`: the :class:`~flask_firehose.InvalidLinkError`
in strict mode, a dropped link and a warning naming the call otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Final, TypeVar

from flask import current_app

from .errors import InvalidLinkError

__all__ = ["FailurePolicy", "logger"]

logger = logging.getLogger("flask_firehose")

T = TypeVar("T")

#: Distinct failure places remembered for rate limiting; past it the oldest go.
_MAX_KEYS: Final = 256


class FailurePolicy:
    """Decides, once per failure, whether to raise or to log and go on.

    :param strict: ``True`` raises, ``False`` logs; ``None`` (the default)
        raises when the current app is in debug or testing mode, read at the
        moment of the failure (``app.run(debug=True)`` sets debug late).
    :param interval: seconds during which repeats of one failure are counted
        instead of logged.
    :param clock: the monotonic clock, replaceable in tests.
    """

    def __init__(
        self, strict: bool | None = None, interval: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.strict = strict
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (time of the last record, repeats not logged since)
        self._last: dict[Hashable, tuple[float, int]] = {}

    def is_strict(self) -> bool:
        """Whether a failure now should raise."""
        if self.strict is not None:
            return self.strict
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return bool(app.debug or app.testing)

    def call(self, what: str, default: T, func: Callable[..., T], *args: Any) -> T:
        """Return ``func(*args)``; if it raises, apply the policy and return
        *default* (lenient) or re-raise (strict).

        :param what: the call, as a reader of the log would name it
            (``"connector get_pushed()"``).
        """
        try:
            return func(*args)
        except Exception as exc:
            self.failed(what, exc)
            return default

    def failed(self, what: str, exc: Exception) -> None:
        """Report *exc*, raised by *what*: re-raise it when strict, else log
        one record (rate-limited) and return."""
        if self.is_strict():
            raise exc
        suppressed = self._admit((what, type(exc)))
        if suppressed is not None:
            logger.error(
                "%s failed; the response goes on without it%s",
                what,
                f" ({suppressed} more since the last report)" if suppressed else "",
                exc_info=exc,
            )

    def invalid_push(self, call: str, exc: InvalidLinkError, where: str | None) -> None:
        """Report an invalid ``push()``: raise *exc* when strict, else log a
        warning naming *call* and let the link be dropped. Repeats are counted
        per endpoint *where* and error type, not per URL: a URL built from
        user input must not be a way to flood the log."""
        if self.is_strict():
            raise exc
        suppressed = self._admit(("push", where, type(exc)))
        if suppressed is not None:
            logger.warning(
                "%s dropped: %s%s", call, exc, f" ({suppressed} more since the last report)" if suppressed else ""
            )

    def warn_once_in_a_while(self, key: Hashable, message: str, *args: object) -> None:
        """Log a warning that is not an exception, rate-limited by *key*."""
        suppressed = self._admit(key)
        if suppressed is not None:
            logger.warning(message, *args)

    def _admit(self, key: Hashable) -> int | None:
        """``None`` when *key* was reported less than :attr:`interval` ago
        (the repeat is counted); else the count of repeats not reported."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last[0] < self.interval:
                self._last[key] = (last[0], last[1] + 1)
                return None
            if last is None and len(self._last) >= _MAX_KEYS:
                del self._last[next(iter(self._last))]
            self._last[key] = (now, 0)
            return last[1] if last is not None else 0
