"""A strict parser for ``Link`` header values (RFC 8288 §3).

Flask-Firehose never parses its own output at run time; this module exists so
tests, :mod:`flask_firehose.testing` and users can check what went over the
wire against the grammar in :mod:`flask_firehose._grammar`, and fail loudly on
anything malformed instead of guessing as lenient parsers do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import _grammar as grammar

__all__ = ["MalformedLinkHeader", "ParsedLink", "link_json", "parse_link_header", "parse_link_headers"]


class MalformedLinkHeader(ValueError):
    """The value is not a ``#link-value`` list; ``position`` is where it broke."""

    def __init__(self, value: str, position: int) -> None:
        super().__init__(f"malformed Link header at {position}: {value!r}")
        self.value = value
        self.position = position


@dataclass(frozen=True)
class ParsedLink:
    """A link as read from the wire: target and parameters in order.

    Parameter names are lower-cased (RFC 8288 §3: they are case-insensitive);
    a bare parameter has the value ``None``; quoted values are unescaped.
    """

    target: str
    params: tuple[tuple[str, str | None], ...]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of parameter *name* (``None`` for a bare one)."""
        for key, value in self.params:
            if key == name:
                return value
        return default

    def has(self, name: str) -> bool:
        """Whether parameter *name* is present, bare or with a value."""
        return any(key == name for key, _ in self.params)

    @property
    def rels(self) -> frozenset[str]:
        """The relation types of ``rel``, lower-cased."""
        return frozenset((self.get("rel") or "").lower().split())


def parse_link_header(value: str) -> list[ParsedLink]:
    """Parse one ``Link`` field value into its links.

    :raises MalformedLinkHeader: on anything the RFC 8288 grammar rejects,
        a trailing or empty list element included.
    """
    links: list[ParsedLink] = []
    pos = grammar.OWS.match(value, 0).end()  # type: ignore[union-attr]
    while True:
        m = grammar.LINK_VALUE.match(value, pos)
        if not m:
            raise MalformedLinkHeader(value, pos)
        target, pos = m.group("target"), m.end()
        params: list[tuple[str, str | None]] = []
        while p := grammar.LINK_PARAM.match(value, pos):
            raw = p.group("value")
            if raw is not None and raw.startswith('"'):
                raw = grammar.QUOTED_PAIR.sub(r"\1", raw[1:-1])
            params.append((p.group("name").lower(), raw))
            pos = p.end()
        links.append(ParsedLink(target, tuple(params)))
        pos = grammar.OWS.match(value, pos).end()  # type: ignore[union-attr]
        if pos == len(value):
            return links
        comma = grammar.LIST_DELIMITER.match(value, pos)
        if not comma or comma.end() == len(value):
            raise MalformedLinkHeader(value, pos)
        pos = comma.end()


def parse_link_headers(values: Iterable[str]) -> list[ParsedLink]:
    """Parse several ``Link`` fields (one response may carry many)."""
    return [link for value in values for link in parse_link_header(value)]


def link_json(link: ParsedLink) -> dict[str, Any]:
    """``{"target", "rel", "params"}`` for one link (``params`` holds every
    parameter but ``rel``, the first of each name, ``None`` for a bare one)."""
    params: dict[str, str | None] = {}
    for name, value in link.params:
        if name != "rel":
            params.setdefault(name, value)
    return {"target": link.target, "rel": link.get("rel"), "params": params}
