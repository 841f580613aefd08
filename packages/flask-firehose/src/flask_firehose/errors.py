"""Exceptions raised for input Flask-Firehose cannot turn into a valid header.

All of them are :class:`ValueError` subclasses that carry the offending value,
so callers can catch the whole family with ``except InvalidLinkError``.
"""

from __future__ import annotations

__all__ = [
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
]


class InvalidLinkError(ValueError):
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
