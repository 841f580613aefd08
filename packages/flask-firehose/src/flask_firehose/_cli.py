"""Command-line tools: ``firehose probe URL`` (a console script) and the
``flask firehose`` group (``probe`` and ``routes``).

``probe`` needs ``h2`` and ``h11`` (the ``probe`` extra); without them the
command says ``pip install h2 h11`` (right however Firehose was installed:
naming the extra would fetch an old release from the package index into an
install made from a checkout) and exits 2. What the probe prints of a
server's answer, its error messages included, is escaped for the terminal. ``routes`` lists, for each
endpoint of the app, the hints it declares (app-wide, per blueprint, on the
view) and those its hint store learned, the way ``flask routes`` lists rules;
when nothing was learned, a first line says what learning needs.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import _grammar as grammar
from ._links import safe_repr
from ._routes import endpoint_hints, routes_json, routes_table
from ._state import state_of
from ._terminal import printable
from ._version import __version__

if TYPE_CHECKING:
    from ._probe.result import ProbeResult

__all__ = [
    "exit_status",
    "flask_group",
    "main",
    "probe_command",
    "routes_command",
]

T = TypeVar("T")

#: Exit statuses of ``probe``: clean, warnings, could not probe.
EXIT_CLEAN: Final = 0
EXIT_WARNINGS: Final = 1
EXIT_FAILED: Final = 2
#: What the probe needs, as a command right for any install (a checkout included).
INSTALL_PROBE: Final = "pip install h2 h11"
#: The distributions behind ``h2`` and ``h11``, whose absence that command mends.
_PROBE_IMPORTS: Final = frozenset({"h2", "h11", "hpack", "hyperframe"})
#: Pseudo-headers and connection-specific fields cannot be sent with -H.
_REFUSED_HEADERS: Final = frozenset(
    {"connection", "content-length", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)


# -- firehose probe -------------------------------------------------------------------


def _header(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``-H NAME:VALUE`` options as (name, value) pairs, checked against the grammar."""
    pairs = []
    for item in values:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not grammar.TOKEN.fullmatch(name):
            raise click.BadParameter(f"{item!r} is not NAME:VALUE with NAME a header name")
        if not grammar.TEXT.fullmatch(value):
            raise click.BadParameter(f"the value of {name} holds a character a header may not hold")
        if name.lower() in _REFUSED_HEADERS:
            raise click.BadParameter(f"{name} is connection-specific: the probe manages the connection")
        pairs.append((name.lower(), value))
    return tuple(pairs)


