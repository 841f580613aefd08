"""Speculation tags: the ``Sec-Speculation-Tags`` a speculative request carries.

Rules may carry a tag (the whole rule set's, ``FIREHOSE_SPECULATION_TAG``, or
one rule's, ``speculate(..., tag=...)``); Chromium (136+) names the tags of
the rules that led to a speculation in each speculative request, as an RFC
9651 list of sf-strings, with the token ``null`` for a rule without one. So a
view tells this app's speculations from a CDN's or another library's.

The header comes from the client like every header: it saves work, it never
decides who may see what.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["HEADER", "MAX_FIELD", "parse_tags"]

#: The request header (WSGI environ key).
HEADER: Final = "HTTP_SEC_SPECULATION_TAGS"
#: The longest field read; a longer one is ignored.
MAX_FIELD: Final = 1024

# RFC 9651 §3.3.3 sf-string, and the bare token null (no tag); the items of a
# list are separated by "," with optional spaces around it.
_ITEM: Final = re.compile(r'[ \t]*(?:"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"|(null))[ \t]*')
_ESCAPE: Final = re.compile(r'\\(["\\])')


def parse_tags(value: str | None) -> tuple[str | None, ...] | None:
    """The tags in a ``Sec-Speculation-Tags`` value (``None`` standing for an
    untagged rule), or ``None`` when it is absent, too long or not a list of
    strings and ``null``."""
    if value is None or len(value) > MAX_FIELD:
        return None
    found: list[str | None] = []
    position = 0
    while True:
        match = _ITEM.match(value, position)
        if match is None:
            return None
        text = match.group(1)
        found.append(None if text is None else _ESCAPE.sub(r"\1", text))
        position = match.end()
        if position == len(value):
            return tuple(found)
        if value[position] != ",":
            return None
        position += 1
