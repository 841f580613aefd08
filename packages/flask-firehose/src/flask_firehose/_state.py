"""One app's state: what ``init_app`` builds for it and each request reads.

The extension keeps one :class:`AppState` per app in a weak mapping (as
flask-sqlalchemy keeps its engines), so nothing one app declares or learns
reaches another, and an app that goes away takes its state with it.
:func:`state_of` finds it through ``app.extensions``; there is no
module-global registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from . import _early_hints
from ._config import Settings
from ._declared import ATTRIBUTE as HINTS_ATTRIBUTE
from ._declared import HintSpec, declared_limit
from ._failure import FailurePolicy
from ._final_header import FinalHeader
from ._learning import Learner
from ._links import Link
from ._lint import Linter
from ._memo import IdentityMemo
from ._scopes import Scopes
from ._speculation.no_vary_search import NoVarySearch, SearchVariance
from ._tracking import Tracker

if TYPE_CHECKING:
    from ._page_learning import PageLearning
    from ._speculation.delivery import Speculation
    from ._speculation.rules import RuleSpec

__all__ = ["EXTENSION_KEY", "AppState", "state_of"]

#: Where ``init_app`` registers the extension in ``app.extensions``.
EXTENSION_KEY = "firehose"


class AppState:
    """Everything Firehose keeps for one app.

    :param hints: ``declare_hints()`` declarations by blueprint (``None``:
        app-wide), kept so that later ones count until the first request.
    :param rules: ``speculate()`` declarations, kept in the same way;
        *variance*, ``no_vary_search()`` declarations.
    """

    def __init__(
        self,
        settings: Settings,
        failures: FailurePolicy,
        tracker: Tracker[Any] | None,
        learner: Learner | None,
        hints: dict[str | None, list[HintSpec]],
        rules: dict[str | None, list[RuleSpec]],
        variance: dict[str | None, list[NoVarySearch]] | None = None,
    ) -> None:
        self.settings = settings
        self.failures = failures
        self.tracker = tracker
        self.learner = learner
        #: Which hints apply to an endpoint.
        self.hints: Scopes[HintSpec] = Scopes(hints, HINTS_ATTRIBUTE, "declare_hints")
        #: The ``speculate()`` declarations by blueprint (the rules read them through their own scopes).
        self.rules = rules
        #: The app's Speculation Rules (set by ``init_app`` when they are on), or None.
        self.speculation: Speculation | None = None
        #: Most links one navigation reads from its declarations.
        self.declared_limit = declared_limit(settings.max_links)
        #: The page's policies the 103 carries for its preloads.
        self.policy = _early_hints.policy_headers(settings.early_hints_referrer_policy, settings.early_hints_csp)
        #: The final header's channel, with its remembered outcomes.
        self.final_header = FinalHeader(settings, failures, _learned_prefixes(learner) if learner is not None else None)
        #: The 103's links by the candidates they come from (when no client's pushes matter).
        self.early_hints_memo: IdentityMemo[tuple[tuple[Link, ...], str]] = IdentityMemo(256)
        #: A response's declared and pushed links merged, by their identities.
        self.merged_memo: IdentityMemo[tuple[Link, ...]] = IdentityMemo(256)
        self.linter = Linter()
        #: Development warnings on: ``None`` until the first request (``app.run(debug=True)`` sets debug late).
        self.lint = settings.lint
        #: What pages' own HTML and their visitors teach (set by ``init_app`` when learning is on), or None.
        self.pages: PageLearning | None = None
        #: Whether the hooks placed at the first request are in place.
        self.late_hooks = False
        #: The ``no_vary_search()`` declarations by blueprint, and by endpoint.
        self.variance = SearchVariance(variance if variance is not None else {})


def _learned_prefixes(learner: Learner) -> Callable[[], tuple[str, ...]]:
    """The learner's public-asset prefixes for the current app: a public
    response's header keeps links under the same prefixes learning does."""
    return lambda: learner.prefixes(current_app._get_current_object())  # type: ignore[attr-defined]


def state_of(app: Flask) -> AppState | None:
    """The state the extension keeps for *app*, if Firehose is initialised on it."""
    extension = app.extensions.get(EXTENSION_KEY)
    found = getattr(extension, "_state_of", None)
    state = found(app) if found is not None else None
    return state if isinstance(state, AppState) else None
