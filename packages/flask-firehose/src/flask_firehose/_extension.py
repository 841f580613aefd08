"""The :class:`Firehose` extension: it wires, and keeps each app's state.

``init_app`` reads the configuration once, checks the connector and the hint
store, builds the tracker and the learner into the app's
:class:`~flask_firehose._state.AppState`, and registers the request hooks
(:mod:`flask_firehose._hooks`) and :func:`~flask_firehose._push.push` as a
Jinja global. Declarations (``declare_hints()``, ``speculate()``) go to the
app they are for.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, TypeVar

from flask import Flask
from flask.ctx import AppContext
from flask.globals import _cv_app
from flask.sessions import SecureCookieSessionInterface

from ._config import Settings
from ._connectors import SessionConnector
from ._declared import HintSpec, check_specs
from ._failure import FailurePolicy, logger
from ._hint_store import HintStore, MemoryHintStore, check_store
from ._hooks import RequestHooks, register
from ._learning import Learner
from ._learning_scope import namespace_for
from ._links import safe_repr
from ._page_learning import PageLearning
from ._push import push
from ._speculation.delivery import Speculation
from ._speculation.no_vary_search import NoVarySearch, make_no_vary_search
from ._speculation.rules import RuleOptions, RuleSpec, make_spec
from ._speculation.signed_in import SignedIn
from ._speculation.views import no_speculation
from ._state import EXTENSION_KEY, AppState
from ._tracking import Tracker, tracker_for
from .errors import ConfigurationError, FirehoseWarning

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._lcp.store import LcpStore
    from ._redis import RedisHintStore

__all__ = ["Firehose"]

T = TypeVar("T")

#: Distinct visitors per viewport class whose LCP reports must agree.
LCP_SAMPLES = 3


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
        (:class:`~flask_firehose.MemoryHintStore`).
    """

    def __init__(self, app: Flask | None = None, connector: object = None, hint_store: HintStore | None = None) -> None:
        self.connector = connector
        self.hint_store = hint_store
        self.app = app
        # Declarations made before any app was initialised: every app gets them.
        self._declared: dict[str | None, list[HintSpec]] = {}
        self._speculation: dict[str | None, list[RuleSpec]] = {}
        self._variance: dict[str | None, list[NoVarySearch]] = {}
        # Each app's own state (as flask-sqlalchemy keeps its engines): nothing
        # one app declares or learns reaches another, and an app that goes away
        # takes its state with it.
        self._per_app: weakref.WeakKeyDictionary[Flask, AppState] = weakref.WeakKeyDictionary()
        # Declarations given with app= (or in its app context) before init_app(app).
        self._pending: weakref.WeakKeyDictionary[Flask, _Declarations] = weakref.WeakKeyDictionary()
        # The app initialised last, and the app context active then (if any).
        self._last_app: weakref.ref[Flask] | None = None
        self._last_context: Callable[[], AppContext | None] = _no_context
        if app is not None:
            self.init_app(app)

    def _declarations_for(self, app: Flask | None, what: str, at_import: bool) -> list[_Declarations]:
        """Where a declaration made now goes (see :meth:`declare_hints`).

        :raises RuntimeError: when that app has served its first request.
        """
        if app is None:
            context = _cv_app.get(None)
            if context is not None and context is not self._last_context():
                app = context.app  # an app context entered since the last init_app
            elif at_import:
                return self._for_every_app(what)
            elif self._last_app is not None:
                app = self._last_app()
        if app is None:  # no app yet: a default for every app initialised later
            return [_Declarations(self._declared, self._speculation, self._variance)]
        if not isinstance(app, Flask):
            raise TypeError(f"{what}(app=...) takes a Flask app, not {safe_repr(app)}")
        state = self._per_app.get(app)
        if state is None:  # declared for an app before init_app(app)
            return [self._pending.setdefault(app, _Declarations({}, {}, {}))]
        if getattr(app, "_got_first_request", False):
            raise RuntimeError(
                f"{what}() was called after app {app.name!r} served its first request: declare during setup, "
                f"before the app runs (in an app factory: call init_app(app) first, then {what}(), or pass "
                f"app=app; for one view, use the decorator)."
            )
        return [_Declarations(state.hints.table, state.rules, state.variance.scopes.table)]

    def _for_every_app(self, what: str) -> list[_Declarations]:
        """A module's top-level declaration runs once, when the module is first
        imported (a blueprint's module imported inside ``create_app``, say):
        it is for every app, those initialised later and those still being
        set up; an app that already serves keeps what it has, with a warning."""
        found = [_Declarations(self._declared, self._speculation, self._variance)]
        for app, state in list(self._per_app.items()):
            if getattr(app, "_got_first_request", False):
                logger.warning(
                    "%s() at a module's top level came after app %r served its first request: that app does "
                    "not get it (declare during setup)",
                    what,
                    app.name,
                )
            else:
                found.append(_Declarations(state.hints.table, state.rules, state.variance.scopes.table))
        return found

    def declare_hints(self, *hints: HintSpec, blueprint: str | None = None, app: Flask | None = None) -> None:
        """Declare hints for every page of an app, or of one *blueprint*.

        They go in the 103 before the view runs and in the final ``Link``
        header of HTML navigations answered by a view (never on static files,
        JSON, fetch/XHR requests, redirects or errors). Entries are URLs,
        :class:`~flask_firehose.Link` objects, or callables returning either
        (or an iterable of them), called per request. For one view, use the
        :func:`~flask_firehose.early_hints` decorator.

        Which app: *app* when given; else the app of an app context entered
        since the last ``init_app``; else, from a module's top level (run once,
        on import), every app: those still being set up and those initialised
        later; else the app this extension initialised last (in an app
        factory, call ``init_app(app)`` first, then declare); before any
        ``init_app``, every app this extension initialises later.

        :raises InvalidLinkError: at once, for a URL that cannot be a link.
        :raises RuntimeError: once that app has served its first request, as
            Flask's own setup methods do.
        """
        checked = check_specs(hints)
        at_import = sys._getframe(1).f_code.co_name == "<module>"
        for target in self._declarations_for(app, "declare_hints", at_import):
            target.hints.setdefault(blueprint, []).extend(checked)

    #: Mark a view never to be speculated (:func:`~flask_firehose.no_speculation`).
    no_speculation = staticmethod(no_speculation)

    def speculate(
        self,
        action: str = "prerender",
        *,
        blueprint: str | None = None,
        app: Flask | None = None,
        **options: Unpack[RuleOptions],
    ) -> None:
        """Declare a Speculation Rule for every page of the app, or of one *blueprint*:
        the browser fetches (``prefetch``) or fully loads (``prerender``) the
        next page before the click.

        The rules go to HTML navigations answered by a view, in a
        ``Speculation-Rules`` header naming a cached resource, or inline with
        ``{{ speculation_rules() }}``. For one view, use the
        :func:`~flask_firehose.speculation` decorator. With no URL, endpoint,
        pattern or selector, the rule covers every same-origin link of the page.

        :param action: ``"prerender"``, ``"prefetch"`` or
            ``"prerender_until_script"`` (loads the page, runs its scripts at
            the click; written with a ``prefetch`` twin for other browsers).
        :param eagerness: ``"conservative"`` (pointer down), ``"moderate"``
            (a 200 ms hover), ``"eager"`` (a 10 ms hover on desktop) or
            ``"immediate"`` (at once).
        :param urls: paths on this site (a list rule).
        :param endpoints: endpoint names, or ``(name, values)``, resolved with
            ``url_for`` in each request (a list rule). Values that are
            callables are called per request: such rules go inline only.
        :param href_matches: URL patterns (``"/articles/*"``, ``"/u/:name"``,
            ``"/search?*q=*"``) a link must match (a document rule).
        :param selector_matches: a CSS selector a link must match (a document rule).
        :param exclude: endpoint names and URL patterns this rule leaves out, on
            top of the built-in exclusions (logout-like routes, routes without
            GET, ``@no_speculation`` views, ``FIREHOSE_SPECULATION_EXCLUDE``).
        :param target_hint: ``"_blank"`` for a prerender rule whose links open
            a new tab (``"_self"``: the default).
        :param tag: a tag for this rule, sent back in ``Sec-Speculation-Tags``
            (Chromium before 136 drops a rule holding one).
        :param blueprint: the blueprint whose pages get the rule.
        :param app: the app the rule is for, chosen as for :meth:`declare_hints`.

        .. versionadded:: 1.0

        :raises ConfigurationError: for a bad action, eagerness, endpoint,
            selector, exclusion, target hint, tag or blueprint, naming the value.
        :raises InvalidURLError: for a URL or pattern that is not a path on this site.
        :raises TypeError: for a keyword argument that is none of the above.
        :raises RuntimeError: once that app has served its first request.
        """
        targets = self._declarations_for(app, "speculate", sys._getframe(1).f_code.co_name == "<module>")
        if blueprint is not None and not isinstance(blueprint, str):
            raise ConfigurationError(f"blueprint must be a blueprint's name, not {blueprint!r}", "blueprint", blueprint)
        spec = make_spec(action, **options)
        for target in targets:
            target.rules.setdefault(blueprint, []).append(spec)

    def no_vary_search(
        self,
        ignore: Iterable[str] | None = None,
        *,
        keep: Iterable[str] | None = None,
        key_order: bool = False,
        blueprint: str | None = None,
        app: Flask | None = None,
    ) -> None:
        """Declare which query parameters do not change the responses of every
        page of the app, or of one *blueprint*; a view declares its own with
        the :func:`~flask_firehose.no_vary_search` decorator, and the most
        specific declaration wins (view, blueprint, app).

        The endpoints' responses to GET and HEAD get a ``No-Vary-Search``
        header, and list rules naming their URLs carry it as
        ``expects_no_vary_search``.

        :param ignore: the parameters the responses do not depend on.
        :param keep: instead: the only parameters they depend on.
        :param key_order: the order of the parameters does not matter either.
        :param blueprint: the blueprint whose pages it is for.
        :param app: the app it is for, chosen as for :meth:`declare_hints`.

        .. versionadded:: 1.0

        :raises ConfigurationError: for a bad name or blueprint, both *ignore*
            and *keep*, or a declaration that says nothing.
        :raises RuntimeError: once that app has served its first request.
        """
        targets = self._declarations_for(app, "no_vary_search", sys._getframe(1).f_code.co_name == "<module>")
        if blueprint is not None and not isinstance(blueprint, str):
            raise ConfigurationError(f"blueprint must be a blueprint's name, not {blueprint!r}", "blueprint", blueprint)
        declared = make_no_vary_search(ignore, keep=keep, key_order=key_order)
        for target in targets:
            target.variance.setdefault(blueprint, []).append(declared)

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
        elif isinstance(tracker, SessionConnector) and _session_needs_secret(app):  # each app warned on its own
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
            store = self.hint_store if self.hint_store is not None else _default_store(settings)
            learner = Learner(
                store,
                settings.learn_prefixes,
                failures,
                namespace=namespace_for(app.name, settings.learn_namespace),
            )
            learner.check_setup(app)
        # This app's own declarations: the defaults, then those made for it
        # before init_app; later ones are added to these copies only.
        pending = self._pending.pop(app, None)
        declared = _merged(self._declared, pending.hints if pending else {})
        rules = _merged(self._speculation, pending.rules if pending else {})
        variance = _merged(self._variance, pending.variance if pending else {})
        state = AppState(settings, failures, tracker, learner, declared, rules, variance)
        speculation = Speculation(
            failures,
            rules,
            active=settings.enabled and settings.speculation,
            prefix=settings.speculation_prefix,
            exclude=settings.speculation_exclude,
            variance=state.variance,
            tag=settings.speculation_tag,
            signed_in=SignedIn(settings.signed_in, settings.cookie.name, failures),
            signed_in_choice=settings.speculation_signed_in,
        )
        speculation.register(app)
        if settings.enabled and settings.speculation:
            state.speculation = speculation
            if settings.speculation_tag is None and settings.speculation_signed_in != "declared":
                logger.info(
                    "app %r: FIREHOSE_SPECULATION_TAG is None, so speculations of its own rules cannot be told "
                    "from others: those beyond FIREHOSE_SPECULATION_SIGNED_IN=%r are not refused",
                    app.name,
                    settings.speculation_signed_in,
                )
        if learner is not None and (settings.learn_from_html or settings.lcp):
            state.pages = _page_learning(app, settings, failures, learner, self.hint_store)
        app.extensions[EXTENSION_KEY] = self
        self._per_app[app] = state
        self._last_app = weakref.ref(app)
        context = _cv_app.get(None)
        self._last_context = weakref.ref(context) if context is not None else _no_context
        register(app, RequestHooks(state))
        app.jinja_env.globals["push"] = push

    def _state_of(self, app: Flask) -> AppState | None:
        """The state this extension keeps for *app* (see :func:`flask_firehose._state.state_of`)."""
        return self._per_app.get(app)


