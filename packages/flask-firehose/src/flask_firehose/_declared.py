"""Hints declared ahead of time: the ``early_hints`` view decorator, and
per-app or per-blueprint declarations on the extension.

A declaration is a URL, a :class:`~flask_firehose.Link`, or a callable
returning one or an iterable of them. URLs are checked when declared, so a
typo fails at import; callables run in the request, so they may use
``url_for`` and versioned asset helpers, and their failures follow the
failure policy. Declarations apply to HTML navigations answered by a view
only: static files, JSON, fetch/XHR requests, redirects and errors are left
as they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Final, TypeVar

from ._failure import FailurePolicy
from ._links import PLAIN_LINKS, Link, link_from_push, plain_link, safe_repr

__all__ = [
    "ATTRIBUTE",
    "MAX_DECLARED",
    "HintSpec",
    "call_declared",
    "check_specs",
    "declared_limit",
    "early_hints",
    "resolve",
]

HintValue = str | Link
HintSpec = str | Link | Callable[[], HintValue | Iterable[HintValue]]

F = TypeVar("F", bound=Callable[..., object])

#: Where :func:`early_hints` keeps a view's declarations.
ATTRIBUTE: Final = "_firehose_early_hints"

#: Most links one navigation takes from its declarations (at least the
#: configured ``FIREHOSE_MAX_LINKS``): a header holds no more, and a callable
#: returning thousands of URLs (or an endless generator) must not cost the
#: page the time to check them all.
MAX_DECLARED: Final = 64


def declared_limit(max_links: int) -> int:
    """Most links one navigation reads from its declarations, for an app
    whose ``FIREHOSE_MAX_LINKS`` is *max_links*."""
    return max(MAX_DECLARED, max_links)


def check_specs(specs: Iterable[HintSpec]) -> tuple[HintSpec, ...]:
    """Check declarations when they are made: URLs must make valid links.

    :raises InvalidLinkError: for a URL that cannot be a link.
    :raises TypeError: for an entry that is none of URL, Link or callable.
    """
    checked = tuple(specs)
    for spec in checked:
        if isinstance(spec, str):
            link_from_push(spec)
        elif not isinstance(spec, Link) and not callable(spec):
            raise TypeError(f"a hint declaration is a URL, a Link or a callable, not {spec!r}")
    return checked


def early_hints(*hints: HintSpec) -> Callable[[F], F]:
    """Declare what a view's page needs, so it goes in the 103 before the view
    runs; stack with the route decorator in either order::

        @app.get("/report")
        @early_hints("/static/report.css", lambda: url_for("static", filename="chart.js"))
        def report(): ...

    :raises InvalidLinkError: at once, for a URL that cannot be a link.
    """
    checked = check_specs(hints)

    def decorate(view: F) -> F:
        # Only what *view* itself holds: for an ``as_view()`` function,
        # the app's Scopes add the class's at request time.
        setattr(view, ATTRIBUTE, (*getattr(view, ATTRIBUTE, ()), *checked))
        return view

    return decorate


def _name_of(spec: object) -> str:
    try:
        return str(getattr(spec, "__qualname__", None) or safe_repr(spec))
    except Exception:
        return f"<{type(spec).__name__}>"


def _as_link(value: object) -> Link:
    return value if isinstance(value, Link) else link_from_push(value)


def call_declared(spec: Callable[[], object], room: int) -> tuple[list[Link], bool]:
    """The links a declared callable gives: at most *room* entries read (an
    endless generator included), each made a link; and whether it had more."""
    value = spec()
    if isinstance(value, (str, Link)):
        return [_as_link(value)], False
    if value is None or isinstance(value, bytes) or not isinstance(value, Iterable):
        raise TypeError(f"returned {safe_repr(value, 80)}, not a URL, a Link or a list of them")
    items = list(itertools.islice(value, room + 1))
    return [_as_link(item) for item in items[:room]], len(items) > room


def resolve(specs: Iterable[HintSpec], failures: FailurePolicy, limit: int = MAX_DECLARED) -> list[Link]:
    """Turn declarations into links, calling the callables.

    A callable that raises, returns nothing usable or a bad URL loses its
    links only, as the failure policy says (raised when strict). At most
    *limit* links are taken in all (the declarations' order decides); what a
    callable returns past that is never read, and a warning says so once in a
    while.
    """
    links: list[Link] = []
    for spec in specs:
        if len(links) >= limit:
            failures.warn_once_in_a_while(
                ("declared-limit", limit),
                "declarations give more than %d links for one page: the rest are ignored (a header holds at most "
                "FIREHOSE_MAX_LINKS)",
                limit,
            )
            break
        if isinstance(spec, Link):
            links.append(spec)
        elif type(spec) is str:  # made once, as push(url) makes it
            links.append(PLAIN_LINKS.get(spec) or plain_link(spec))
        elif isinstance(spec, str):
            links.append(link_from_push(spec))
        else:
            try:
                found, more = call_declared(spec, limit - len(links))
            except Exception as exc:  # InvalidLinkError included: one policy
                failures.failed(f"declared hint {_name_of(spec)}()", exc)
                continue
            links.extend(found)
            if more:
                failures.warn_once_in_a_while(
                    ("declared-limit", _name_of(spec)),
                    "declared hint %s() gave more than %d links for one page: the rest were not read",
                    _name_of(spec),
                    limit,
                )
    return links
