"""The :class:`Firehose` extension and the :func:`push` function.

``init_app`` reads the configuration once, checks the connector and the hint
store, and registers two hooks: before the view, for an HTML navigation
answered by a view, one 103 with the hints known for the endpoint (declared
and learned); after it, one ``Link`` header with everything the request
hinted, then the tracker, the learner and, in development, the lint.
``push()`` only validates and collects. Every call into user code or a
backend goes through the app's :class:`~flask_firehose.failure.FailurePolicy`.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, Request, Response, current_app, has_app_context, has_request_context, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface

from . import early_hints_103
from .collection import LinkCollection, RequestLinks, close_request, current_links, request_links
from .config import Settings
from .declared import HintSpec, check_specs, declared_on, resolve
from .errors import ConfigurationError, FirehoseWarning, InvalidLinkError
from .failure import FailurePolicy, logger
from .final_header import Outcome, may_carry_links, write_links
from .learning import HintStore, Learner, MemoryHintStore, check_store, is_static_endpoint
from .links import link_from_push, safe_repr
from .lint import Linter
from .memo import Memo
from .tracking import SessionConnector, Tracker, tracker_for

__all__ = ["EXTENSION_KEY", "Firehose", "push"]

#: Where ``init_app`` registers the extension in ``app.extensions``.
EXTENSION_KEY = "firehose"

_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]
_current_app: Callable[[], Flask] = current_app._get_current_object  # type: ignore[attr-defined]


def _describe_call(url: object, args: tuple[object, ...], attrs: dict[str, object]) -> str:
    parts = [safe_repr(url, 80), *(safe_repr(arg, 40) for arg in args)]
    parts.extend(f"{key}={safe_repr(value, 40)}" for key, value in attrs.items())
    return safe_repr(f"push({', '.join(parts)})", 240)[1:-1]


def push(url: str, *args: object, **attrs: object) -> str:
    """Hint (and, behind a pushing proxy, push) *url* with this response.

    Usable in views and, as a Jinja global, in templates; returns *url*
    unchanged so it can sit inside ``href``. Keyword and positional arguments
    become link attributes as in 0.2.3: ``push(url, 'nopush', as_='font')``
    (``as_`` and ``**{'as': ...}`` mean the same). ``rel`` defaults to
    ``preload`` and ``as`` to what the extension says.

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
    if not has_request_context():
        return _outside_a_request(url)
    links = current_links()
    if links is None:
        app = _current_app()
        if EXTENSION_KEY not in app.extensions:
            raise RuntimeError(
                f"Firehose is not initialised on app {app.name!r}: "
                "call Firehose(app) or firehose.init_app(app) before using push()."
            )
        links = request_links()
    try:
        link = link_from_push(url, args, attrs)
    except InvalidLinkError as exc:
        where = _current_request().endpoint
        _hooks_of(_current_app()).failures.invalid_push(_describe_call(url, args, attrs), exc, where)
        return url
    if links.closed:
        _hooks_of(_current_app()).failures.warn_once_in_a_while(
            ("push-after-response", _current_request().endpoint),
            "%s came after the response headers were written (a streamed response?) and is dropped: "
            "push before returning the response",
            _describe_call(url, args, attrs),
        )
        return url
    links.pushed.add(link)
    return url


def _outside_a_request(url: str) -> str:
    """``push()`` with no request: there is no response to hint. Raised when
    the current app is strict; with no app at all (a generator streamed after
    its request ended, without ``stream_with_context``) there is nobody to
    ask, and a page must not be cut short: the URL is returned, as when
    lenient, with a warning."""
    app = _current_app() if has_app_context() else None
    hooks = _HOOKS.get(app) if app is not None else None
    message = (
        "push() needs an active request: call it from a view or a template rendered by one "
        "(in tests, inside app.test_request_context()); outside one there is no response to hint"
    )
    if app is not None and (hooks is None or hooks.failures.is_strict()):
        raise RuntimeError(message)
    _fallback_policy.warn_once_in_a_while(("push-outside-request",), "%s: %s ignored", message, safe_repr(url))
    return url