def _no_context() -> None:
    return None


class _Declarations(NamedTuple):
    """Where declarations made for one app (or for every app) are kept."""

    hints: dict[str | None, list[HintSpec]]
    rules: dict[str | None, list[RuleSpec]]
    variance: dict[str | None, list[NoVarySearch]]


def _merged(*tables: Mapping[str | None, list[T]]) -> dict[str | None, list[T]]:
    """New lists per scope, the tables' entries in order."""
    merged: dict[str | None, list[T]] = {}
    for table in tables:
        for scope, entries in table.items():
            merged.setdefault(scope, []).extend(entries)
    return merged


def _default_store(settings: Settings) -> HintStore:
    """In this process, or in the Redis ``FIREHOSE_REDIS_URL`` names."""
    if settings.redis_url is None:
        return MemoryHintStore(min_seen=settings.learn_min_seen)
    try:
        from ._redis import RedisHintStore
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "redis":
            raise
        raise ConfigurationError(
            "FIREHOSE_REDIS_URL needs the redis package (redis-py): pip install redis",
            "FIREHOSE_REDIS_URL",
            settings.redis_url,
        ) from None
    return RedisHintStore(url=settings.redis_url, min_seen=settings.learn_min_seen)


def _page_learning(
    app: Flask, settings: Settings, failures: FailurePolicy, learner: Learner, hint_store: object
) -> PageLearning:
    """What *app*'s pages and their visitors teach: the page reading, and
    the LCP learning with its report routes when ``FIREHOSE_LCP`` is on."""
    lcp = None
    if settings.lcp:
        from ._lcp import LcpLearning

        # The app's key, read when a token is made (apps set it after
        # init_app); through a weak reference, so the app can go away.
        owner = weakref.ref(app)

        def secret() -> str | bytes | None:
            found = owner()
            return found.secret_key if found is not None else None

        lcp = LcpLearning(
            store=_lcp_store(settings, hint_store),
            failures=failures,
            secret=secret,
            path=settings.lcp_path,
            samples=LCP_SAMPLES,
        )
        lcp.register(app)
    return PageLearning(learner, failures, read_html=settings.learn_from_html, lcp=lcp, behind_cdn=settings.behind_cdn)


