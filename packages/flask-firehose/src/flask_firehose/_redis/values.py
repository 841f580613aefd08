"""What Redis holds, as text: links as JSON of their fields, replies checked.

Stored data is never trusted: links are kept as JSON of their fields (never
pickled) and rebuilt with :class:`~flask_firehose.Link`, which validates
them again.
"""

from __future__ import annotations

import json

from .._links import Link, safe_repr

__all__ = ["link_from_json", "link_to_json", "reply_text"]


def link_to_json(link: Link) -> str:
    """*link* as JSON of its fields (what :class:`Link` is built from)."""
    return json.dumps(
        {
            "target": link.target,
            "rel": link.rel,
            "as": link.as_,
            "crossorigin": link.crossorigin,
            "nopush": link.nopush,
            "params": [list(pair) for pair in link.params],
        },
        separators=(",", ":"),
    )


def link_from_json(text: str | bytes) -> Link:
    """The :class:`Link` stored as *text* by :func:`link_to_json`, validated again.

    :raises ValueError: when *text* is not such JSON, or holds an invalid link
        (:class:`~flask_firehose.InvalidLinkError` is a ``ValueError``).
    """
    try:
        data = json.loads(text)
    except RecursionError:  # nested past the parser's depth: not what link_to_json writes
        raise ValueError("stored link is JSON nested too deep") from None
    if not isinstance(data, dict):
        raise ValueError(f"stored link is not a JSON object: {safe_repr(data)}")
    target = data.get("target")
    if not isinstance(target, str):
        raise ValueError(f"stored link target is not a str: {safe_repr(target)}")
    params = data.get("params", [])
    if not isinstance(params, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in params):
        raise ValueError(f"stored link params are not a list of pairs: {safe_repr(params)}")
    return Link(
        target,  # the other fields are type-checked by Link itself
        data.get("rel", "preload"),
        data.get("as"),
        data.get("crossorigin"),
        data.get("nopush", False),
        tuple((name, value) for name, value in params),
    )


def reply_text(value: object, what: str) -> str | None:
    """A reply that should be a string (or nil): ``None``, the text, or TypeError."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"Redis answered {what} with {safe_repr(value)}, not a string or nil")
