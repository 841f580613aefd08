"""The ``FIREHOSE_*`` configuration keys, their defaults, read once per app.

=============================== ======= =====================================================
Key                             Default Meaning
=============================== ======= =====================================================
``FIREHOSE_ENABLED``            True    Off switch: when False no header is written and
                                        nothing is tracked (``push()`` still validates).
``FIREHOSE_TRACKING``           True    Remember pushed targets per client and send them
                                        as ``nopush`` hints afterwards.
``FIREHOSE_TRACKING_MAX_BYTES`` 1024    Most characters the session tracker may store.
``FIREHOSE_MAX_LINKS``          20      Most links in the ``Link`` field Firehose adds.
``FIREHOSE_MAX_PUSHES``         10      Most pushable links per response; the rest go as
                                        ``nopush`` (nginx pushes at most 10 at a time).
``FIREHOSE_MAX_HEADER_BYTES``   2048    Most bytes of ``Link`` per response, the view's own
                                        included. Half of nginx's 4 KB ``proxy_buffer_size``.
``FIREHOSE_EARLY_HINTS``        True    Send one 103 before the view, where the server can.
``FIREHOSE_EARLY_HINTS_HTTP1``  False   Also send it to HTTP/1.1 clients (turn on behind a
                                        proxy that forwards 103s: Apache, nginx >= 1.29).
``FIREHOSE_LEARN``              True    Learn each endpoint's hints from its responses.
``FIREHOSE_LEARN_PREFIXES``     None    Path prefixes that may be learned; None: the app's
                                        and blueprints' static URL paths.
``FIREHOSE_LEARN_MIN_SEEN``     2       Responses a link must appear in before it is learned.
``FIREHOSE_LINT``               None    Log development warnings; None: when ``app.debug``.
=============================== ======= =====================================================
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DEFAULTS", "Settings"]

DEFAULTS: Final[dict[str, object]] = {
    "FIREHOSE_ENABLED": True,
    "FIREHOSE_TRACKING": True,
    "FIREHOSE_TRACKING_MAX_BYTES": 1024,
    "FIREHOSE_MAX_LINKS": 20,
    "FIREHOSE_MAX_PUSHES": 10,
    "FIREHOSE_MAX_HEADER_BYTES": 2048,
    "FIREHOSE_EARLY_HINTS": True,
    "FIREHOSE_EARLY_HINTS_HTTP1": False,
    "FIREHOSE_LEARN": True,
    "FIREHOSE_LEARN_PREFIXES": None,
    "FIREHOSE_LEARN_MIN_SEEN": 2,
    "FIREHOSE_LINT": None,
}


def _flag(config: MutableMapping[str, Any], key: str) -> bool:
    value = config.setdefault(key, DEFAULTS[key])
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be True or False, not {value!r}")
    return value


def _optional_flag(config: MutableMapping[str, Any], key: str) -> bool | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{key} must be True, False or None, not {value!r}")
    return value


def _prefixes(config: MutableMapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(p, str) and p.startswith("/") for p in value):
        raise ValueError(f"{key} must be a list of paths starting with '/', not {value!r}")
    return tuple(value)


def _count(config: MutableMapping[str, Any], key: str, minimum: int) -> int:
    value = config.setdefault(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an int >= {minimum}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration of one app, validated."""

    enabled: bool
    tracking: bool
    tracking_max_bytes: int
    max_links: int
    max_pushes: int
    max_header_bytes: int
    early_hints: bool
    early_hints_http1: bool
    learn: bool
    learn_prefixes: tuple[str, ...] | None
    learn_min_seen: int
    lint: bool | None

    @classmethod
    def from_config(cls, config: MutableMapping[str, Any]) -> Settings:
        """Read every key, writing its default into *config* when missing.

        :raises TypeError: a flag that is not a bool.
        :raises ValueError: a count that is not a big enough int.
        """
        return cls(
            enabled=_flag(config, "FIREHOSE_ENABLED"),
            tracking=_flag(config, "FIREHOSE_TRACKING"),
            tracking_max_bytes=_count(config, "FIREHOSE_TRACKING_MAX_BYTES", 0),
            max_links=_count(config, "FIREHOSE_MAX_LINKS", 0),
            max_pushes=_count(config, "FIREHOSE_MAX_PUSHES", 0),
            max_header_bytes=_count(config, "FIREHOSE_MAX_HEADER_BYTES", 0),
            early_hints=_flag(config, "FIREHOSE_EARLY_HINTS"),
            early_hints_http1=_flag(config, "FIREHOSE_EARLY_HINTS_HTTP1"),
            learn=_flag(config, "FIREHOSE_LEARN"),
            learn_prefixes=_prefixes(config, "FIREHOSE_LEARN_PREFIXES"),
            learn_min_seen=_count(config, "FIREHOSE_LEARN_MIN_SEEN", 1),
            lint=_optional_flag(config, "FIREHOSE_LINT"),
        )
