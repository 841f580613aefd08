"""``flask firehose routes``: each endpoint's hints, gathered and rendered.

For every endpoint of the app: the hints it declares (app-wide, per blueprint,
on the view; callables called inside a request context for one of its URLs,
reading at most as many entries as a page takes, so that a failing one, an
endless one or a hostile one is one line of the table and not a traceback)
and the hints its store learned, per site; then a table in the manner of
``flask routes``, one line per hint, or JSON with links in the shape
``firehose probe`` prints. Every cell is escaped for the terminal
(:func:`~flask_firehose._terminal.printable`).

When learning is on and nothing was learned, the report says why it may be
so (:func:`nothing_learned`): this command runs apart from the server, so it
cannot know whether the server sends 103s; it says what learning needs, and
whether this process can see what a server learned at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from flask import Flask

from ._declared import HintSpec, call_declared
from ._hint_store import MemoryHintStore
from ._links import Link, link_from_push, safe_repr
from ._parsing import link_json, parse_link_header
from ._requests import is_static_endpoint
from ._speculation.delivery import ENDPOINT as SPECULATION_ENDPOINT
from ._state import AppState
from ._terminal import json_text, printable

__all__ = [
    "EndpointHints",
    "HintRow",
    "RoutesReport",
    "describe_failure",
    "endpoint_hints",
    "nothing_learned",
    "routes_json",
    "routes_table",
]

T = TypeVar("T")

#: A failure's description is cut to this many characters.
MAX_ERROR_CHARS: Final = 300


@dataclass(frozen=True)
class HintRow:
    """One hint of an endpoint: where it comes from and the link it makes.

    :param origin: ``app``, ``blueprint``, ``view`` (declared) or ``learned``.
    :param blueprint: the blueprint's name, for ``blueprint``.
    :param source: what was declared (a URL, a Link, a callable's name).
    :param link: the link, or ``None`` when making it failed.
    :param error: why it failed.
    :param note: why there is no link although nothing failed (entries past
        what a page takes).
    :param site: for ``learned``, the site it was learned on.
    """

    origin: str
    blueprint: str | None
    source: str
    link: Link | None = None
    error: str | None = None
    note: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class EndpointHints:
    """An endpoint, its rules and every hint it gets before its view runs."""

    endpoint: str
    rules: tuple[str, ...]
    methods: tuple[str, ...]
    static: bool
    declared: tuple[HintRow, ...]
    learned: tuple[HintRow, ...] | None
    """``None`` when learning is off; rows grouped by site."""


def _spec_name(spec: HintSpec) -> str:
    """How a declaration is named in the listing; never raises (the object may be hostile)."""
    try:
        if isinstance(spec, str):
            return spec
        if isinstance(spec, Link):
            return f"Link({spec.target!r})"
        name = getattr(spec, "__qualname__", None)
        return f"{name}()" if isinstance(name, str) else safe_repr(spec)
    except Exception:
        return f"<{type(spec).__name__} object>"


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` for *exc*, clipped; never raises, even for an
    exception whose ``__str__`` does. One that is not an :class:`Exception`
    is said to escape the failure policy: at run time it fails the request
    instead of dropping the hint."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message cannot be read)"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 3] + "..."
    if not isinstance(exc, Exception):
        text += " (not an Exception: at run time it escapes the failure policy and fails the page)"
    return text


def _guarded(func: Callable[[], T]) -> tuple[T | None, str | None]:
    """``func()``, or the failure it raised, described. Whatever user code
    raises is caught, ``BaseException`` subclasses (``SystemExit``,
    ``GeneratorExit``...) included, except :class:`KeyboardInterrupt`: the
    user's Ctrl-C still stops the listing."""
    try:
        return func(), None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return None, describe_failure(exc)


def _resolved(spec: HintSpec, room: int) -> tuple[list[Link], bool]:
    if isinstance(spec, Link):
        return [spec], False
    if isinstance(spec, str):
        return [link_from_push(spec)], False
    return call_declared(spec, room)


def _rows_of(origin: str, blueprint: str | None, spec: HintSpec, room: int) -> list[HintRow]:
    """The rows of one declaration, when the page takes *room* more declared links."""
    name = _spec_name(spec)
    if room <= 0:
        return [HintRow(origin, blueprint, name, note="not used: the page already has all the declared links it takes")]
    found, error = _guarded(lambda: _resolved(spec, room))
    if found is None:
        return [HintRow(origin, blueprint, name, error=error or "failed")]
    links, more = found
    rows = [HintRow(origin, blueprint, name, link) for link in links]
    if more:
        rows.append(HintRow(origin, blueprint, name, note=f"more entries, not read: the page takes {room} more"))
    return rows


def _sample_path(app: Flask, endpoint: str, rule_text: str, arguments: Sequence[str]) -> str:
    """A URL of the rule to stand in a request context: ``1`` for each argument."""
    if not arguments:
        return rule_text
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.build(endpoint, dict.fromkeys(arguments, "1"), method="GET")
    except Exception:
        return rule_text.split("<", 1)[0] or "/"


def _declared_rows(state: AppState, app: Flask, endpoint: str, path: str) -> tuple[HintRow, ...]:
    """Each declaration resolved in a request context for the route, as a
    browser's navigation, counting links as the request hook does."""
    navigation = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
    limit = state.declared_limit
    rows: list[HintRow] = []
    with app.test_request_context(path, headers=navigation):
        for origin, blueprint, specs in state.hints.groups(app, endpoint):
            for spec in specs:
                taken = sum(row.link is not None for row in rows)
                rows.extend(_rows_of(origin, blueprint, spec, limit - taken))
    return tuple(rows)


class _StoreFailed(Exception):
    """The hint store could not be read: no endpoint's learned hints can be shown."""


def _learned_rows(state: AppState, app: Flask, endpoint: str) -> tuple[HintRow, ...] | None:
    """What the hint store learned for *endpoint*, grouped by site (sites in
    order; on each, the links a 103 would carry, then what was left out and
    why). ``None`` when learning is off.

    :raises _StoreFailed: when reading the store failed.
    :raises _StoreUnlisted: when the store cannot list its keys.
    """
    learner = state.learner
    if learner is None:
        return None
    refused: list[tuple[str, str]] = []
    found, error = _guarded(lambda: learner.learned_by_site(app, endpoint, refused))
    if error is not None:
        raise _StoreFailed(error)
    if found is None:
        raise _StoreUnlisted
    reasons: dict[str, list[str]] = {}
    for site, reason in refused:  # grouped once: a store may list many sites
        reasons.setdefault(site, []).append(reason)
    rows = []
    for site in sorted({*found, *reasons}):
        rows += [HintRow("learned", None, "hint store", link, site=site) for link in found.get(site, ())]
        rows += [
            HintRow("learned", None, "hint store", note=f"left out: {reason}", site=site)
            for reason in reasons.get(site, ())
        ]
    return tuple(rows)


class _StoreUnlisted(Exception):
    """The hint store has no ``endpoints()``: what it learned cannot be listed."""


@dataclass(frozen=True)
class RoutesReport:
    """Every endpoint of an app with its hints, and the state of learning."""

    app: str
    enabled: bool
    learning: str
    """``on``, ``off``, ``failed`` (the store could not be read: :attr:`store_error`),
    or ``unlisted`` (the store has no ``endpoints()`` to list what it learned)."""
    store_error: str | None
    endpoints: tuple[EndpointHints, ...]
    nothing_learned: str | None = None
    """Why no endpoint shows a learned hint although learning is on
    (:func:`nothing_learned`); ``None`` otherwise."""


#: Learning takes its lessons from pages answered with a 103 (``_hooks``: a
#: navigation that could carry none teaches nothing), and the command cannot
#: know whether the server sends them: it says what sends one.
LEARNED_FROM_103S: Final = (
    "No learned hints: a hint is learned only from page visits answered with a 103 (gunicorn 25+ over "
    "HTTP/2, or over HTTP/1.1 to a front with FIREHOSE_EARLY_HINTS_HTTP1 on; never Flask's development "
    "server); 'firehose probe URL' shows whether a 103 arrives."
)
#: The default store lives in each server process: this command has its own.
#: Firehose reads FIREHOSE_REDIS_URL from the app's config, never from the
#: environment, so a bare ``FIREHOSE_REDIS_URL=... flask ...`` changes nothing.
IN_THIS_PROCESS: Final = (
    " This command has an in-memory hint store of its own and cannot see what a running server learned. "
    "To share one, set FIREHOSE_REDIS_URL in the app's config, which the server and this command both "
    "load; from the environment only if the app reads it: with app.config.from_prefixed_env(), "
    "FLASK_FIREHOSE_REDIS_URL=redis://HOST:PORT/0 (a plain FIREHOSE_REDIS_URL variable is not read)."
)


def nothing_learned(state: AppState) -> str:
    """Why an app whose learning is on shows no learned hint: no 103 sent
    (``FIREHOSE_EARLY_HINTS`` off), or what learning needs (a server that
    sends 103s; visits, as many as ``FIREHOSE_LEARN_MIN_SEEN``), and whether
    this process can see what a server learned (an in-memory store cannot)."""
    settings = state.settings
    if not settings.early_hints:
        return (
            "No learned hints: FIREHOSE_EARLY_HINTS is off, so no 103 is sent, and hints are learned only "
            "from page visits answered with one."
        )
    text = LEARNED_FROM_103S
    if settings.learn_min_seen > 1:
        text += (
            f" A link is learned once it went out on {settings.learn_min_seen} such visits (FIREHOSE_LEARN_MIN_SEEN)."
        )
    if state.learner is not None and isinstance(state.learner.store, MemoryHintStore):
        text += IN_THIS_PROCESS
    return text


def _rules_by_endpoint(app: Flask) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != SPECULATION_ENDPOINT:  # Firehose's own rules resource
            found.setdefault(rule.endpoint, []).append(rule)
    return dict(sorted(found.items()))


def endpoint_hints(app: Flask, state: AppState) -> RoutesReport:
    """Every endpoint of *app* with its hints, sorted by endpoint name. The
    hint store is read until it fails once; after that no learned hints are shown."""
    store_error = None
    unlisted = False
    found = []
    for endpoint, rules in _rules_by_endpoint(app).items():
        methods = sorted({m for rule in rules for m in rule.methods or ()} - {"HEAD", "OPTIONS"})
        static = is_static_endpoint(endpoint)
        declared: tuple[HintRow, ...] = ()
        learned: tuple[HintRow, ...] | None = None
        if not static:
            path = _sample_path(app, endpoint, rules[0].rule, sorted(rules[0].arguments))
            declared = _declared_rows(state, app, endpoint, path)
            if store_error is None and not unlisted:
                try:
                    learned = _learned_rows(state, app, endpoint)
                except _StoreFailed as exc:
                    store_error = str(exc)
                except _StoreUnlisted:
                    unlisted = True
        rule_texts = tuple(rule.rule for rule in rules)
        found.append(EndpointHints(endpoint, rule_texts, tuple(methods), static, declared, learned))
    if store_error is not None or unlisted:
        found = [dataclasses.replace(item, learned=None) for item in found]
    learning = "off" if state.learner is None else "failed" if store_error else "unlisted" if unlisted else "on"
    learned_any = any(item.learned for item in found)
    why = nothing_learned(state) if learning == "on" and state.settings.enabled and not learned_any else None
    return RoutesReport(app.name, state.settings.enabled, learning, store_error, tuple(found), why)


def _link_json(link: Link) -> dict[str, Any]:
    """A declared or learned link in the shape ``probe --json`` writes links in."""
    (parsed,) = parse_link_header(link.text)
    return link_json(parsed)


def _row_json(row: HintRow) -> dict[str, Any]:
    found = {
        "origin": row.origin,
        "blueprint": row.blueprint,
        "source": row.source,
        "link": _link_json(row.link) if row.link is not None else None,
        "error": row.error,
        "note": row.note,
    }
    if row.origin == "learned":
        found["site"] = row.site
    return found


def _endpoint_json(item: EndpointHints) -> dict[str, Any]:
    return {
        "endpoint": item.endpoint,
        "methods": list(item.methods),
        "rules": list(item.rules),
        "static": item.static,
        "declared": [_row_json(row) for row in item.declared],
        "learned": None if item.learned is None else [_row_json(row) for row in item.learned],
    }


def routes_json(report: RoutesReport) -> str:
    """The report as one JSON object."""
    return json_text(
        {
            "app": report.app,
            "enabled": report.enabled,
            "learning": report.learning,
            "store_error": report.store_error,
            "nothing_learned": report.nothing_learned,
            "endpoints": [_endpoint_json(item) for item in report.endpoints],
        }
    )


def _origin_cell(row: HintRow) -> str:
    if row.origin == "blueprint":
        return f"blueprint {row.blueprint}"
    if row.origin == "learned" and row.site is not None:
        return f"learned on {row.site}"
    return row.origin


def _hint_cell(row: HintRow) -> str:
    if row.link is not None:
        return row.link.text
    if row.note is not None:
        return f"{row.source}: {row.note}"
    return f"error in {row.source}: {row.error}"


def _table_rows(item: EndpointHints) -> list[list[str]]:
    first = [item.endpoint, ", ".join(item.methods), ", ".join(item.rules)]
    blank = ["", "", ""]
    hints = [*item.declared, *(item.learned or ())]
    if item.static:
        return [[*first, "-", "(static files get no hints)"]]
    if not hints:
        return [[*first, "-", "(none)"]]
    return [[*(first if index == 0 else blank), _origin_cell(row), _hint_cell(row)] for index, row in enumerate(hints)]


def _learning_line(report: RoutesReport) -> str | None:
    if report.learning == "off":
        return "Learning is off: only declared hints are shown."
    if report.learning == "failed":
        return f"Learned hints not shown: the hint store failed ({report.store_error})."
    if report.learning == "unlisted":
        return "Learned hints not shown: the hint store cannot list what it learned (it has no endpoints() method)."
    return report.nothing_learned


def routes_table(report: RoutesReport) -> str:
    """The endpoints as a table like ``flask routes``: one line per hint,
    after a line saying why some hints cannot be shown, if any. Every cell
    is escaped, so nothing in a name, a rule, a hint or an error can break
    a line or reach the terminal as a control."""
    header = ["Endpoint", "Methods", "Rule", "Origin", "Hint"]
    rows = [[printable(cell) for cell in row] for item in report.endpoints for row in _table_rows(item)]
    widths = [max(len(cells[column]) for cells in [header, *rows]) for column in range(len(header) - 1)]
    lines = []
    for cells in [header, ["-" * width for width in widths] + ["-" * len(header[-1])], *rows]:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=True)]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    notes = [printable(note) for note in (_disabled_line(report), _learning_line(report)) if note]
    return "\n".join([*notes, *lines])


def _disabled_line(report: RoutesReport) -> str | None:
    if report.enabled:
        return None
    return "Flask-Firehose is disabled (FIREHOSE_ENABLED is off): none of these hints is sent."
