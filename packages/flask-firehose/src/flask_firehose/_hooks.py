"""What happens around each request: the two hooks ``init_app`` registers.

Before the view, for an HTML navigation answered by a view: the declared
hints of the endpoint are resolved and, where the server can send one, a 103
goes out with them, the learned ones and the preconnects
(:func:`flask_firehose._early_hints.assemble`). After the view: the request's
links become one ``Link`` field (:func:`flask_firehose._final_header.write_links`,
with the tracker), the learner observes the response, and in development the
lint checks it. Every call into user code or a backend goes through the app's
:class:`~flask_firehose._failure.FailurePolicy`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, current_app, request
from flask.globals import request_ctx

from . import _early_hints
from ._collection import LinkCollection, RequestLinks, close_request, current_links, request_links
from ._config import Settings
from ._declared import HintSpec, declared_limit, declared_on, resolve
from ._failure import FailurePolicy, logger
from ._final_header import Outcome, may_carry_links, public_prefixes, write_links
from ._learning import Learner, is_static_endpoint
from ._links import Link
from ._lint import Linter
from ._memo import Memo
from ._speculation.rules import RuleSpec, is_prefetch_purpose
from ._tracking import Tracker

if TYPE_CHECKING:
    from ._speculation.delivery import Speculation

__all__ = ["EXTENSION_KEY", "RequestHooks", "blueprints_of", "hooks_of", "register", "warn_unknown_blueprints"]

#: Where ``init_app`` registers the extension in ``app.extensions``.
EXTENSION_KEY = "firehose"

_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]
_current_app: Callable[[], Flask] = current_app._get_current_object  # type: ignore[attr-defined]


class RequestHooks:
    """The per-app state behind the two hooks; reads nothing from the extension."""

    def __init__(
        self,
        settings: Settings,
        failures: FailurePolicy,
        tracker: Tracker[Any] | None,
        declared: dict[str | None, list[HintSpec]],
        learner: Learner | None,
    ) -> None:
        self.settings = settings
        self.failures = failures
        self.tracker = tracker
        self.declared = declared
        self.learner = learner
        self.linter = Linter()
        self.memo: Memo[Hashable, Outcome] = Memo(256)
        self.shared: Memo[Hashable, Outcome] = Memo(256)
        self.memo103: Memo[Hashable, tuple[tuple[Link, ...], tuple[Link, ...]]] = Memo(256)
        self._public_prefixes: tuple[str, ...] | None = None
        self._lint = settings.lint
        #: Most links one navigation reads from its declarations.
        self.declared_limit = declared_limit(settings.max_links)
        #: The page's policies the 103 carries for its preloads.
        self.policy = _early_hints.policy_headers(settings.early_hints_referrer_policy, settings.early_hints_csp)
        self._specs: dict[str | None, tuple[HintSpec, ...]] = {}
        #: The app's Speculation Rules (set by ``init_app``), or None.
        self.speculation: Speculation | None = None
        #: The app's ``speculate()`` declarations by blueprint (set by ``init_app``).
        self.speculation_declared: dict[str | None, list[RuleSpec]] = {}

    def public_prefixes(self) -> tuple[str, ...]:
        """The app's public-asset prefixes (the learner's when it learns),
        for the final header of a response other clients may be handed."""
        if self.learner is not None:
            return self.learner.prefixes(_current_app())
        if self._public_prefixes is None:
            self._public_prefixes = public_prefixes(self.settings)
        return self._public_prefixes

    def _specs_for(self, endpoint: str) -> tuple[HintSpec, ...]:
        """Declarations that apply to *endpoint*, worked out once per endpoint."""
        specs = self._specs.get(endpoint)
        if specs is None:
            app = _current_app()
            if not self._specs:
                warn_unknown_blueprints(app, self.declared, "declare_hints")
            specs = self._specs[endpoint] = self.declared_for(app, endpoint)
        return specs

    def declared_for(self, app: Flask, endpoint: str) -> tuple[HintSpec, ...]:
        """Declarations that apply to *endpoint*: app-wide, then its
        blueprints' (innermost first, as ``request.blueprints`` lists them),
        then its view's."""
        found = [*self.declared.get(None, ())]
        for name in blueprints_of(endpoint):
            found.extend(self.declared.get(name, ()))
        found.extend(declared_on(app.view_functions.get(endpoint)))
        return tuple(found)

    def before_request(self) -> Response | None:
        settings = self.settings
        if not settings.enabled:
            return None
        req = _current_request()
        environ = req.environ
        # A browser's speculation of a route that is never speculated (logout,
        # @no_speculation, ...), whatever the URL that reached it: refused
        # before the view runs.
        if self.speculation is not None and "HTTP_SEC_PURPOSE" in environ:
            refused = self.failures.call("speculation guard", None, self.speculation.refuse, req)
            if refused is not None:
                return refused
        # Only an HTML navigation answered by a view gets declared and learned
        # hints: static files, fetch/XHR, POSTs and 404s are left alone.
        if not _early_hints.is_navigation(environ) or req.routing_exception is not None:
            return None
        endpoint = req.endpoint
        if not endpoint or is_static_endpoint(endpoint):
            return None
        specs = self._specs_for(endpoint)
        declared = resolve(specs, self.failures, self.declared_limit) if specs else []
        state = request_links() if declared else None
        if state is not None:
            state.declared = tuple(declared)
        if not (settings.early_hints and _early_hints.can_send(environ, settings.early_hints_http1)):
            return None
        candidates = [*declared, *settings.preconnect]
        if self.learner is not None:
            candidates.extend(self.learner.hints(_current_app(), req))
        # A 103 that reaches an HTTP/1.1 peer may meet a front that pushes its
        # links: what this client was already pushed stays out of it.
        pushing_front = settings.early_hints_http1 and settings.front_pushes and not _early_hints.speaks_http2(environ)
        already_pushed = None
        if (
            pushing_front
            and not settings.behind_cdn
            and self.tracker is not None
            and any(link.pushable for link in candidates)
            and not is_prefetch_purpose(environ.get("HTTP_SEC_PURPOSE"))
        ):
            state = state or request_links()
            state.tracked = self.failures.call(f"{self.tracker.name} load", None, self.tracker.load)
            already_pushed = state.tracked
        # The same candidates give the same 103 (unless this client's pushes
        # matter): remembered by their identities, as the final header's are.
        key = (tuple(map(id, candidates)), pushing_front) if already_pushed is None else None
        known = self.memo103.get(key) if key is not None else None
        if known is not None and known[0] == tuple(candidates):
            links = known[1]
        else:
            links = _early_hints.assemble(
                candidates,
                pushing_front=pushing_front,
                already_pushed=already_pushed,
                max_links=settings.max_links,
                max_bytes=settings.max_header_bytes,
            )
            if key is not None:
                self.memo103.put(key, (tuple(candidates), links))
        _early_hints.send(environ, links, self.failures, self.policy)
        return None

    def after_request(self, response: Response) -> Response:
        settings = self.settings
        if not settings.enabled:
            return response
        if self._lint is None:  # app.run(debug=True) sets debug after init_app
            self._lint = _current_app().debug
        lint = self._lint
        state = current_links()
        close_request(state)
        if state is None and not lint and self.speculation is None:
            return response
        req = _current_request()
        environ = req.environ
        navigation = _early_hints.is_navigation(environ)
        # Speculation Rules go on navigations only.
        speculation = self.speculation
        if speculation is not None and navigation and speculation.may_have_rules(req.endpoint):
            self.failures.call("speculation rules", None, speculation.after_request, response, req)
        if lint:
            self.failures.call("lint", None, self._check, req, response)
        if state is None:
            return response
        links = self._links_for(state, response)
        # Learned hints go in the 103 only: a navigation that could carry none
        # teaches nothing (and a server that never sends one spends nothing).
        learning = (
            self.learner is not None
            and navigation
            and settings.early_hints
            and _early_hints.can_send(environ, settings.early_hints_http1)
        )
        # Read before the tracker touches the session: did the view itself?
        # (Asked only where the answer matters: a navigation carrying a cookie.)
        private = learning and "HTTP_COOKIE" in environ and _view_read_session()
        # A speculation (Sec-Purpose: prefetch) may never be shown: its links
        # go out as hints, but nothing is recorded as pushed to this client.
        speculative = "HTTP_SEC_PURPOSE" in environ and is_prefetch_purpose(environ["HTTP_SEC_PURPOSE"])
        tracker = None if speculative else self.tracker
        sent = write_links(
            req.method,
            response,
            links,
            settings,
            tracker,
            self.failures,
            self.memo,
            state.tracked,
            self.shared,
            prefixes=self.public_prefixes,
        )
        if lint:
            self.failures.call("lint", None, self.linter.hinted, sent)
        if learning and sent and self.learner is not None:
            self.learner.observe(_current_app(), req, response, links, private, navigation)
        return response

    @staticmethod
    def _links_for(state: RequestLinks, response: Response) -> tuple[Link, ...]:
        """Declared links go on HTML responses only (a view answering a
        navigation with JSON or a file gets none); pushed ones always."""
        if not state.declared or response.mimetype != "text/html":
            return state.pushed.as_tuple()
        merged = LinkCollection()
        for link in state.declared:
            merged.add(link)
        for link in state.pushed:
            merged.add(link)
        return merged.as_tuple()

    def _check(self, req: Request, response: Response) -> None:
        self.linter.view_links(response)
        if is_static_endpoint(req.endpoint) and may_carry_links(req.method, response.status_code):
            query = req.query_string.decode("latin-1")
            self.linter.static_response(req.path + (f"?{query}" if query else ""), response)


