"""The :class:`Firehose` extension and the :func:`push` function.

``init_app`` reads the configuration once, picks the tracker and registers one
``after_request`` hook and the ``push`` Jinja global; ``push()`` only validates
and collects, so all header work happens in one place after the view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, has_request_context

from .collection import current_collection, request_collection
from .config import Settings
from .final_header import write_links
from .links import link_from_push
from .tracking import Tracker, tracker_for

__all__ = ["EXTENSION_KEY", "Firehose", "push"]

#: Where ``init_app`` registers the extension in ``app.extensions``.
EXTENSION_KEY = "firehose"


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


class _AppHooks:
    """The per-app state behind the hook: settings and tracker, nothing else."""

    __slots__ = ("settings", "tracker")

    def __init__(self, settings: Settings, tracker: Tracker[Any] | None) -> None:
        self.settings = settings
        self.tracker = tracker

    def after_request(self, response: Response) -> Response:
        links = current_collection()
        if links is not None and self.settings.enabled:
            write_links(response, links, self.settings, self.tracker)
        return response


class Firehose:
    """Flask extension that sends what a page needs before the page arrives.

    :param app: the app to initialise now; or call :meth:`init_app` later.
    :param connector: where pushed URLs are remembered per client. ``None``
        (the default) keeps them in the session under ``h2-pushed``; any
        object or class with ``get_pushed()``/``set_pushed(set)`` replaces it.
    """

    def __init__(self, app: Flask | None = None, connector: object = None) -> None:
        self.connector = connector
        self.app = app
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the ``FIREHOSE_*`` config, register the hook and ``push``.

        :raises RuntimeError: when this app already has a Firehose.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"Firehose is already initialised on app {app.name!r}: "
                "call Firehose(app) or init_app(app) once per app."
            )
        settings = Settings.from_config(app.config)
        tracker = tracker_for(self.connector, settings.tracking_max_bytes) if settings.tracking else None
        hooks = _AppHooks(settings, tracker)
        app.extensions[EXTENSION_KEY] = self
        app.after_request(hooks.after_request)
        app.jinja_env.globals["push"] = push
