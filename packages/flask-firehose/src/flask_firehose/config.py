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
=============================== ======= =====================================================
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DEFAULTS", "Settings"]

DEFAULTS: Final[dict[str, bool | int]] = {
    "FIREHOSE_ENABLED": True,
    "FIREHOSE_TRACKING": True,
    "FIREHOSE_TRACKING_MAX_BYTES": 1024,
    "FIREHOSE_MAX_LINKS": 20,
    "FIREHOSE_MAX_PUSHES": 10,
    "FIREHOSE_MAX_HEADER_BYTES": 2048,
}


def _flag(config: MutableMapping[str, Any], key: str) -> bool:
    value = config.setdefault(key, DEFAULTS[key])
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be True or False, not {value!r}")
    return value


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
        )