def register(app: Flask, hooks: RequestHooks) -> None:
    """Install *hooks* on *app*: the 103 hook first of all, so it leaves
    before other hooks (auth, database) do their work; the header hook last
    of all after-request hooks (Flask runs them in reverse), so the links,
    the caching and the ``Vary`` the learner judges are final."""
    app.before_request_funcs.setdefault(None, []).insert(0, hooks.before_request)
    app.after_request_funcs.setdefault(None, []).insert(0, hooks.after_request)


def hooks_of(app: Flask) -> RequestHooks | None:
    """The hooks registered on *app*, if any: the state its extension keeps for it."""
    extension = app.extensions.get(EXTENSION_KEY)
    state_of = getattr(extension, "_hooks_of", None)
    found = state_of(app) if state_of is not None else None
    return found if isinstance(found, RequestHooks) else None


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


def blueprints_of(endpoint: str) -> list[str]:
    """The blueprints an endpoint belongs to, innermost first (``a.b.view``:
    ``a.b``, then ``a``), as Flask's ``request.blueprints``."""
    parts = endpoint.split(".")[:-1]
    return [".".join(parts[:size]) for size in range(len(parts), 0, -1)]


def _view_read_session() -> bool:
    """Whether this request's session was read so far (Flask then adds
    ``Vary: Cookie``, after every after-request hook has run)."""
    state = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    found = state.get("_session", state.get("session"))
    return found is not None and bool(getattr(found, "accessed", True))