def _url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """The URL to probe: no character a URL may not hold (space, controls,
    quotes), an http(s) scheme and a host."""
    if grammar.URI_FORBIDDEN.search(value):
        raise click.BadParameter(f"{safe_repr(value, 120)} holds a character no URL may hold")
    from ._probe.transport import Endpoint  # no h2 needed to check an option

    try:
        Endpoint.of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _cookie(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A ``Cookie`` value: visible ASCII, spaces and tabs only (no CR/LF)."""
    if value is not None and not grammar.TEXT.fullmatch(value):
        raise click.BadParameter("the cookie holds a character a header may not hold")
    return value


def _timeout(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    """Seconds: a finite number above 0, at most a day."""
    if not math.isfinite(value) or not 0 < value <= 86400:
        raise click.BadParameter(f"{value!r} is not a number of seconds above 0 and at most 86400")
    return value


@click.command("probe")
@click.argument("url", callback=_url)
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="Trust the CA certificates in FILE.")
@click.option("-k", "--insecure", is_flag=True, help="Do not check the server's certificate.")
@click.option("--timeout", type=float, callback=_timeout, default=10.0, show_default=True, help="Seconds per visit.")
@click.option("-H", "--header", "headers", multiple=True, callback=_header, help="Send NAME:VALUE (repeatable).")
@click.option(
    "--cookie", callback=_cookie, help="Send this Cookie header on the first visit ('name=value; other=value')."
)
@click.option("--http1", "protocol", flag_value="http1", help="Speak HTTP/1.1 only.")
@click.option(
    "--http2", "protocol", flag_value="http2", help="Speak HTTP/2 only (cleartext with prior knowledge for http://)."
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 50),
    default=1,
    show_default=True,
    help="Visits in one cookie jar: what the server sets on one goes with the next.",
)
@click.option("--navigate/--no-navigate", default=True, show_default=True, help="Ask as a browser navigation.")
@click.option(
    "--check-files/--no-check-files",
    default=True,
    show_default=True,
    help="Ask for the hinted same-origin files (HEAD) to check their caching.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list with --repeat above 1).")
def probe_command(
    url: str,
    cacert: str | None,
    insecure: bool,
    timeout: float,
    headers: tuple[tuple[str, str], ...],
    cookie: str | None,
    protocol: str | None,
    repeat: int,
    navigate: bool,
    check_files: bool,
    as_json: bool,
) -> None:
    """See what URL really sends: 103 Early Hints, the final Link header,
    HTTP/2 pushes, and what browsers and proxies will not use.

    Exits 0 when clean, 1 with warnings, 2 when it could not probe.
    """
    ctx = click.get_current_context()
    try:
        from ._probe import report, run
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _PROBE_IMPORTS:
            raise
        click.echo(f"firehose probe needs h2 and h11 ({missing} is missing): {INSTALL_PROBE}", err=True)
        ctx.exit(EXIT_FAILED)
    options = run.ProbeOptions(
        protocol="http1" if protocol == "http1" else "http2" if protocol == "http2" else "auto",
        cacert=cacert,
        insecure=insecure,
        timeout=timeout,
        headers=headers,
        cookie=cookie,
        navigate=navigate,
        check_files=check_files,
    )
    if not as_json and _is_terminal(sys.stderr):
        click.echo(f"Probing {printable(url)} ...", err=True)
    try:
        results = run.probe_visits(url, options, repeat)
    except run.ProbeError as exc:
        click.echo(printable(f"firehose probe: {url}: {exc.message}"), err=True)
        ctx.exit(EXIT_FAILED)
    except ValueError as exc:  # something in the answer no check foresaw: still one line
        click.echo(printable(f"firehose probe: {url}: could not read the answer: {safe_repr(str(exc), 200)}"), err=True)
        ctx.exit(EXIT_FAILED)
    if as_json:
        click.echo(report.render_json(results, as_list=repeat > 1))
    else:
        click.echo(report.render_text(results, color=_is_terminal(sys.stdout)))
    ctx.exit(exit_status(results))


def exit_status(results: Sequence[ProbeResult]) -> int:
    """1 when any visit has a warning, else 0."""
    return EXIT_WARNINGS if any(result.warnings for result in results) else EXIT_CLEAN


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@click.command("routes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def routes_command(as_json: bool) -> None:
    """Show each endpoint's hints: declared (app-wide, blueprint, view) and
    learned, or why none is learned (learning needs a server that sends 103s)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = state_of(app)
    if state is None:
        click.echo(
            printable(f"Flask-Firehose is not initialised on app {app.name!r}: call Firehose(app) first."), err=True
        )
        click.get_current_context().exit(1)
    report = endpoint_hints(app, state)
    click.echo(routes_json(report) if as_json else routes_table(report))


# -- the groups ------------------------------------------------------------------------


@click.group("firehose")
@click.version_option(__version__, prog_name="Flask-Firehose")
def main() -> None:
    """Flask-Firehose's tools."""


main.add_command(probe_command)

#: ``flask firehose``: the ``flask.commands`` entry point.
flask_group = AppGroup("firehose", help="Flask-Firehose: probe a deployment, list each route's hints.")
flask_group.add_command(probe_command)
flask_group.add_command(routes_command)
