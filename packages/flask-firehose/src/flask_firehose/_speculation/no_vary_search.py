"""No-Vary-Search: the query parameters that do not change a view's response.

A view (``@no_vary_search``), a blueprint or the whole app
(``firehose.no_vary_search()``) declares which parameters its responses do
not depend on. Firehose then sends the ``No-Vary-Search`` header (an RFC 9651
dictionary, as the IETF draft and Chromium define it) on the endpoint's
responses to GET and HEAD, and the Speculation Rules that list the
endpoint's URLs carry the same value as ``expects_no_vary_search``: a page
prefetched as ``/articles/1`` then serves a click on
``/articles/1?utm_source=news``, and the browser's HTTP cache does the same.

The most specific declaration of an endpoint wins: its view's, then its
blueprints' (innermost first), then the app's. The header says nothing the
app did not declare, and a response that already has one keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import quote

from flask import Flask

from .._links import safe_repr
from .._requests import is_static_endpoint
from .._scopes import Scopes, warn_unknown_blueprints
from ..errors import ConfigurationError

__all__ = [
    "DECLARED",
    "MAX_PARAMETERS",
    "TRACKING_PARAMETERS",
    "NoVarySearch",
    "SearchVariance",
    "make_no_vary_search",
    "no_vary_search",
]

F = TypeVar("F", bound=Callable[..., object])

#: Where ``@no_vary_search`` keeps a view's declaration.
DECLARED: Final = "_firehose_no_vary_search"
#: The most parameters one declaration names.
MAX_PARAMETERS: Final = 64
#: The longest parameter name.
MAX_NAME: Final = 128
#: The longest header value: fronts give all response headers one buffer
#: (nginx 4-8 kB), and a page must not fail for its hint.
MAX_VALUE: Final = 2048

#: Query parameters that ad platforms, analytics and newsletters add to links
#: and that no page's content depends on. A declaration may start from them:
#: ``@no_vary_search(ignore=TRACKING_PARAMETERS)``. (No-Vary-Search names
#: parameters one by one: there is no ``utm_*``.)
TRACKING_PARAMETERS: Final = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "twclid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
)


def _encoded(name: str) -> str:
    """*name* as it stands in the header: the draft decodes each string as a
    form-encoded key (``+`` is a space, ``%XX`` a byte), so everything but
    unreserved characters is percent-encoded; no quote or backslash remains."""
    return quote(name, safe="")


@dataclass(frozen=True)
class NoVarySearch:
    """One declaration, checked.

    :param ignore: the parameters the response does not depend on.
    :param keep: when not ``None``, the response depends on these parameters
        only: every other one is ignored.
    :param key_order: the order of the parameters does not matter either.
    """

    ignore: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None
    key_order: bool = False

    @property
    def value(self) -> str:
        """The header's value (and the rules' ``expects_no_vary_search``)."""
        members = ["key-order"] if self.key_order else []
        if self.keep is not None:
            members.append("params")
            if self.keep:
                members.append("except=(" + " ".join(f'"{_encoded(name)}"' for name in self.keep) + ")")
        elif self.ignore:
            members.append("params=(" + " ".join(f'"{_encoded(name)}"' for name in self.ignore) + ")")
        return ", ".join(members)


def _names(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{key} must be a list of query parameter names, not {safe_repr(value)}", key, value)
    # The order of the names means nothing to the header, and a set's (or a
    # list made from one) changes from one process to the next (str hashes
    # are salted): sorted, every worker writes the same header and rules.
    names = tuple(value)
    if all(isinstance(name, str) for name in names):
        names = tuple(sorted(names))
    if len(names) > MAX_PARAMETERS:
        raise ConfigurationError(
            f"{key} names {len(names)} parameters; at most {MAX_PARAMETERS} fit one declaration", key, value
        )
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_NAME:
            raise ConfigurationError(
                f"{key} holds {safe_repr(name)}: each entry is a query parameter name, a non-empty str of at "
                f"most {MAX_NAME} characters",
                key,
                name,
            )
        if "*" in name:
            raise ConfigurationError(
                f"{key} holds {name!r}: No-Vary-Search has no wildcard; name each parameter "
                "(TRACKING_PARAMETERS lists utm_source, utm_medium, utm_campaign...)",
                key,
                name,
            )
        try:
            name.encode()
        except UnicodeEncodeError:
            raise ConfigurationError(f"{key} holds {safe_repr(name)}, which is not text", key, name) from None
    return tuple(dict.fromkeys(names))


def make_no_vary_search(
    ignore: Iterable[str] | None = None, *, keep: Iterable[str] | None = None, key_order: bool = False
) -> NoVarySearch:
    """Check one declaration (see :func:`no_vary_search`).

    :raises ConfigurationError: naming the bad argument and value.
    """
    if not isinstance(key_order, bool):
        raise ConfigurationError(f"key_order must be True or False, not {safe_repr(key_order)}", "key_order", key_order)
    if ignore is not None and keep is not None:
        raise ConfigurationError(
            "give ignore= (these parameters do not matter) or keep= (only these matter), not both", "keep", keep
        )
    declared = NoVarySearch(
        ignore=() if ignore is None else _names(ignore, "ignore"),
        keep=None if keep is None else _names(keep, "keep"),
        key_order=key_order,
    )
    value = declared.value
    if not value:
        raise ConfigurationError(
            "no_vary_search() declares nothing: name the parameters to ignore (ignore=[...]), the only ones that "
            "matter (keep=[...]), or key_order=True",
            "ignore",
            ignore,
        )
    if len(value) > MAX_VALUE:
        raise ConfigurationError(
            f"no_vary_search() makes a header of {len(value)} characters (at most {MAX_VALUE}: fronts give every "
            "response header one buffer); name fewer or shorter parameters",
            "keep" if keep is not None else "ignore",
            keep if keep is not None else ignore,
        )
    return declared


def no_vary_search(
    ignore: Iterable[str] | None = None, *, keep: Iterable[str] | None = None, key_order: bool = False
) -> Callable[[F], F]:
    """Declare which query parameters do not change the responses of one
    view; stack with the route decorator in either order::

        @app.get("/articles/<int:id>")
        @no_vary_search(ignore=["utm_source", "utm_medium", "ref"])
        def article(id): ...

    The view's responses to GET and HEAD get a ``No-Vary-Search`` header,
    and Speculation Rules that list its URLs tell the browser to expect it:
    the page prefetched as ``/articles/1`` serves a click on
    ``/articles/1?ref=home``. Declare only what is true: a browser that
    holds the response for one URL shows it for every URL that differs in
    these parameters.

    :param ignore: the parameters the response does not depend on
        (:data:`~flask_firehose.TRACKING_PARAMETERS` holds the usual ones).
    :param keep: instead of *ignore*: the only parameters the response
        depends on (``keep=[]``: it depends on none).
    :param key_order: the order of the parameters does not matter either
        (repeated ones keep their order among themselves).

    .. versionadded:: 1.0

    :raises ConfigurationError: for a name that is not a non-empty str of at
        most 128 characters (or holds ``*``: there is no wildcard), more than
        64 names, a header over 2,048 characters, both *ignore* and *keep*, or
        a declaration that says nothing.
    """
    declared = make_no_vary_search(ignore, keep=keep, key_order=key_order)

    def decorate(view: F) -> F:
        setattr(view, DECLARED, (*getattr(view, DECLARED, ()), declared))
        return view

    return decorate


class SearchVariance:
    """The No-Vary-Search declarations of one app, by endpoint.

    :param declared: ``firehose.no_vary_search()`` declarations by blueprint
        (``None``: app-wide), kept, so later ones count until the first request.
    """

    def __init__(self, declared: dict[str | None, list[NoVarySearch]]) -> None:
        self.scopes: Scopes[NoVarySearch] = Scopes(declared, DECLARED, "no_vary_search")
        self._values: dict[str, str | None] = {}

    def known_none(self, endpoint: str | None) -> bool:
        """True once *endpoint* is known to declare nothing (a lookup)."""
        return endpoint is None or (endpoint in self._values and self._values[endpoint] is None)

    def value(self, app: Flask, endpoint: str | None) -> str | None:
        """The header value of *endpoint*'s responses, or ``None``; worked out
        once per endpoint. The most specific declaration wins; a static
        route's files get none."""
        if endpoint is None:
            return None
        try:
            return self._values[endpoint]
        except KeyError:
            pass
        if not self._values:  # the first endpoint asked: a typo in blueprint= is logged once
            warn_unknown_blueprints(app, self.scopes.table, self.scopes.what)
        found: str | None = None
        # Static files are not pages: their query is the cache buster
        # (?v=2), which an app-wide declaration must not tell caches to ignore.
        if not is_static_endpoint(endpoint):
            # groups() lists app, blueprints (innermost first), view: the view
            # comes first here, then the blueprints from the innermost out.
            *outer, view = self.scopes.groups(app, endpoint)
            for _, _, items in (view, *outer[1:], outer[0]):
                if items:
                    found = items[-1].value
                    break
        self._values[endpoint] = found
        return found
