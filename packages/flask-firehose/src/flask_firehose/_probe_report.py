"""How ``firehose probe`` shows its results: plain text grouped by channel
(the 103s, the final ``Link`` header, HTTP/2 pushes, then warnings), or JSON
in the documented shape.

The text is the same on a terminal and in a pipe; on a terminal the CLI asks
for colour, which only adds styling (:func:`click.unstyle` gives the plain
text back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

import click

from ._parsing import ParsedLink
from ._probe_result import EarlyHint, ProbeResult, Push

__all__ = ["PROTOCOL_NAMES", "render_json", "render_text"]

#: How each protocol is named in the text report.
PROTOCOL_NAMES: Final = {"h2": "HTTP/2 over TLS", "h2c": "HTTP/2 cleartext (h2c)", "http/1.1": "HTTP/1.1"}

Style = Callable[..., str]


def _plain(text: str, **_: Any) -> str:
    return text


def render_json(results: Sequence[ProbeResult], as_list: bool) -> str:
    """One JSON object, or a list of them (one per visit) when *as_list*."""
    found = [result.to_json() for result in results]
    return json.dumps(found if as_list else found[0], indent=2)


def render_text(results: Sequence[ProbeResult], *, color: bool = False) -> str:
    """Every visit, one block each, separated by a blank line."""
    style: Style = click.style if color else _plain
    return "\n\n".join(_visit(result, index, len(results), style) for index, result in enumerate(results, 1))


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _link_line(link: ParsedLink) -> str:
    params = [name if value is None else f"{name}={value}" for name, value in link.params if name != "rel"]
    return "  ".join([f"<{link.target}>", link.get("rel") or "(no rel)", *([" ".join(params)] if params else [])])


def _status(status: int, style: Style) -> str:
    colour = "green" if 200 <= status < 300 else "yellow" if 300 <= status < 400 else "red"
    return style(str(status), fg=colour, bold=True)


def _visit(result: ProbeResult, index: int, total: int, style: Style) -> str:
    title = f"{result.url}  {PROTOCOL_NAMES.get(result.protocol, result.protocol)}"
    if total > 1:
        title += f"  visit {index} of {total}"
    lines = [style(title, bold=True), ""]
    lines += _hints_block(result.early_hints, style)
    lines += ["", *_final_block(result, style)]
    lines += ["", *_push_block(result, style)]
    lines += ["", *_warnings_block(result, style)]
    return "\n".join(lines)


def _hints_block(hints: Sequence[EarlyHint], style: Style) -> list[str]:
    if not hints:
        return [f"{style('103 Early Hints', bold=True)}: none"]
    lines = [f"{style('103 Early Hints', bold=True)}: {len(hints)}"]
    for hint in hints:
        lines.append(f"  at {_ms(hint.at_ms)}: {_plural(len(hint.links), 'link')}")
        lines += [f"    {_link_line(link)}" for link in hint.links]
    return lines


def _final_block(result: ProbeResult, style: Style) -> list[str]:
    lines = [f"{style('Final response', bold=True)}: {_status(result.status, style)} at {_ms(result.final_at_ms)}"]
    lines.append(f"  Link header: {_plural(len(result.links), 'link')}" if result.links else "  Link header: none")
    lines += [f"    {_link_line(link)}" for link in result.links]
    return lines


def _push_line(push: Push, style: Style) -> str:
    status = _status(push.status, style) if push.status else style("no answer", fg="red")
    ending = "" if push.complete else "  " + style("(incomplete)", fg="red")
    return f"    {push.path}  {status}  {push.bytes} bytes{ending}"


def _push_block(result: ProbeResult, style: Style) -> list[str]:
    heading = style("HTTP/2 push", bold=True)
    if result.protocol == "http/1.1":
        return [f"{heading}: not possible over HTTP/1.1"]
    if not result.pushes:
        return [f"{heading}: none"]
    return [f"{heading}: {_plural(len(result.pushes), 'stream')}", *(_push_line(p, style) for p in result.pushes)]


def _warnings_block(result: ProbeResult, style: Style) -> list[str]:
    heading = style("Warnings", bold=True)
    if not result.warnings:
        return [f"{heading}: none"]
    lines = [f"{heading}: {len(result.warnings)}"]
    lines += [f"  {style(warning.code, fg='yellow', bold=True)}: {warning.message}" for warning in result.warnings]
    return lines
