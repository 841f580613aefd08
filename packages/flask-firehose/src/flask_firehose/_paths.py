"""Plain same-origin paths: the one test of whether a path means what it
reads as, shared by the learning policy and the configuration.

RFC 3986 §5.2.4 removes ``.`` and ``..`` segments when a reference is
resolved, and servers differ in how they treat ``//``, ``;`` parameters and
percent-encoded ``/``, ``\\`` or ``.``: a path holding any of them may reach
another file than the one it names. A plain path holds none of them.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["is_plain_path"]

# Encoded "/", "\", "." and control characters.
_ENCODED_TRICK: Final = re.compile(r"%(?:2[fFeE]|5[cC]|[01][0-9a-fA-F]|7[fF])")


def is_plain_path(path: str, *, folder: bool = False) -> bool:
    """Whether *path* is ``/`` followed by non-empty segments, none of them
    ``.`` or ``..``, with no query, fragment, ``;`` parameter or encoded
    trick. A *folder* (a prefix) ends with ``/``; a file does not."""
    if not path.startswith("/") or path.startswith("//") or path.endswith("/") is not folder:
        return False
    if "?" in path or "#" in path or ";" in path or "\\" in path or _ENCODED_TRICK.search(path):
        return False
    segments = path[1:-1].split("/") if folder else path[1:].split("/")
    return all(segment not in ("", ".", "..") for segment in segments)
