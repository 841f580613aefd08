"""Plain same-origin paths: the one test of whether a path means what it
reads as, shared by the learning policy and the configuration.

RFC 3986 §5.2.4 removes ``.`` and ``..`` segments when a reference is
resolved, and servers differ in how they treat ``//``, ``;`` parameters and
percent-encoded ``/``, ``\\`` or ``.``: a path holding any of them may reach
another file than the one it names. A plain path holds none of them, and
nothing RFC 3986 does not allow in a path (a raw control character, space,
``[``, ``]`` or non-ASCII character: a link target is written percent-encoded).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["is_plain_path"]

# RFC 3986 §3.3 Path: what a path-absolute is made of
#   path-absolute = "/" [ segment-nz *( "/" segment ) ]
#   pchar         = unreserved / pct-encoded / sub-delims / ":" / "@"
_PATH_CHARS: Final = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
# Encoded "/", "\", "." and control characters.
_ENCODED_TRICK: Final = re.compile(r"%(?:2[fFeE]|5[cC]|[01][0-9a-fA-F]|7[fF])")


def is_plain_path(path: str, *, folder: bool = False) -> bool:
    """Whether *path* is ``/`` followed by non-empty segments, none of them
    ``.`` or ``..``, with no query, fragment, ``;`` parameter or encoded
    trick, made only of the characters RFC 3986 allows in a path. A *folder*
    (a prefix) ends with ``/``; a file does not."""
    if not path.startswith("/") or path.startswith("//") or path.endswith("/") is not folder:
        return False
    if ";" in path or not _PATH_CHARS.fullmatch(path) or _ENCODED_TRICK.search(path):
        return False
    segments = path[1:-1].split("/") if folder else path[1:].split("/")
    return all(segment not in ("", ".", "..") for segment in segments)
