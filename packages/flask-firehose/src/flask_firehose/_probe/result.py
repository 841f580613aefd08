"""What ``firehose probe`` found on one visit, as plain data: the 103s, the
final response, the pushes and the warnings, with the documented JSON shape
(:meth:`ProbeResult.to_json`). Needs neither ``h2`` nor ``h11``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._parsing import MalformedLinkHeader, ParsedLink, link_json

__all__ = ["EarlyHint", "ProbeResult", "ProbeWarning", "Push"]


@dataclass(frozen=True)
class ProbeWarning:
    """One problem found: a stable ``code`` and a sentence saying what to do."""

    code: str
    message: str


@dataclass(frozen=True)
class EarlyHint:
    """One 103 response: when it arrived and the links it carried."""

    at_ms: float
    links: tuple[ParsedLink, ...]
    malformed: tuple[MalformedLinkHeader, ...] = ()


@dataclass(frozen=True)
class Push:
    """One HTTP/2 push: the promised path, the pushed status (0 when the
    stream never answered) and the body's size."""

    path: str
    status: int
    bytes: int
    complete: bool = True


@dataclass(frozen=True)
class ProbeResult:
    """One visit to the URL, as the client saw it."""

    url: str
    protocol: str
    early_hints: tuple[EarlyHint, ...]
    status: int
    final_at_ms: float
    links: tuple[ParsedLink, ...]
    pushes: tuple[Push, ...]
    warnings: tuple[ProbeWarning, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """The final response's header fields, lower-cased names, in order."""
    malformed: tuple[MalformedLinkHeader, ...] = ()
    """The final response's ``Link`` fields the strict parser rejected."""
    navigation: bool = True
    """Whether the page was asked for as a browser navigation (``--navigate``)."""

    def to_json(self) -> dict[str, Any]:
        """The result in the documented JSON shape."""
        return {
            "url": self.url,
            "protocol": self.protocol,
            "early_hints": [
                {"at_ms": _ms(hint.at_ms), "links": [link_json(link) for link in hint.links]}
                for hint in self.early_hints
            ],
            "status": self.status,
            "final_at_ms": _ms(self.final_at_ms),
            "links": [link_json(link) for link in self.links],
            "pushes": [{"path": push.path, "status": push.status, "bytes": push.bytes} for push in self.pushes],
            "warnings": [{"code": warning.code, "message": warning.message} for warning in self.warnings],
        }


def _ms(value: float) -> float:
    return round(value, 1)
