"""How ``firehose probe`` shows its results: plain text grouped by channel
(the 103s, the final ``Link`` header, HTTP/2 pushes, then warnings), or JSON
in the documented shape.

Everything shown came from a server that may be hostile, so the report is
built as lines of pieces and every piece, whatever it holds, goes through
:func:`~flask_firehose._terminal.printable` in one place (:func:`_shown`)
before it is styled: a server's escape sequences are printed, never obeyed.
The JSON goes through :func:`~flask_firehose._terminal.json_text`.

The text is the same on a terminal and in a pipe; on a terminal the CLI asks
for colour, which only adds styling (:func:`click.unstyle` gives the plain
text back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import click

from .._parsing import ParsedLink
from .._terminal import json_text, printable
from .result import EarlyHint, ProbeResult, Push

__all__ = ["PROTOCOL_NAMES", "render_json", "render_text"]

#: How each protocol is named in the text report.
PROTOCOL_NAMES: Final = {"h2": "HTTP/2 over TLS", "h2c": "HTTP/2 cleartext (h2c)", "http/1.1": "HTTP/1.1"}


@dataclass(frozen=True)
class _Styled:
    """A piece of a line shown in colour or bold on a terminal."""

    text: str
    fg: str | None = None
    bold: bool = False


_Piece = str | _Styled
_Line = list[_Piece]


def _shown(line: _Line, color: bool) -> str:
    """One line of the report as printed: each piece escaped, then styled."""
    out = []
    for piece in line:
        if isinstance(piece, _Styled):
            text = printable(piece.text)
            out.append(click.style(text, fg=piece.fg, bold=piece.bold) if color else text)
        else:
            out.append(printable(piece))
    return "".join(out)


def render_json(results: Sequence[ProbeResult], as_list: bool) -> str:
    """One JSON object, or a list of them (one per visit) when *as_list*."""
    found = [result.to_json() for result in results]
    return json_text(found if as_list else found[0])


def render_text(results: Sequence[ProbeResult], *, color: bool = False) -> str:
    """Every visit, one block each, separated by a blank line."""
    blocks = [_visit(result, index, len(results)) for index, result in enumerate(results, 1)]
    return "\n\n".join("\n".join(_shown(line, color) for line in block) for block in blocks)


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _heading(text: str) -> _Styled:
    return _Styled(text, bold=True)


def _link_line(link: ParsedLink) -> _Line:
    params = [name if value is None else f"{name}={value}" for name, value in link.params if name != "rel"]
    line: _Line = ["    <", link.target, ">  ", link.get("rel") or "(no rel)"]
    if params:
        line += ["  ", " ".join(params)]
    return line


def _status(status: int) -> _Styled:
    colour = "green" if 200 <= status < 300 else "yellow" if 300 <= status < 400 else "red"
    return _Styled(str(status), fg=colour, bold=True)


def _visit(result: ProbeResult, index: int, total: int) -> list[_Line]:
    title = f"{result.url}  {PROTOCOL_NAMES.get(result.protocol, result.protocol)}"
    if total > 1:
        title += f"  visit {index} of {total}"
    lines: list[_Line] = [[_heading(title)], []]
    lines += _hints_block(result.early_hints)
    lines += [[], *_final_block(result)]
    lines += [[], *_push_block(result)]
    lines += [[], *_warnings_block(result)]
    return lines


def _hints_block(hints: Sequence[EarlyHint]) -> list[_Line]:
    heading = _heading("103 Early Hints")
    if not hints:
        return [[heading, ": none"]]
    lines: list[_Line] = [[heading, f": {len(hints)}"]]
    for hint in hints:
        lines.append([f"  at {_ms(hint.at_ms)}: {_plural(len(hint.links), 'link')}"])
        lines += [_link_line(link) for link in hint.links]
    return lines


def _final_block(result: ProbeResult) -> list[_Line]:
    lines: list[_Line] = [[_heading("Final response"), ": ", _status(result.status), f" at {_ms(result.final_at_ms)}"]]
    lines.append([f"  Link header: {_plural(len(result.links), 'link')}" if result.links else "  Link header: none"])
    lines += [_link_line(link) for link in result.links]
    return lines


def _push_line(push: Push) -> _Line:
    status = _status(push.status) if push.status else _Styled("no answer", fg="red")
    line: _Line = ["    ", push.path, "  ", status, f"  {push.bytes} bytes"]
    if not push.complete:
        line += ["  ", _Styled("(incomplete)", fg="red")]
    return line


def _push_block(result: ProbeResult) -> list[_Line]:
    heading = _heading("HTTP/2 push")
    if result.protocol == "http/1.1":
        return [[heading, ": not possible over HTTP/1.1"]]
    if not result.pushes:
        return [[heading, ": none"]]
    return [[heading, f": {_plural(len(result.pushes), 'stream')}"], *(_push_line(push) for push in result.pushes)]


def _warnings_block(result: ProbeResult) -> list[_Line]:
    heading = _heading("Warnings")
    if not result.warnings:
        return [[heading, ": none"]]
    lines: list[_Line] = [[heading, f": {len(result.warnings)}"]]
    lines += [
        ["  ", _Styled(warning.code, fg="yellow", bold=True), ": ", warning.message] for warning in result.warnings
    ]
    return lines
