"""What happens around each request: the two hooks ``init_app`` registers.

Both read the app's :class:`~flask_firehose._state.AppState` and the
request's :class:`~flask_firehose._requests.RequestFacts` (worked out once).
Before the view, for an HTML navigation answered by a view: the declared
hints of the endpoint are resolved and, where the server can send one, a 103
goes out with them, the learned ones and the preconnects
(:func:`flask_firehose._early_hints.assemble`). After the view: the request's
links become one ``Link`` field (:class:`flask_firehose._final_header.FinalHeader`,
with the tracker), the learner observes the response, and in development the
lint checks it. Every call into user code or a backend goes through the app's
:class:`~flask_firehose._failure.FailurePolicy`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from flask import Flask, Request, Response, current_app, request
from flask.globals import request_ctx

from . import _early_hints
from ._budget import header_value
from ._collection import (
    NOT_LOADED,
    LinkCollection,
    RequestLinks,
    close_request,
    current_context,
    current_links,
    opened_session,
    request_links,
)
from ._config import Settings
from ._declared import resolve
from ._final_header import may_carry_links
from ._links import Link
from ._memo import IdentityMemo
from ._requests import FACTS_ATTRIBUTE, RequestFacts
from ._state import AppState

__all__ = ["RequestHooks", "register"]

_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]
_current_app: Callable[[], Flask] = current_app._get_current_object  # type: ignore[attr-defined]


class RequestHooks:
    """The two hooks of one app, reading its *state*."""

    __slots__ = ("state",)

    def __init__(self, state: AppState) -> None:
        self.state = state

    def before_request(self) -> Response | None:
        state = self.state
        settings = state.settings
        if not settings.enabled:
            return None
        if not state.late_hooks:
            _add_late_hooks(_current_app(), self)
        facts = _facts_of(current_context(), settings, first=True)
        # A browser's speculation of a route that is never speculated (logout,
        # @no_speculation, ...), whatever the URL that reached it: refused
        # before the view runs.
        speculation = state.speculation
        if speculation is not None and facts.speculative:
            refused = state.failures.call("speculation guard", None, speculation.refuse, _current_request())
            if refused is not None:
                return refused
        # Only an HTML navigation answered by a view gets declared and learned
        # hints: static files, fetch/XHR, POSTs and 404s are left alone.
        endpoint = facts.endpoint
        if not facts.navigation or not endpoint or facts.static:
            return None
        req = _current_request()
        if req.routing_exception is not None:
            return None
        specs = state.hints.applied(_current_app(), endpoint)
        declared = resolve(specs, state.failures, state.declared_limit) if specs else []
        links = request_links() if declared else None
        if links is not None:
            links.declared = tuple(declared)
        if not facts.early_hints:
            return None
        candidates = [*declared, *settings.preconnect]
        if state.learner is not None:
            candidates.extend(state.learner.hints(_current_app(), req))
            if state.pages is not None:
                candidates.extend(state.pages.early(_current_app(), req))
        # A 103 that reaches an HTTP/1.1 peer may meet a front that pushes its
        # links: what this client was already pushed stays out of it.
        pushing_front = settings.early_hints_http1 and settings.front_pushes and not facts.http2
        already_pushed = None
        tracker = state.tracker
        if (
            pushing_front
            and not settings.behind_cdn
            and tracker is not None
            and any(link.pushable for link in candidates)
            and not facts.speculative
        ):
            links = links or request_links()
            links.tracked = state.failures.call(f"{tracker.name} load", None, tracker.load)
            already_pushed = links.tracked
        # The same candidates give the same 103 (unless this client's pushes
        # matter): remembered by their identities, as the final header's are.
        given = tuple(candidates)
        made = state.early_hints_memo.get(given, pushing_front) if already_pushed is None else None
        if made is None:
            hints = _early_hints.assemble(
                candidates,
                pushing_front=pushing_front,
                already_pushed=already_pushed,
                max_links=settings.max_links,
                max_bytes=settings.max_header_bytes,
            )
            made = (hints, header_value(hints))
            if already_pushed is None:
                state.early_hints_memo.put(given, made, pushing_front)
        _early_hints.send(req.environ, made[0], state.failures, state.policy, made[1])
        return None

    def signed_in_guard(self, scope: str | None) -> Response | None:
        """The last before-request function of a request: refuses this app's
        own speculations beyond what a signed-in user's pages may ask for (the
        app's and the blueprints' functions before it may set what
        ``FIREHOSE_SIGNED_IN`` reads, ``g.user``). It is the last function of
        every scope; the one of the request's last scope acts."""
        state = self.state
        speculation = state.speculation
        if speculation is None or not _facts_of(current_context(), state.settings).speculative:
            return None
        app = _current_app()
        scopes = [name for name in (None, *reversed(_current_request().blueprints)) if name in app.before_request_funcs]
        if not scopes or scopes[-1] != scope:
            return None
        return state.failures.call("speculation guard", None, speculation.refuse_for_signed_in, _current_request())

    def after_request(self, response: Response) -> Response:
        state = self.state
        settings = state.settings
        if not settings.enabled:
            return response
        if state.lint is None:  # app.run(debug=True) sets debug after init_app
            state.lint = _current_app().debug
        lint = state.lint
        links = current_links()
        close_request(links)
        req = _current_request()
        # What the view declared of its query parameters (No-Vary-Search);
        # an endpoint known to declare nothing costs one lookup.
        if not state.variance.known_none(req.endpoint) and req.method in ("GET", "HEAD"):
            state.failures.call("No-Vary-Search", None, _add_no_vary_search, state, req, response)
        speculation = state.speculation
        pages = state.pages
        if links is None and not lint and speculation is None and pages is None:
            return response
        facts = _facts_of(current_context(), settings)
        # Speculation Rules go on navigations only.
        if speculation is not None and facts.navigation and not speculation.scopes.known_empty(facts.endpoint):
            state.failures.call("speculation rules", None, speculation.after_request, response, req, facts)
        if lint:
            state.failures.call("lint", None, _check, state, req, facts.static, response)
        # Learned hints go in the 103 only: a navigation that could carry none
        # teaches nothing (and a server that never sends one spends nothing).
        learner = state.learner
        learning = learner is not None and facts.navigation and facts.early_hints
        reading = learning and pages is not None
        if links is None and not reading:
            return response
        # Read before the tracker touches the session: did the view itself?
        # (Asked only where the answer matters: a navigation carrying a cookie.)
        private = learning and "HTTP_COOKIE" in req.environ and _view_read_session()
        # Asked once: the page's learning may add a script to the body, never
        # change what the answer reads (status, type, caching fields).
        teaches = learning and learner is not None and learner.may_learn_from(response, private, facts)
        app = _current_app()
        # The page's own HTML (while its endpoint is learned) and the LCP
        # image its visitors agreed on.
        lesson = (
            state.failures.call("page learning", None, pages.after_view, app, req, response, facts, private, teaches)
            if reading and teaches and pages is not None
            else None
        )
        own = _links_for(links, response, state.merged_memo) if links is not None else ()
        hinted = _merged(own, lesson.final) if lesson is not None and lesson.final else own
        # A speculation (Sec-Purpose: prefetch) may never be shown: its links
        # go out as hints, but nothing is recorded as pushed to this client.
        tracker = None if facts.speculative else state.tracker
        sent: tuple[Link, ...] = ()
        if links is not None or hinted:
            loaded = links.tracked if links is not None else NOT_LOADED
            sent = state.final_header.write(req.method, response, hinted, tracker, loaded)
            if lint:
                state.failures.call("lint", None, state.linter.hinted, sent)
        if teaches and learner is not None:
            taught = own if sent else ()
            if lesson is not None and lesson.links:
                taught = _merged(taught, lesson.links)
            if taught:
                learner.observe(app, req, response, taught, private, facts, teaches)
        return response