class _AppHooks:
    """The per-app state behind the hooks; reads nothing from the extension."""

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
        self._lint = settings.lint
        self._specs: dict[str | None, tuple[HintSpec, ...]] = {}

    def _specs_for(self, req: Request) -> tuple[HintSpec, ...]:
        """Declarations that apply to the endpoint: app-wide, its blueprints',
        its view's. Worked out once per endpoint."""
        specs = self._specs.get(req.endpoint)
        if specs is None:
            if not self._specs:
                self._check_blueprint_names(_current_app())
            found = [*self.declared.get(None, ())]
            for name in req.blueprints:
                found.extend(self.declared.get(name, ()))
            found.extend(declared_on(_current_app().view_functions.get(req.endpoint or "")))
            specs = self._specs[req.endpoint] = tuple(found)
        return specs

    def _check_blueprint_names(self, app: Flask) -> None:
        unknown = sorted(name for name in self.declared if name is not None and name not in app.blueprints)
        if unknown:
            logger.warning(
                "declare_hints(blueprint=...) names %s, which app %r has no blueprint called (nested "
                "blueprints are named 'parent.child'); known: %s",
                ", ".join(map(repr, unknown)),
                app.name,
                ", ".join(map(repr, sorted(app.blueprints))) or "none",
            )

    def before_request(self) -> None:
        settings = self.settings
        if not settings.enabled:
            return
        req = _current_request()
        environ = req.environ
        # Only an HTML navigation answered by a view gets declared and learned
        # hints: static files, fetch/XHR, POSTs and 404s are left alone.
        if (
            not early_hints_103.is_navigation(environ)
            or req.routing_exception is not None
            or not req.endpoint
            or is_static_endpoint(req.endpoint)
        ):
            return
        specs = self._specs_for(req)
        declared = resolve(specs, self.failures) if specs else []
        state = request_links() if declared else None
        if state is not None:
            state.declared = tuple(declared)
        if not (settings.early_hints and early_hints_103.can_send(environ, settings.early_hints_http1)):
            return
        candidates = [*declared, *settings.preconnect]
        if self.learner is not None:
            candidates.extend(self.learner.hints(_current_app(), req))
        # A 103 that reaches an HTTP/1.1 peer may meet a front that pushes its
        # links: what this client was already pushed stays out of it.
        pushing_front = (
            settings.early_hints_http1 and settings.front_pushes and not early_hints_103.speaks_http2(environ)
        )
        already_pushed = None
        if pushing_front and self.tracker is not None and any(link.pushable for link in candidates):
            state = state or request_links()
            state.tracked = self.failures.call(f"{self.tracker.name} load", None, self.tracker.load)
            already_pushed = state.tracked
        links = early_hints_103.assemble(
            candidates,
            pushing_front=pushing_front,
            already_pushed=already_pushed,
            max_links=settings.max_links,
            max_bytes=settings.max_header_bytes,
        )
        early_hints_103.send(environ, links, self.failures)

    def after_request(self, response: Response) -> Response:
        settings = self.settings
        if not settings.enabled:
            return response
        if self._lint is None:  # app.run(debug=True) sets debug after init_app
            self._lint = _current_app().debug
        lint = self._lint
        state = current_links()
        close_request(state)
        if state is None and not lint:
            return response
        req = _current_request()
        if lint:
            self.failures.call("lint", None, self._check, req, response)
        if state is None:
            return response
        links = self._links_for(state, response)
        # Read before the tracker touches the session: did the view itself?
        # (Asked only where the answer matters: a navigation carrying a cookie.)
        private = (
            self.learner is not None
            and "HTTP_COOKIE" in req.environ
            and early_hints_103.is_navigation(req.environ)
            and _view_read_session()
        )
        sent = write_links(req.method, response, links, settings, self.tracker, self.failures, self.memo, state.tracked)
        if lint:
            self.failures.call("lint", None, self.linter.hinted, sent)
        if self.learner is not None and sent:
            self.learner.observe(_current_app(), req, response, links, private)
        return response

    @staticmethod
    def _links_for(state: RequestLinks, response: Response) -> LinkCollection:
        """Declared links go on HTML responses only (a view answering a
        navigation with JSON or a file gets none); pushed ones always."""
        if not state.declared or response.mimetype != "text/html":
            return state.pushed
        merged = LinkCollection()
        for link in state.declared:
            merged.add(link)
        for link in state.pushed:
            merged.add(link)
        return merged

    def _check(self, req: Request, response: Response) -> None:
        self.linter.view_links(response)
        if is_static_endpoint(req.endpoint) and may_carry_links(req.method, response.status_code):
            query = req.query_string.decode("latin-1")
            self.linter.static_response(req.path + (f"?{query}" if query else ""), response)


_HOOKS: weakref.WeakKeyDictionary[Flask, _AppHooks] = weakref.WeakKeyDictionary()
_fallback_policy = FailurePolicy(strict=False)


def _hooks_of(app: Flask) -> _AppHooks:
    return _HOOKS[app]


