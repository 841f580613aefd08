"""Appending header fields whose values Firehose built and checked itself.

Werkzeug checks every value added to a response for CR and LF, with a regular
expression over the whole value: about 2 us for a 600-byte ``Link`` field, on
every response. Firehose's values (a ``Link`` field of :class:`~flask_firehose.Link`
texts, the digest cookie) are checked when they are made, and made once per
distinct outcome (they are remembered): :func:`append_checked` then appends
them as they are. A value that was not checked never comes here.
"""

from __future__ import annotations

from werkzeug.datastructures import Headers

__all__ = ["append_checked", "checked_value"]


def checked_value(value: str) -> str:
    """*value*, once it is known to hold no CR, LF or NUL (RFC 9110 §5.5:
    they may not appear in a field value).

    :raises ValueError: naming the value, if it holds one.
    """
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"header value holds CR, LF or NUL: {value[:80]!r}")
    return value


def append_checked(headers: Headers, name: str, value: str) -> None:
    """Append the field *name*: *value* (a value :func:`checked_value`
    passed) to *headers*, as ``headers.add`` does without checking it again.
    Headers of another kind, subclasses included (their ``add`` may do more), get ``add``."""
    items = getattr(headers, "_list", None)
    if type(headers) is Headers and type(items) is list:
        items.append((name, value))
    else:
        headers.add(name, value)
