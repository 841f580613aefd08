"""Hints declared ahead of time: the ``early_hints`` view decorator, and
per-app or per-blueprint declarations on the extension.

A declaration is a URL, a :class:`~flask_firehose.Link`, or a callable
returning one or an iterable of them. Callables run in the request, so they
may use ``url_for`` and versioned asset helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from .links import Link, link_from_push

__all__ = ["HintSpec", "declared_on", "early_hints", "resolve"]

HintValue = str | Link
HintSpec = str | Link | Callable[[], HintValue | Iterable[HintValue]]

F = TypeVar("F", bound=Callable[..., object])

_ATTRIBUTE = "_firehose_early_hints"


def early_hints(*hints: HintSpec) -> Callable[[F], F]:
    """Declare what a view's page needs, so it goes in the 103 before the view
    runs; stack with the route decorator in either order::

        @app.get("/report")
        @early_hints("/static/report.css", lambda: url_for("static", filename="chart.js"))
        def report(): ...
    """

    def decorate(view: F) -> F:
        setattr(view, _ATTRIBUTE, (*declared_on(view), *hints))
        return view

    return decorate


def declared_on(view: object) -> tuple[HintSpec, ...]:
    """The hints declared on *view* with :func:`early_hints`."""
    hints: tuple[HintSpec, ...] = getattr(view, _ATTRIBUTE, ())
    return hints


def _as_link(value: HintValue) -> Link:
    return value if isinstance(value, Link) else link_from_push(value)


def resolve(specs: Iterable[HintSpec]) -> list[Link]:
    """Turn declarations into links, calling the callables.

    :raises InvalidLinkError: for a URL that cannot be a link, as ``push()``.
    """
    links: list[Link] = []
    for spec in specs:
        value = spec() if callable(spec) else spec
        if isinstance(value, (str, Link)):
            links.append(_as_link(value))
        else:
            links.extend(_as_link(item) for item in value)
    return links
