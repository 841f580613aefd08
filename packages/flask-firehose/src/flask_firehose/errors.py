"""Exceptions and warnings Flask-Firehose raises.

* :class:`InvalidLinkError` and its subclasses: input that cannot become a
  valid header. They are :class:`ValueError` subclasses that carry the
  offending value, so ``except InvalidLinkError`` catches the whole family.
* :class:`ConfigurationError`: a bad ``FIREHOSE_*`` value, a connector or a
  hint store that breaks its contract; raised by ``init_app``. Its subclass
  :class:`ManifestError`: a build manifest that cannot be read or used.
* :class:`FirehoseWarning`: set-up problems that do not stop the app (an
  unknown ``FIREHOSE_*`` key, tracking without a ``SECRET_KEY``).

All of them derive from :class:`FirehoseError`, so ``except FirehoseError``
catches anything Flask-Firehose raises on purpose.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "FirehoseError",
    "FirehoseWarning",
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
    "ManifestError",
]


class FirehoseError(Exception):
    """The base of every exception Flask-Firehose raises on purpose."""


class InvalidLinkError(FirehoseError, ValueError):
    """A ``push()`` call asked for a link that cannot be written safely.

    :param message: what is wrong, quoting the value.
    :param value: the offending value, as given.
    """

    def __init__(self, message: str, value: object) -> None:
        super().__init__(message)
        self.value = value


class InvalidURLError(InvalidLinkError):
    """The URL is empty, holds characters no URL may hold, or uses a scheme
    other than ``http``/``https``."""


class InvalidAttributeError(InvalidLinkError):
    """A link attribute has a name that is not an RFC 9110 token, or a value
    that is not printable ASCII, or a type that is not ``str``/``bool``/``int``.

    :param name: the attribute's name.
    """

    def __init__(self, message: str, value: object, name: str) -> None:
        super().__init__(message, value)
        self.name = name


class InvalidAsError(InvalidAttributeError):
    """The ``as`` value is not a destination browsers accept for a preload
    (``stylesheet``, ``img`` and ``link`` are the usual mistakes)."""

    def __init__(self, message: str, value: object) -> None:
        super().__init__(message, value, "as")


class ConfigurationError(FirehoseError, TypeError, ValueError):
    """A ``FIREHOSE_*`` value, connector or hint store that Flask-Firehose
    cannot use, found by ``init_app``. Both a :class:`TypeError` and a
    :class:`ValueError`, so code written for either keeps catching it.

    :param key: the config key or argument at fault (``"FIREHOSE_MAX_LINKS"``,
        ``"connector"``).
    :param value: the offending value.
    """

    def __init__(self, message: str, key: str, value: object) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


class ManifestError(ConfigurationError):
    """A build manifest (Vite's, webpack's) that cannot be read or used, or a
    name it does not hold: a missing or malformed file, a file value that is
    not a plain relative path, an unknown entry.

    :param message: what is wrong, quoting the value.
    :param value: the offending value (an entry name, a file value, ...).
    :param path: the manifest file.
    """

    def __init__(self, message: str, value: object, path: str) -> None:
        super().__init__(message, "manifest", value)
        self.path = path


class FirehoseWarning(UserWarning):
    """A set-up problem Flask-Firehose works around: an unknown
    ``FIREHOSE_*`` key (probably a typo), or tracking in an app whose
    session cannot be written."""
