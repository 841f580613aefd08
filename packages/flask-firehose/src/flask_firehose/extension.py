"""The :class:`Firehose` extension and the :func:`push` function.

``init_app`` reads the configuration once and registers two hooks: before the
view, one 103 with the hints known for the endpoint (declared and learned);
after it, one ``Link`` header with everything the request pushed, then the
tracker, the learner and, in development, the lint. ``push()`` only validates
and collects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, current_app, has_request_context, request

from . import budget, early_hints_103
from .collection import LinkCollection, current_collection, request_collection
from .config import Settings
from .declared import HintSpec, declared_on, resolve
from .final_header import may_carry_links, write_links
from .learning import HintStore, MemoryHintStore, learnable
from .links import Link, link_from_push
from .lint import Linter
from .tracking import Tracker, tracker_for

__all__ = ["EXTENSION_KEY", "Firehose", "push"]

#: Where ``init_app`` registers the extension in ``app.extensions``.
EXTENSION_KEY = "firehose"

_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]


def push(url: str, *args: object, **attrs: object) -> str:
    """Hint (and, behind a pushing proxy, push) *url* with this response.

    Usable in views and, as a Jinja global, in templates; returns *url*
    unchanged so it can sit inside ``href``. Keyword and positional arguments
    become link attributes as in 0.2.3: ``push(url, 'nopush', as_='font')``
    (``as_`` and ``**{'as': ...}`` mean the same). ``rel`` defaults to
    ``preload`` and ``as`` to what the extension says.

    :raises InvalidLinkError: (a ``ValueError``) for a URL or attribute that
        cannot be written into a header, naming the bad value.
    :raises RuntimeError: outside a request, or in an app where Firehose was
        never initialised.
    """
    if not has_request_context():
        raise RuntimeError(
            "push() needs an active request: call it from a view or a template rendered by one "
            "(in tests, inside app.test_request_context())."
        )
    links = current_collection()
    if links is None:
        if EXTENSION_KEY not in current_app.extensions:
            raise RuntimeError(
                f"Firehose is not initialised on app {current_app.name!r}: "
                "call Firehose(app) or firehose.init_app(app) before using push()."
            )
        links = request_collection()
    links.add(link_from_push(url, args, attrs))
    return url


def _static_prefixes(app: Flask) -> tuple[str, ...]:
    """URL prefixes of the app's and blueprints' static routes."""
    return tuple(
        rule.rule.split("<", 1)[0]
        for rule in app.url_map.iter_rules()
        if rule.endpoint == "static" or rule.endpoint.endswith(".static")
    )


class _AppHooks:
    """The per-app state behind the hooks; reads nothing from the extension."""

    def __init__(
        self,
        settings: Settings,
        tracker: Tracker[Any] | None,
        declared: dict[str | None, list[HintSpec]],
        store: HintStore | None,
    ) -> None:
        self.settings = settings
        self.tracker = tracker
        self.declared = declared
        self.store = store
        self.linter = Linter()
        self._prefixes = settings.learn_prefixes
        self._lint = settings.lint
        self._specs: dict[str | None, tuple[HintSpec, ...]] = {}
        self._learnable: dict[Link, Link | None] = {}

    def _learn_prefixes(self) -> tuple[str, ...]:
        if self._prefixes is None:  # blueprints register after init_app
            self._prefixes = _static_prefixes(current_app)
        return self._prefixes

    def _specs_for(self, req: Request) -> tuple[HintSpec, ...]:
        """Declarations that apply to the endpoint: app-wide, its blueprints',
        its view's. Worked out once per endpoint."""
        specs = self._specs.get(req.endpoint)
        if specs is None:
            found = [*self.declared.get(None, ())]
            for name in req.blueprints:
                found.extend(self.declared.get(name, ()))
            found.extend(declared_on(current_app.view_functions.get(req.endpoint or "")))
            specs = self._specs[req.endpoint] = tuple(found)
        return specs

    def before_request(self) -> None:
        settings = self.settings
        if not settings.enabled:
            return
        req = _current_request()
        specs = self._specs_for(req)
        declared = None
        if specs:
            declared = request_collection()
            for link in resolve(specs):
                declared.add(link)
        environ = req.environ
        if not (
            settings.early_hints
            and early_hints_103.can_send(environ, settings.early_hints_http1)
            and early_hints_103.is_navigation(environ)
        ):
            return
        hints = LinkCollection()
        for link in declared or ():
            if (hint := early_hints_103.hint_form(link)) is not None:
                hints.add(hint)
        if self.store is not None and req.endpoint:
            for link in self.store.learned(req.endpoint):
                hints.add(link)
        chosen = budget.select(hints, settings.max_links, settings.max_header_bytes, settings.max_links)
        early_hints_103.send(environ, chosen.kept)

    def after_request(self, response: Response) -> Response:
        settings = self.settings
        if not settings.enabled:
            return response
        if self._lint is None:  # app.run(debug=True) sets debug after init_app
            self._lint = current_app.debug
        lint = self._lint
        links = current_collection()
        if links is None and not lint:
            return response
        req = _current_request()
        if lint:
            self._check(req, response)
        if links is None:
            return response
        sent = write_links(req.method, response, links, settings, self.tracker)
        if lint:
            self.linter.hinted(sent)
        if self.store is not None and sent:
            self._learn(self.store, req, response, links)
        return response

    def _learn(self, store: HintStore, req: Request, response: Response, links: LinkCollection) -> None:
        if req.endpoint and early_hints_103.is_navigation(req.environ) and response.mimetype == "text/html":
            hints = (self._learnable_form(link) for link in links)
            store.observe(req.endpoint, [hint for hint in hints if hint is not None])

    def _learnable_form(self, link: Link) -> Link | None:
        """The 103 form of *link* if it may be learned, else ``None``; cached,
        since pages push the same few links on every request."""
        try:
            return self._learnable[link]
        except KeyError:
            pass
        if len(self._learnable) >= 4096:
            self._learnable.clear()
        form = early_hints_103.hint_form(link) if learnable(link, self._learn_prefixes()) else None
        self._learnable[link] = form
        return form

    def _check(self, req: Request, response: Response) -> None:
        self.linter.view_links(response)
        endpoint = req.endpoint or ""
        if (endpoint == "static" or endpoint.endswith(".static")) and may_carry_links(req.method, response.status_code):
            query = req.query_string.decode("latin-1")
            self.linter.static_response(req.path + (f"?{query}" if query else ""), response)


