"""``push()``: what a view or a template calls to hint a file.

It only validates and collects: the link goes into the request's links
(:mod:`flask_firehose._collection`), and the request hooks do the rest. The
common call, ``push("/static/app.css")``, is one dictionary lookup; one
with attributes, one more tuple. Bad
arguments follow the app's failure policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast, overload

from flask import Flask, Request, current_app, has_app_context, request

from ._collection import STATE_ATTRIBUTE, RequestLinks, current_context, request_links
from ._failure import FailurePolicy
from ._links import PLAIN_LINKS as _plain_links
from ._links import link_from_push, link_with_attributes, plain_link, safe_repr
from ._state import EXTENSION_KEY, state_of
from .errors import InvalidLinkError

__all__ = ["push"]

_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]
_current_app: Callable[[], Flask] = current_app._get_current_object  # type: ignore[attr-defined]


def _describe_call(url: object, args: tuple[object, ...], attrs: dict[str, object]) -> str:
    parts = [safe_repr(url, 80), *(safe_repr(arg, 40) for arg in args)]
    parts.extend(f"{key}={safe_repr(value, 40)}" for key, value in attrs.items())
    return safe_repr(f"push({', '.join(parts)})", 240)[1:-1]


#: push() called without a URL (it may come as the keyword ``url``).
_NO_URL: Any = object()


@overload
def push(url: str, /, *args: object, **attrs: object) -> str: ...
@overload
def push(*, url: str, **attrs: object) -> str: ...
def push(url: str = _NO_URL, /, *args: object, **attrs: object) -> str:
    """Hint (and, behind a pushing proxy, push) *url* with this response.

    Usable in views and, as a Jinja global, in templates; returns *url*
    unchanged so it can sit inside ``href``. Keyword and positional arguments
    become link attributes as in 0.2.3: ``push(url, 'nopush', as_='font')``
    (``as_`` and ``**{'as': ...}`` mean the same). ``rel`` defaults to
    ``preload`` and ``as`` to what the extension says. ``push(url=...)``
    works too; after a URL given first, a keyword ``url`` is an attribute.

    Invalid arguments follow the failure policy: in debug and testing (or with
    ``FIREHOSE_STRICT = True``) they raise; otherwise the link is dropped and a
    warning naming the call is logged, and the page is served as it is.

    :raises InvalidLinkError: (a ``ValueError``) for a URL or attribute that
        cannot be written into a header, naming the bad value, when strict.
        It is the only error bad arguments can raise.
    :raises RuntimeError: outside a request, in an app context whose app is
        strict (when lenient, or with no app at all, as in a generator streamed
        after its request ended, the URL is returned and a warning logged); or
        in an app where Firehose was never initialised.
    """
    if url is _NO_URL:  # push(url=...), as 0.2.3 allowed; given first, "url" is an attribute like any other
        if "url" not in attrs:
            raise TypeError("push() missing 1 required argument: 'url'")
        url = cast("str", attrs.pop("url"))  # returned as given, as any URL
    context = current_context()
    if context is None:
        return _outside_a_request(url)
    links: RequestLinks | None = getattr(context, STATE_ATTRIBUTE, None)
    if links is None:
        app = _current_app()
        if EXTENSION_KEY not in app.extensions:
            raise RuntimeError(
                f"Firehose is not initialised on app {app.name!r}: "
                "call Firehose(app) or firehose.init_app(app) before using push()."
            )
        links = request_links()
    try:
        if args or attrs:  # push(url, **{'as': 'style'}), as 0.2.3's README writes it: one lookup too
            link = link_with_attributes(url, args, attrs)
        elif type(url) is str:  # the common call, push("/static/app.css"): the link built before
            link = _plain_links.get(url) or plain_link(url)
        else:
            link = link_from_push(url, args, attrs)
    except InvalidLinkError as exc:
        where = _current_request().endpoint
        _failures_of(_current_app()).invalid_push(_describe_call(url, args, attrs), exc, where)
        return url
    if links.closed:
        _failures_of(_current_app()).warn_once_in_a_while(
            ("push-after-response", _current_request().endpoint),
            "%s came after the response headers were written (a streamed response?) and is dropped: "
            "push before returning the response",
            _describe_call(url, args, attrs),
        )
        return url
    links.pushed.add(link)
    return url


_fallback_policy = FailurePolicy(strict=False)


def _failures_of(app: Flask) -> FailurePolicy:
    state = state_of(app)
    return state.failures if state is not None else _fallback_policy


def _outside_a_request(url: str) -> str:
    """``push()`` with no request: there is no response to hint. Raised when
    the current app is strict; with no app at all (a generator streamed after
    its request ended, without ``stream_with_context``) there is nobody to
    ask, and a page must not be cut short: the URL is returned, as when
    lenient, with a warning."""
    app = _current_app() if has_app_context() else None
    state = state_of(app) if app is not None else None
    message = (
        "push() needs an active request: call it from a view or a template rendered by one "
        "(in tests, inside app.test_request_context()); outside one there is no response to hint"
    )
    if app is not None and (state is None or state.failures.is_strict()):
        raise RuntimeError(message)
    _fallback_policy.warn_once_in_a_while(("push-outside-request",), "%s: %s ignored", message, safe_repr(url))
    return url
