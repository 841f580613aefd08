"""Which declarations apply to an endpoint: the app's, its blueprints', its view's.

Hints (``declare_hints()`` and ``@early_hints``) and Speculation Rules
(``speculate()`` and ``@speculation``) are both declared at three scopes: for
every page of the app (``blueprint=None``), for one blueprint's pages, and on
one view by a decorator. :class:`Scopes` is that table, written once: the
request hooks, the rules and ``flask firehose routes`` all read it, so what
the tool shows is what a request gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Literal, TypeVar

from flask import Flask

from ._failure import logger

__all__ = ["Origin", "Scopes", "blueprints_of", "on_view", "view_holders", "warn_unknown_blueprints"]

T = TypeVar("T")

#: Where a declaration was made.
Origin = Literal["app", "blueprint", "view"]


def view_holders(view: object) -> tuple[object, ...]:
    """Where a decorator may have marked *view*: the view function; for a
    class-based view (``View.as_view()``), also its class and its ``get``."""
    view_class = getattr(view, "view_class", None)
    if isinstance(view_class, type):
        return (view, view_class, getattr(view_class, "get", None))
    return (view,)


def on_view(view: object, attribute: str) -> tuple[Any, ...]:
    """What decorators stored under *attribute* on *view* (see :func:`view_holders`), in that order."""
    return tuple(item for holder in view_holders(view) for item in (getattr(holder, attribute, ()) or ()))


def blueprints_of(endpoint: str) -> list[str]:
    """The blueprints an endpoint belongs to, innermost first (``a.b.view``:
    ``a.b``, then ``a``), as Flask's ``request.blueprints``."""
    parts = endpoint.split(".")[:-1]
    return [".".join(parts[:size]) for size in range(len(parts), 0, -1)]


def warn_unknown_blueprints(app: Flask, declared: Iterable[str | None], what: str) -> None:
    """Log the ``blueprint=`` names given to *what* that *app* has no
    blueprint called (a typo, or a nested blueprint named without its parent)."""
    unknown = sorted(name for name in declared if name is not None and name not in app.blueprints)
    if unknown:
        logger.warning(
            "%s(blueprint=...) names %s, which app %r has no blueprint called (nested blueprints are named "
            "'parent.child'); known: %s",
            what,
            ", ".join(map(repr, unknown)),
            app.name,
            ", ".join(map(repr, sorted(app.blueprints))) or "none",
        )


class Scopes(Generic[T]):
    """One app's declarations of one kind, by scope.

    :param table: the declarations by blueprint name (``None``: app-wide);
        kept, not copied, so declarations added to it until the first
        request count.
    :param attribute: where the view decorator stores its declarations.
    :param what: the declaring method's name, for warnings.
    """

    def __init__(self, table: dict[str | None, list[T]], attribute: str, what: str) -> None:
        self.table = table
        self.attribute = attribute
        self.what = what
        self._applied: dict[str, tuple[T, ...]] = {}

    def groups(self, app: Flask, endpoint: str) -> list[tuple[Origin, str | None, tuple[T, ...]]]:
        """The declarations of *endpoint* by where they were made, in the
        order they apply: app-wide, its blueprints' (innermost first), its view's."""
        table = self.table
        found: list[tuple[Origin, str | None, tuple[T, ...]]] = [("app", None, tuple(table.get(None, ())))]
        found += [("blueprint", name, tuple(table.get(name, ()))) for name in blueprints_of(endpoint)]
        found.append(("view", None, on_view(app.view_functions.get(endpoint), self.attribute)))
        return found

    def applied(self, app: Flask, endpoint: str) -> tuple[T, ...]:
        """Every declaration of *endpoint*, in order; worked out once per
        endpoint (the first time, unknown blueprint names are logged)."""
        found = self._applied.get(endpoint)
        if found is None:
            if not self._applied:
                warn_unknown_blueprints(app, self.table, self.what)
            found = self._applied[endpoint] = tuple(item for *_, items in self.groups(app, endpoint) for item in items)
        return found

    def known_empty(self, endpoint: str | None) -> bool:
        """True once *endpoint* is known to have no declarations (a lookup)."""
        return endpoint is None or self._applied.get(endpoint) == ()