class Firehose:
    """Flask extension that sends what a page needs before the page arrives.

    :param app: the app to initialise now; or call :meth:`init_app` later.
    :param connector: where pushed URLs are remembered per client. ``None``
        (the default) keeps them in the session under ``h2-pushed``; any
        object or class with ``get_pushed()``/``set_pushed(set)`` replaces it.
    :param hint_store: where learned hints live; ``None`` keeps them in this
        process (:class:`~flask_firehose.learning.MemoryHintStore`).
    """

    def __init__(self, app: Flask | None = None, connector: object = None, hint_store: HintStore | None = None) -> None:
        self.connector = connector
        self.hint_store = hint_store
        self.app = app
        self._declared: dict[str | None, list[HintSpec]] = {}
        if app is not None:
            self.init_app(app)

    def declare_hints(self, *hints: HintSpec, blueprint: str | None = None) -> None:
        """Declare hints for every page of the app, or of one *blueprint*.

        They go in the 103 before the view runs and in the final ``Link``
        header. Entries are URLs, :class:`~flask_firehose.Link` objects, or
        callables returning either (or an iterable of them), called per request.
        For one view, use the :func:`~flask_firehose.early_hints` decorator.
        """
        self._declared.setdefault(blueprint, []).extend(hints)

    def init_app(self, app: Flask) -> None:
        """Read the ``FIREHOSE_*`` config, register the hooks and ``push``.

        :raises RuntimeError: when this app already has a Firehose.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"Firehose is already initialised on app {app.name!r}: "
                "call Firehose(app) or init_app(app) once per app."
            )
        settings = Settings.from_config(app.config)
        tracker = tracker_for(self.connector, settings.tracking_max_bytes) if settings.tracking else None
        store = None
        if settings.learn:
            store = self.hint_store or MemoryHintStore(min_seen=settings.learn_min_seen)
        hooks = _AppHooks(settings, tracker, self._declared, store)
        app.extensions[EXTENSION_KEY] = self
        # First, so the 103 leaves before other hooks (auth, database) do their work.
        app.before_request_funcs.setdefault(None, []).insert(0, hooks.before_request)
        app.after_request(hooks.after_request)
        app.jinja_env.globals["push"] = push