class Firehose:
    """Flask extension that sends what a page needs before the page arrives.

    :param app: the app to initialise now; or call :meth:`init_app` later.
    :param connector: where pushed URLs are remembered per client. ``None``
        (the default) keeps a digest of them in a cookie of its own;
        :class:`~flask_firehose.SessionConnector` keeps them in the session
        under ``h2-pushed``, as 0.2.3 did; any object with
        ``get_pushed()``/``set_pushed(set)``, or a class whose two methods are
        static, replaces it.
    :param hint_store: where learned hints live; ``None`` keeps them in the
        Redis ``FIREHOSE_REDIS_URL`` names, if set, else in this process
        (:class:`~flask_firehose.learning.MemoryHintStore`).
    """

    def __init__(self, app: Flask | None = None, connector: object = None, hint_store: HintStore | None = None) -> None:
        self.connector = connector
        self.hint_store = hint_store
        self.app = app
        self._declared: dict[str | None, list[HintSpec]] = {}
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    def declare_hints(self, *hints: HintSpec, blueprint: str | None = None) -> None:
        """Declare hints for every page of the app, or of one *blueprint*.

        They go in the 103 before the view runs and in the final ``Link``
        header of HTML navigations answered by a view (never on static files,
        JSON, fetch/XHR requests, redirects or errors). Entries are URLs,
        :class:`~flask_firehose.Link` objects, or callables returning either
        (or an iterable of them), called per request. For one view, use the
        :func:`~flask_firehose.early_hints` decorator.

        :raises InvalidLinkError: at once, for a URL that cannot be a link.
        :raises RuntimeError: once an app of this extension has served its
            first request, as Flask's own setup methods do.
        """
        for app in self._apps:
            if getattr(app, "_got_first_request", False):
                raise RuntimeError(
                    f"declare_hints() was called after app {app.name!r} served its first request: declare "
                    "hints during setup, before the app runs (or on the view, with @early_hints)."
                )
        self._declared.setdefault(blueprint, []).extend(check_specs(hints))

    def init_app(self, app: Flask) -> None:
        """Read the ``FIREHOSE_*`` config, check the connector and the hint
        store, register the hooks and ``push``.

        :raises RuntimeError: when this app already has a Firehose.
        :raises ConfigurationError: for a bad config value, connector or
            hint store, naming it.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"Firehose is already initialised on app {app.name!r}: "
                "call Firehose(app) or init_app(app) once per app."
            )
        settings = Settings.from_config(app.config)
        failures = FailurePolicy(settings.strict)
        tracker: Tracker[Any] | None = tracker_for(self.connector, settings, failures)
        if not settings.tracking:
            tracker = None
        elif isinstance(tracker, SessionConnector) and not tracker.warned_no_secret and _session_needs_secret(app):
            tracker.warned_no_secret = True
            warnings.warn(
                f"app {app.name!r} has no SECRET_KEY, so its session cannot be written and pushes are not "
                "tracked: each page's links are pushed on every visit. Set SECRET_KEY (or "
                "FIREHOSE_TRACKING = False to silence this).",
                FirehoseWarning,
                stacklevel=2,
            )
        if self.hint_store is not None:
            check_store(self.hint_store)
        learner = None
        if settings.learn:
            store = self.hint_store or _default_store(settings)
            learner = Learner(store, settings.learn_prefixes, failures, own_cookie=settings.cookie.name)
            learner.check_setup(app)
        hooks = _AppHooks(settings, failures, tracker, self._declared, learner)
        app.extensions[EXTENSION_KEY] = self
        _HOOKS[app] = hooks
        self._apps.add(app)
        # First, so the 103 leaves before other hooks (auth, database) do their work.
        app.before_request_funcs.setdefault(None, []).insert(0, hooks.before_request)
        # Last of all after-request hooks (Flask runs them in reverse), so the
        # links, the caching and the Vary the learner judges are final.
        app.after_request_funcs.setdefault(None, []).insert(0, hooks.after_request)
        app.jinja_env.globals["push"] = push


def _default_store(settings: Settings) -> HintStore:
    """In this process, or in the Redis ``FIREHOSE_REDIS_URL`` names."""
    if settings.redis_url is None:
        return MemoryHintStore(min_seen=settings.learn_min_seen)
    try:
        from .redis_backend import RedisHintStore
    except ImportError:
        raise ConfigurationError(
            "FIREHOSE_REDIS_URL needs redis-py: pip install 'Flask-Firehose[redis]'",
            "FIREHOSE_REDIS_URL",
            settings.redis_url,
        ) from None
    return RedisHintStore(url=settings.redis_url, min_seen=settings.learn_min_seen)


def _view_read_session() -> bool:
    """Whether this request's session was read so far (Flask then adds
    ``Vary: Cookie``, after every after-request hook has run)."""
    state = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    found = state.get("_session", state.get("session"))
    return found is not None and bool(getattr(found, "accessed", True))


def _session_needs_secret(app: Flask) -> bool:
    """Whether the app's session is Flask's signed cookie without a key."""
    return not app.secret_key and type(app.session_interface) is SecureCookieSessionInterface
