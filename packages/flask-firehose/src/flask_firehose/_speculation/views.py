"""Speculation Rules where a view asks: ``@speculation``, ``@no_speculation``
and ``is_speculative()``.

The decorators keep their declarations on the view (read through the app's
:class:`~flask_firehose._scopes.Scopes`); the marks a request context gets
(rules written inline, the header sent) are named here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

from .._collection import current_context
from .._requests import FACTS_ATTRIBUTE, RequestFacts, is_prefetch_purpose
from .._scopes import view_holders
from .._state import state_of
from .rules import RuleOptions, make_spec
from .tags import HEADER as TAGS_HEADER
from .tags import parse_tags

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "HEADER_SENT",
    "INLINE",
    "MARK",
    "RULES",
    "is_speculative",
    "marked",
    "no_speculation",
    "speculation",
]

F = TypeVar("F", bound=Callable[..., object])

#: Where ``@speculation`` keeps a view's rules.
RULES: Final = "_firehose_speculation"
#: Where ``@no_speculation`` marks a view.
MARK: Final = "_firehose_no_speculation"
#: Set on a request context once its rules were written inline.
INLINE: Final = "_firehose_speculation_inline"
#: Set on a request context once its ``Speculation-Rules`` header went out.
HEADER_SENT: Final = "_firehose_speculation_header"


def speculation(action: str = "prerender", **options: Unpack[RuleOptions]) -> Callable[[F], F]:
    """Declare a speculation rule for the pages one view renders; stack with
    the route decorator in either order::

        @app.get("/")
        @speculation("prerender", href_matches="/articles/*")
        def index(): ...

    The arguments are those of :meth:`Firehose.speculate <flask_firehose.Firehose.speculate>`
    (``eagerness``, ``urls``, ``endpoints``, ``href_matches``,
    ``selector_matches``, ``exclude``, ``target_hint``, ``tag``), bar
    ``blueprint`` and ``app``.

    .. versionadded:: 1.0

    :raises ConfigurationError: for a bad action, eagerness, endpoint, selector,
        exclusion, target hint or tag, naming the value.
    :raises InvalidURLError: for a URL or pattern that is not a path on this site.
    """
    spec = make_spec(action, **options)

    def decorate(view: F) -> F:
        setattr(view, RULES, (*getattr(view, RULES, ()), spec))
        return view

    return decorate


def no_speculation(view: F) -> F:
    """Mark a view whose URLs must never be speculated (it changes state when
    asked for with GET, or belongs to one moment): every rule of the app leaves
    its route out::

        @app.get("/unsubscribe/<token>")
        @no_speculation
        def unsubscribe(token): ...

    .. versionadded:: 1.0
    """
    setattr(view, MARK, True)
    return view


def marked(view: object) -> bool:
    """Whether ``@no_speculation`` marks *view* (or its class, or its ``get``)."""
    return any(getattr(holder, MARK, False) for holder in view_holders(view))


def is_speculative(tag: str | None = None, *, own: bool = False) -> bool:
    """Whether the current request is a browser's speculation (``Sec-Purpose:
    prefetch``, or ``prefetch;prerender``): the page may never be shown, so a
    view can skip side effects (analytics, "last seen"). ``False`` outside a
    request.

    :param tag: only a speculation whose ``Sec-Speculation-Tags`` name this
        tag (a rule's ``tag=``, or the rule set's) counts.
    :param own: only a speculation this app's rules asked for counts: its
        ``Sec-Speculation-Tags`` name ``FIREHOSE_SPECULATION_TAG``. Browsers
        that know tags (Chromium 136+) send them; for others, and for a CDN's
        or another library's speculations, this is ``False``.

    The header comes from the client: use it to save work, never to decide
    who may see what. A prerendered page that is shown is not asked for again:
    count views in the page (``document.prerendering`` and the
    ``prerenderingchange`` event) if they must be exact.

    :raises TypeError: for a *tag* that is not a non-empty str.

    .. versionadded:: 1.0
    """
    if tag is not None and (not isinstance(tag, str) or not tag):
        raise TypeError(
            f"is_speculative(tag=...) takes a rule's tag, a non-empty str, not {tag!r}"
            + (" (for this app's own speculations: is_speculative(own=True))" if isinstance(tag, bool) else "")
        )
    context = current_context()
    if context is None:
        return False
    facts: RequestFacts | None = getattr(context, FACTS_ATTRIBUTE, None)  # the hooks' answer, if asked
    environ = context.request.environ
    speculative = facts.speculative if facts is not None else is_prefetch_purpose(environ.get("HTTP_SEC_PURPOSE"))
    if not speculative or (tag is None and not own):
        return speculative
    tags = parse_tags(environ.get(TAGS_HEADER)) or ()
    if tag is not None and tag not in tags:
        return False
    if own:
        state = state_of(context.app)
        ours = state.settings.speculation_tag if state is not None else None
        return ours is not None and ours in tags
    return True