def _lcp_store(settings: Settings, hint_store: object) -> LcpStore:
    """Where visitors' LCP reports are kept: with the learned hints when
    they are in Redis (``FIREHOSE_REDIS_URL``, or a Redis hint store's
    client), else in this process."""
    if settings.redis_url is not None:
        from ._redis import RedisLcpStore

        return RedisLcpStore(url=settings.redis_url, samples=LCP_SAMPLES)
    if "redis" in sys.modules and _is_redis_store(hint_store):
        from ._redis import RedisLcpStore

        return RedisLcpStore(
            hint_store.client,
            prefix=f"{hint_store.prefix}lcp:",  # apart as the hint stores are
            samples=LCP_SAMPLES,
            timeout=hint_store.timeout,
            retry_after=hint_store.retry_after,
        )
    from ._lcp import MemoryLcpStore

    return MemoryLcpStore(samples=LCP_SAMPLES)


def _is_redis_store(store: object) -> TypeGuard[RedisHintStore]:
    """Whether *store* is a :class:`~flask_firehose.RedisHintStore` (asked
    only once redis-py is imported: no store can be one before)."""
    from ._redis import RedisHintStore as Store

    return isinstance(store, Store)


def _session_needs_secret(app: Flask) -> bool:
    """Whether the app's session is Flask's signed cookie without a key."""
    return not app.secret_key and type(app.session_interface) is SecureCookieSessionInterface
