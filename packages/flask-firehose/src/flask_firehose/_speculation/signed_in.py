"""Speculation for signed-in users: who is signed in, and what their pages may ask for.

Speculating for a signed-in user costs the server a personalised render that
may never be seen, and a prerender runs the page's scripts (analytics, "mark
as read") before the user chose to see it. ``FIREHOSE_SPECULATION_SIGNED_IN``
chooses, for the whole app, what a signed-in user's pages ask for:

``"prefetch"`` (the default)
    prerender rules become prefetch rules (no ``target_hint``): the browser
    fetches the next page's HTML, runs nothing, and the click still saves the
    round trip and the server's time.
``"off"``
    no rules at all.
``"declared"``
    the rules as declared.

Who is signed in: ``FIREHOSE_SIGNED_IN``, a callable the app gives
(``lambda: current_user.is_authenticated``), called once per request; without
one, a request that says who sent it (a cookie other than Firehose's own
digest, HTTP authentication, a client certificate): when in doubt, signed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, MutableMapping
from typing import Final

from flask import Request

from .._collection import current_context, opened_session
from .._failure import FailurePolicy
from .._links import safe_repr
from .._requests import FACTS_ATTRIBUTE, RequestFacts, carries_credentials
from .rules import PRERENDERS, RuleSpec

__all__ = ["SignedIn", "for_signed_in"]

# Set on a request context once the answer is known.
_ANSWER: Final = "_firehose_signed_in"


class SignedIn:
    """Who is signed in, for one app.

    :param check: ``FIREHOSE_SIGNED_IN``: a callable answering for the
        current request, or ``None`` to judge by the request's credentials.
    :param own_cookie: Firehose's own digest cookie, which says nothing of the user.
    """

    def __init__(self, check: Callable[[], object] | None, own_cookie: str | None, failures: FailurePolicy) -> None:
        self.check = check
        self.own_cookie = own_cookie
        self.failures = failures

    def __call__(self, req: Request, *, quiet: bool = True) -> bool:
        """Whether *req*'s user is signed in; asked once per request. A
        check that fails counts as signed in (and is logged).

        *quiet*: a session the check reads stays as unread as it was, so
        Flask adds no ``Vary: Cookie`` for Firehose's own question (asked
        after the view, about a page anyone may be served). Not before the
        view: a user loader that caches the user (Flask-Login) would then
        leave the view's own reads unmarked."""
        context = current_context()
        if context is not None:
            known = getattr(context, _ANSWER, None)
            if known is not None:
                return bool(known)
        if quiet and context is not None:
            answer = _unread(context, lambda: self._answer(req, context))
        else:
            answer = self._answer(req, context)
        if context is not None:
            setattr(context, _ANSWER, answer)
        return answer

    def _answer(self, req: Request, context: object) -> bool:
        if self.check is not None:
            return self.failures.call(
                "FIREHOSE_SIGNED_IN (so the request counts as signed in: prerender rules sent as prefetch, this "
                "app's prerenders refused)",
                True,
                _asked,
                self.check,
            )
        facts: RequestFacts | None = getattr(context, FACTS_ATTRIBUTE, None)
        if facts is not None:
            return facts.credentials
        return carries_credentials(req.environ, self.own_cookie)


def _asked(check: Callable[[], object]) -> bool:
    """*check*'s answer, which must be ``True`` or ``False``: a user object
    (``lambda: current_user``) is truthy for anonymous users too."""
    answer = check()
    if not isinstance(answer, bool):
        raise TypeError(
            f"FIREHOSE_SIGNED_IN returned {safe_repr(answer)}, not True or False (write, say, "
            "lambda: current_user.is_authenticated)"
        )
    return answer


def _unread(context: object, func: Callable[[], bool]) -> bool:
    """``func()``, the session of *context* (a request context) left as read
    or unread as it was."""
    found = opened_session(context)
    before = getattr(found, "accessed", True)
    try:
        return func()
    finally:
        if before is False:
            found.accessed = False


def for_signed_in(
    specs: Iterable[RuleSpec], choice: str, made: MutableMapping[RuleSpec, RuleSpec]
) -> tuple[RuleSpec, ...]:
    """The rules a signed-in user's page gets under *choice* (one of
    :data:`~flask_firehose._speculation.rules.SIGNED_IN_CHOICES`). *made* keeps each prefetch rule made from a prerender
    rule, so a rule stays the same object from one request to the next."""
    if choice == "off":
        return ()
    if choice == "declared":
        return tuple(specs)
    found = []
    for spec in specs:
        if spec.action in PRERENDERS:
            twin = made.get(spec)
            if twin is None:
                twin = made[spec] = dataclasses.replace(spec, action="prefetch", target_hint=None)
            spec = twin
        found.append(spec)
    return tuple(found)
