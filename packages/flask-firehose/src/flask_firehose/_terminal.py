"""What the command-line tools print: text that came from elsewhere (a
server's headers, a callable's error) is shown, never obeyed by the terminal.

:func:`printable` is the one place where such text is made safe to print:
every character a terminal could act on is written as a Python-style escape
(``\\x1b``, ``\\x9b``, ``\\u202e``). That covers the C0 controls (tab and
newline included, so one field stays on one line), DEL, the C1 controls
(``\\x9b`` is a one-byte CSI to some terminals), the Unicode bidirectional
controls that reorder what a reader sees (CVE-2021-42574, "Trojan Source"),
the line and paragraph separators, and lone surrogates (which cannot be
written to a UTF-8 stream at all). :func:`json_text` is its JSON twin.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["json_text", "printable"]

#: Characters never written raw: C0, DEL, C1; ALM, LRM, RLM; the line and
#: paragraph separators; the bidi embeddings and overrides (LRE, RLE, PDF,
#: LRO, RLO) and isolates (LRI, RLI, FSI, PDI); lone surrogates.
UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """*text* with every character a terminal could act on escaped; the rest,
    non-ASCII letters included, as it was."""
    return UNSAFE.sub(_escape, text)


def json_text(value: Any) -> str:
    """*value* as indented JSON that is safe on a terminal: ``json.dumps``
    escapes controls and non-ASCII already; DEL, which it leaves raw, too."""
    return json.dumps(value, indent=2).replace("\x7f", "\\u007f")