#: Between a request's declared and pushed links in a merge memo's key.
_THEN: Final = object()


def _links_for(links: RequestLinks, response: Response, memo: IdentityMemo[tuple[Link, ...]]) -> tuple[Link, ...]:
    """Declared links go on HTML responses only (a view answering a
    navigation with JSON or a file gets none); pushed ones always. The merge
    is remembered by the links' identities (declared and pushed links are
    the same objects from one request to the next)."""
    pushed = links.pushed.as_tuple()
    if not links.declared or response.mimetype != "text/html":
        return pushed
    objects = (*links.declared, _THEN, *pushed)
    found = memo.get(objects)
    if found is None:
        merged = LinkCollection()
        for link in (*links.declared, *pushed):
            merged.add(link)
        found = merged.as_tuple()
        memo.put(objects, found)
    return found


def _merged(first: tuple[Link, ...], then: tuple[Link, ...]) -> tuple[Link, ...]:
    """*first*, then those of *then* that are not already among them."""
    if not first:
        return then
    merged = LinkCollection()
    for link in (*first, *then):
        merged.add(link)
    return merged.as_tuple()


def _check(state: AppState, req: Request, static: bool, response: Response) -> None:
    state.linter.view_links(response)
    if static and may_carry_links(req.method, response.status_code):
        query = req.query_string.decode("latin-1")
        state.linter.static_response(req.path + (f"?{query}" if query else ""), response)


