"""``flask firehose routes``: each endpoint's hints, gathered and rendered.

For every endpoint of the app: the hints it declares (app-wide, per blueprint,
on the view; callables called inside a request context for one of its URLs,
through the app's failure policy, so a failing one is an error cell and not a
traceback) and the hints its store learned; then a table in the manner of
``flask routes``, or JSON with links in the shape ``firehose probe`` prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from flask import Flask

from ._declared import HintSpec, declared_on, resolve
from ._failure import FailurePolicy
from ._hooks import RequestHooks, blueprints_of
from ._learning import is_static_endpoint
from ._links import Link, safe_repr
from ._parsing import parse_link_header
from ._probe_result import link_json
from ._speculation_delivery import ENDPOINT as SPECULATION_ENDPOINT

__all__ = ["EndpointHints", "HintRow", "RoutesReport", "endpoint_hints", "routes_json", "routes_table"]

T = TypeVar("T")


@dataclass(frozen=True)
class HintRow:
    """One hint of an endpoint: where it comes from and the link it makes.

    :param origin: ``app``, ``blueprint``, ``view`` (declared) or ``learned``.
    :param blueprint: the blueprint's name, for ``blueprint``.
    :param source: what was declared (a URL, a Link, a callable's name).
    :param link: the link, or ``None`` when making it failed.
    :param error: why it failed.
    """

    origin: str
    blueprint: str | None
    source: str
    link: Link | None = None
    error: str | None = None


@dataclass(frozen=True)
class EndpointHints:
    """An endpoint, its rules and every hint it gets before its view runs."""

    endpoint: str
    rules: tuple[str, ...]
    methods: tuple[str, ...]
    static: bool
    declared: tuple[HintRow, ...]
    learned: tuple[HintRow, ...] | None
    """``None`` when learning is off."""


def _spec_name(spec: HintSpec) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Link):
        return f"Link({spec.target!r})"
    name = getattr(spec, "__qualname__", None)
    return f"{name}()" if isinstance(name, str) else safe_repr(spec)


def _declared_groups(hooks: RequestHooks, app: Flask, endpoint: str) -> list[tuple[str, str | None, list[HintSpec]]]:
    """The declarations of *endpoint* by origin, in the order they apply: app-wide,
    blueprints (innermost first), view; as one ``declared`` group should
    :meth:`RequestHooks.declared_for` ever disagree."""
    groups: list[tuple[str, str | None, list[HintSpec]]] = [("app", None, list(hooks.declared.get(None, ())))]
    groups += [("blueprint", name, list(hooks.declared.get(name, ()))) for name in blueprints_of(endpoint)]
    groups.append(("view", None, list(declared_on(app.view_functions.get(endpoint)))))
    applied = list(hooks.declared_for(app, endpoint))
    if [spec for *_, specs in groups for spec in specs] != applied:
        return [("declared", None, applied)]
    return groups


@contextlib.contextmanager
def _failures_shown_in_table() -> Iterator[None]:
    """Keep the failure policy's log records off the terminal: the table shows each failure."""
    log = logging.getLogger("flask_firehose")
    handler = logging.NullHandler()
    propagate = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def _guarded(failures: FailurePolicy, what: str, func: Callable[[], T]) -> tuple[T | None, str | None]:
    """``func()`` through the app's failure policy; a failure becomes its message."""
    caught: list[Exception] = []

    def attempt() -> T | None:
        try:
            return func()
        except Exception as exc:
            caught.append(exc)
            raise

    with _failures_shown_in_table(), contextlib.suppress(Exception):
        value = failures.call(what, None, attempt)
    if caught:
        return None, f"{type(caught[0]).__name__}: {caught[0]}"
    return value, None


#: Resolves one declaration raising its failure, so that the app's policy decides.
_RAISING: Final = FailurePolicy(strict=True)


def _rows_of(hooks: RequestHooks, origin: str, blueprint: str | None, specs: Sequence[HintSpec]) -> Iterator[HintRow]:
    for spec in specs:
        name = _spec_name(spec)
        links, error = _guarded(hooks.failures, f"declared hint {name}", functools.partial(resolve, [spec], _RAISING))
        if error is not None:
            yield HintRow(origin, blueprint, name, error=error)
        else:
            yield from (HintRow(origin, blueprint, name, link) for link in links or ())


def _sample_path(app: Flask, endpoint: str, rule_text: str, arguments: Sequence[str]) -> str:
    """A URL of the rule to stand in a request context: ``1`` for each argument."""
    if not arguments:
        return rule_text
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.build(endpoint, dict.fromkeys(arguments, "1"), method="GET")
    except Exception:
        return rule_text.split("<", 1)[0] or "/"


def _declared_rows(hooks: RequestHooks, app: Flask, endpoint: str, path: str) -> tuple[HintRow, ...]:
    """Each declaration resolved in a request context for the route, as a browser's navigation."""
    navigation = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
    rows: list[HintRow] = []
    with app.test_request_context(path, headers=navigation):
        for origin, blueprint, specs in _declared_groups(hooks, app, endpoint):
            rows.extend(_rows_of(hooks, origin, blueprint, specs))
    return tuple(rows)


class _StoreFailed(Exception):
    """The hint store could not be read: no endpoint's learned hints can be shown."""


def _learned_rows(hooks: RequestHooks, endpoint: str) -> tuple[HintRow, ...] | None:
    """What the hint store holds for *endpoint* (``None`` when learning is off).

    :raises _StoreFailed: when reading the store failed.
    """
    learner = hooks.learner
    if learner is None:
        return None
    found, error = _guarded(hooks.failures, "hint store learned()", lambda: list(learner.store.learned(endpoint)))
    if error is not None:
        raise _StoreFailed(error)
    rows = []
    for item in found or ():
        if isinstance(item, Link):
            rows.append(HintRow("learned", None, "hint store", item))
        else:
            rows.append(HintRow("learned", None, "hint store", error=f"not a Link: {safe_repr(item)}"))
    return tuple(rows)


@dataclass(frozen=True)
class RoutesReport:
    """Every endpoint of an app with its hints, and the state of learning."""

    app: str
    enabled: bool
    learning: str
    """``on``, ``off``, or ``failed`` (the store could not be read: :attr:`store_error`)."""
    store_error: str | None
    endpoints: tuple[EndpointHints, ...]


def _rules_by_endpoint(app: Flask) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != SPECULATION_ENDPOINT:  # Firehose's own rules resource
            found.setdefault(rule.endpoint, []).append(rule)
    return dict(sorted(found.items()))


def endpoint_hints(app: Flask, hooks: RequestHooks) -> RoutesReport:
    """Every endpoint of *app* with its hints, sorted by endpoint name. The
    hint store is read until it fails once; after that no learned hints are shown."""
    store_error = None
    found = []
    for endpoint, rules in _rules_by_endpoint(app).items():
        methods = sorted({m for rule in rules for m in rule.methods or ()} - {"HEAD", "OPTIONS"})
        static = is_static_endpoint(endpoint)
        declared: tuple[HintRow, ...] = ()
        learned: tuple[HintRow, ...] | None = None
        if not static:
            path = _sample_path(app, endpoint, rules[0].rule, sorted(rules[0].arguments))
            declared = _declared_rows(hooks, app, endpoint, path)
            if store_error is None:
                try:
                    learned = _learned_rows(hooks, endpoint)
                except _StoreFailed as exc:
                    store_error = str(exc)
        rule_texts = tuple(rule.rule for rule in rules)
        found.append(EndpointHints(endpoint, rule_texts, tuple(methods), static, declared, learned))
    if store_error is not None:
        found = [dataclasses.replace(item, learned=None) for item in found]
    learning = "off" if hooks.learner is None else "failed" if store_error else "on"
    return RoutesReport(app.name, hooks.settings.enabled, learning, store_error, tuple(found))


def _link_json(link: Link) -> dict[str, Any]:
    """A declared or learned link in the shape ``probe --json`` writes links in."""
    (parsed,) = parse_link_header(link.text)
    return link_json(parsed)


def _row_json(row: HintRow) -> dict[str, Any]:
    return {
        "origin": row.origin,
        "blueprint": row.blueprint,
        "source": row.source,
        "link": _link_json(row.link) if row.link is not None else None,
        "error": row.error,
    }


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
    return json.dumps(
        {
            "app": report.app,
            "enabled": report.enabled,
            "learning": report.learning,
            "store_error": report.store_error,
            "endpoints": [_endpoint_json(item) for item in report.endpoints],
        },
        indent=2,
    )


def _origin_cell(row: HintRow) -> str:
    return f"blueprint {row.blueprint}" if row.origin == "blueprint" else row.origin


def _hint_cell(row: HintRow) -> str:
    if row.link is not None:
        return row.link.text
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
    return None


def routes_table(report: RoutesReport) -> str:
    """The endpoints as a table like ``flask routes``: one line per hint,
    after a line saying why some hints cannot be shown, if any."""
    header = ["Endpoint", "Methods", "Rule", "Origin", "Hint"]
    rows = [row for item in report.endpoints for row in _table_rows(item)]
    widths = [max(len(cells[column]) for cells in [header, *rows]) for column in range(len(header) - 1)]
    lines = []
    for cells in [header, ["-" * width for width in widths] + ["-" * len(header[-1])], *rows]:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=True)]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    notes = [note for note in (_disabled_line(report), _learning_line(report)) if note]
    return "\n".join([*notes, *lines])


def _disabled_line(report: RoutesReport) -> str | None:
    if report.enabled:
        return None
    return "Flask-Firehose is disabled (FIREHOSE_ENABLED is off): none of these hints is sent."