def _facts_of(context: Any, settings: Settings, first: bool = False) -> RequestFacts:
    """What the request of *context* is, under an app's *settings*: worked
    out on the first call (*first*: the before-request hook's, which need not
    look), kept on the context for the other hook, the learner, the rules and
    ``is_speculative()``."""
    facts: RequestFacts | None = None if first else getattr(context, FACTS_ATTRIBUTE, None)
    if facts is None:
        req = context.request
        facts = RequestFacts(
            req.environ,
            req.endpoint,
            early_hints=settings.early_hints,
            allow_http1=settings.early_hints_http1,
            own_cookie=settings.cookie.name,
        )
        setattr(context, FACTS_ATTRIBUTE, facts)
    return facts


def register(app: Flask, hooks: RequestHooks) -> None:
    """Install *hooks* on *app*: the 103 hook first of all, so it leaves
    before other hooks (auth, database) do their work; the header hook last
    of all after-request hooks (Flask runs them in reverse), so the links,
    the caching and the ``Vary`` the learner judges are final."""
    app.before_request_funcs.setdefault(None, []).insert(0, hooks.before_request)
    app.after_request_funcs.setdefault(None, []).insert(0, hooks.after_request)


_late_lock = threading.Lock()


def _add_late_hooks(app: Flask, hooks: RequestHooks) -> None:
    """At the first request, once the app's own functions are registered:
    the signed-in guard goes last of the app-wide before-request functions
    (Flask runs the list as it stands, so the first request runs it too)."""
    with _late_lock:
        if hooks.state.late_hooks:
            return
        speculation = hooks.state.speculation
        if speculation is not None and speculation.guards_signed_in:
            # Flask runs the app's functions, then each blueprint's of the
            # request, outermost first: one guard at the end of each list.
            for scope in [None, *(name for name in app.before_request_funcs if name is not None)]:
                app.before_request_funcs.setdefault(scope, []).append(_guard_for(hooks, scope))
        hooks.state.late_hooks = True


def _guard_for(hooks: RequestHooks, scope: str | None) -> Callable[[], Response | None]:
    """The signed-in guard of one scope, as a plain function (Flask asks each
    before-request function whether it is a coroutine, which costs less for one)."""

    def signed_in_guard() -> Response | None:
        return hooks.signed_in_guard(scope)

    return signed_in_guard


def _add_no_vary_search(state: AppState, req: Request, response: Response) -> None:
    """The ``No-Vary-Search`` the view's endpoint declares, on a response to
    GET or HEAD that has none of its own. Not on a redirect: its
    ``Location`` usually carries the query, which a cache must not reuse
    for another."""
    if 300 <= response.status_code < 400 or "No-Vary-Search" in response.headers:
        return
    variance = state.variance.value(_current_app(), req.endpoint)
    if variance is not None:
        response.headers["No-Vary-Search"] = variance


def _view_read_session() -> bool:
    """Whether this request's session was read so far (Flask then adds
    ``Vary: Cookie``, after every after-request hook has run)."""
    found = opened_session(request_ctx._get_current_object())  # type: ignore[attr-defined]
    return found is not None and bool(getattr(found, "accessed", True))
