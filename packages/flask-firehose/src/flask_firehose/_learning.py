"""Learning each endpoint's hints from its own successful HTML responses.

A learned hint goes into the 103 of *every* client that asks for the
endpoint, so what may be learned is narrow by construction: only public static
assets of this app, so that nothing one user's page holds reaches another's.
:class:`Learner` owns that policy; a :class:`~flask_firehose.HintStore` only
keeps counts.

A link is learned only when all of this holds:

* it is a public link (:func:`is_public_link`), checked whole: its ``rel`` is
  exactly ``preload`` or ``modulepreload``; ``as`` is a known destination and
  ``crossorigin`` one of its three values; its other parameters are only
  ``type`` (a MIME type) and ``fetchpriority`` (``high``, ``low``, ``auto``),
  values that cannot hold a URL or anything of one request. A link with any
  other parameter (``imagesrcset``, ``imagesizes``, ``media``, ``integrity``,
  ``referrerpolicy``, ``nonce``, ``title``, ``anchor``, an extension) is left
  out whole, not stripped: ``imagesrcset`` can carry one visitor's
  capability URL, and a link stripped of ``integrity`` or ``media`` would
  not mean what the page meant. It stays in that page's final header;
* its target is a same-origin path, normalised (no ``.``/``..`` or empty
  segments, no encoded ``/``, ``\\``, ``.`` or control character, no ``;``
  parameters, no fragment), at most 2048 characters, with no query other
  than one cache-busting version (``?v=3f9a1c``, also ``ver``, ``version``,
  ``h``, ``hash``, ``rev``, ``build``);
* it lies under a public prefix: by default the URL path of the app's and
  blueprints' static routes, and the app's URL map routes it to one of them;
  or under one of ``FIREHOSE_LEARN_PREFIXES`` (which a front server may serve:
  the URL map must not route it to one of the app's views). A static route at the site root
  (``static_url_path=""``) is never a prefix: every URL would pass. Under a
  script root (an app mounted at ``/shop``) the prefixes are the app's,
  under that root (``/shop/static/``);
* the page that pushed it was asked for without credentials (no ``Cookie``,
  ``Authorization``, ``REMOTE_USER`` or client certificate), or answered as
  publicly cacheable (``Cache-Control: public`` or ``s-maxage``, without
  ``private``, ``no-store`` or a ``Vary`` on ``Cookie``/``Authorization``) by a
  view that did not read the session;
* from a URL with arguments or a query, it was seen under two different ones
  (a link only one URL pushes, ``/share/<token>`` or ``/search?q=alice`` say,
  belongs to that URL);
* it appeared in ``min_seen`` such responses of the endpoint;
* the request was not a browser's speculation (``Sec-Purpose: prefetch``): a
  prefetched or prerendered page may never be shown.

Learning is per app, per site and per endpoint (``site.article``), never per
URL with its arguments: the store key (:func:`scoped_key`) names the app, the
request's host and script root, and the endpoint, so two apps sharing one
store, two hosts one app answers for, and two mounts of one app each learn
alone. A request whose ``Host`` is not a valid ``host[:port]`` learns nothing
and gets no learned hint.

Every link read back from a store, whatever the store, is rebuilt from its
fields and checked whole again, against the prefixes and URL map of the app
asking, before it may stand in a 103: a store shared with another app, or
written by someone else, cannot send a browser to another origin or make it
fetch anything but a public file of this app. What fails is left out and
logged once in a while, never raised.

A newly built asset replaces the old one at once: ``main.3f9a1c2b.css`` and
``main.css?v=77e0`` share an identity with their earlier builds
(:func:`~flask_firehose._hint_store.asset_identity`). Links not seen for
``window`` responses are forgotten; keys and links per key are capped, and
when a page has more candidates than the cap the highest-priority ones are
kept, stably.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import unquote

from flask import Flask, Request, Response
from flask import request as _request_proxy

from ._caching import served_to_others
from ._collection import current_context
from ._failure import FailurePolicy, logger
from ._hint_store import HintStore
from ._learning_scope import scoped_key, site_of, split_key, written_root
from ._learning_variants import UrlVariants
from ._links import Link, safe_repr
from ._memo import IdentityMemo, Memo
from ._public_links import is_public_link, static_prefixes
from ._requests import RequestFacts, is_static_endpoint
from ._stored_links import StoredLinks, printable, stored_items

__all__ = ["MAX_LINKS_PER_PAGE", "Learner"]

#: Links one page may contribute to learning: the highest-priority ones.
MAX_LINKS_PER_PAGE: Final = 32

_UNKNOWN: Final = object()
_FAILED: Final = object()


@dataclass(frozen=True, slots=True)
class _Site:
    """What learning needs to know of the site a request is on."""

    name: str
    """:func:`site_of`: the host and the script root."""
    root: str
    """The script root as link targets write it (``""`` at the site root)."""
    prefixes: tuple[str, ...]
    """Where learnable files lie on this site; empty: learning is off here."""


#: Where a request context keeps its learner's site and store key.
_PLACE_ATTRIBUTE: Final = "_firehose_place"


class Learner:
    """The learning policy: which links may be learned from which responses,
    and which stored links may go into a 103. Calls into the store go
    through the failure policy. One learner serves one app.

    :param store: where the counts live.
    :param prefixes: ``FIREHOSE_LEARN_PREFIXES``, or ``None`` for the app's
        static routes (worked out at the first request, once blueprints are in).
    :param failures: the app's failure policy.
    """

    def __init__(
        self,
        store: HintStore,
        prefixes: tuple[str, ...] | None,
        failures: FailurePolicy,
        namespace: str | None = None,
    ) -> None:
        self.store = store
        #: Whose hints these are in the store (see :func:`namespace_for`);
        #: ``None``: the app's name.
        self.namespace = namespace
        self.failures = failures
        self._explicit = prefixes is not None
        self._prefixes = prefixes
        self._sites: Memo[tuple[str, str, str], _Site | None] = Memo(256)
        self._forms: Memo[tuple[str, Link], Link | None] = Memo(4096)
        # By the site and the links' identities: all learnable forms, and those past the cap.
        self._observed: IdentityMemo[tuple[tuple[Link, ...], tuple[Link, ...]]] = IdentityMemo(256)
        # By the store key: the links last observed under it, and that answer.
        self._last: Memo[str, tuple[tuple[Link, ...], tuple[tuple[Link, ...], tuple[Link, ...]]]] = Memo(1024)
        # By the site and the stored links' identities: the hints they give.
        self._hinted: IdentityMemo[tuple[Link, ...]] = IdentityMemo(256)
        self._links = StoredLinks(store)
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        self._variants = UrlVariants()

    def check_setup(self, app: Flask) -> None:
        """Say at start-up when the app's own static route cannot be learned
        from (blueprints registered later are judged at the first request)."""
        if self._explicit:
            return
        _, refused = static_prefixes(app)
        if refused:
            self._reported.update(refused)
            logger.warning(
                "Learning skips the app's static route: at the site root (static_url_path=''), every URL of "
                "the site would look like a static file, per-user ones included. Set FIREHOSE_LEARN_PREFIXES "
                "to the folders that hold public assets; until then only blueprints' static routes are learned "
                "from, and learning is off if there are none."
            )

    def prefixes(self, app: Flask) -> tuple[str, ...]:
        """The prefixes in force, within the app (under its script root, if
        any); an empty tuple means learning is off."""
        if self._prefixes is None:
            with self._lock:
                if self._prefixes is None:
                    kept, refused = static_prefixes(app)
                    unreported = [name for name in refused if name not in self._reported]
                    if unreported:
                        logger.warning(
                            "Learning skips the static route%s %s: at the site root, every URL of the site "
                            "would look like a static file, per-user ones included. Set "
                            "FIREHOSE_LEARN_PREFIXES to the folders that hold public assets.",
                            "s" if len(unreported) > 1 else "",
                            ", ".join(repr(name) for name in unreported),
                        )
                    if not kept:
                        logger.warning(
                            "Learning is off: no static route outside the site root, and no FIREHOSE_LEARN_PREFIXES."
                        )
                    self._prefixes = kept
        return self._prefixes

    def key(self, app: Flask, request: Request) -> str | None:
        """The store key of *request* (:func:`scoped_key`), or ``None`` when
        nothing is learned for it (no endpoint, an invalid ``Host``, learning
        off on its site)."""
        return self._place(app, request)[1]

    def _place(self, app: Flask, request: Request) -> tuple[_Site | None, str | None]:
        """The site *request* is on and its store key (``None`` as for
        :meth:`key`), worked out once per request (the hooks ask up to four
        times: the 103, the page's learning, the learner's): kept on the
        request's own context, so they end with it and no other request,
        in this thread or another, reads them. Only for the context's own
        request (or ``flask.request``, the proxy to it): a request object
        made by hand is worked out each time."""
        context = current_context()
        mine = context is not None and (request is context.request or request is _request_proxy)
        if mine:
            here = vars(context).get(_PLACE_ATTRIBUTE)
            if here is not None and here[0] is self:
                return here[1], here[2]
        site = self._site_of(app, request)
        endpoint = request.endpoint
        key = None
        if endpoint and site is not None and site.prefixes:
            key = scoped_key(self.namespace or app.name, site.name, endpoint)
        if mine:
            vars(context)[_PLACE_ATTRIBUTE] = (self, site, key)
        return site, key

    def _site(self, app: Flask, request: Request) -> _Site | None:
        """The site *request* is on (see :meth:`_site_of`)."""
        return self._place(app, request)[0]

    def _site_of(self, app: Flask, request: Request) -> _Site | None:
        """The site *request* is on, worked out once per host, scheme and
        script root (a bounded memo: a flood of made-up hosts costs a
        recomputation, never a wrong answer)."""
        try:
            given = (request.host, request.scheme, request.script_root)
        except Exception:  # an untrusted host (TRUSTED_HOSTS) and the like
            return None
        found = self._sites.get(given, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._site_for(app, *given)
            self._sites.put(given, found)
        return cast("_Site | None", found)

    def _site_for(self, app: Flask, host: str, scheme: str, script_root: str) -> _Site | None:
        name = site_of(host, scheme, script_root)
        if name is None:
            return None
        root = written_root(script_root)
        base = self.prefixes(app)
        if root is None or not base:
            return _Site(name, "", ())
        # The app's own prefixes lie under its root; explicit ones may also
        # be served by a front at the origin's root.
        prefixes = tuple(root + prefix for prefix in base)
        if root and self._explicit:
            prefixes = tuple(dict.fromkeys(prefixes + base))
        return _Site(name, root, prefixes)

    def hints(self, app: Flask, request: Request) -> list[Link]:
        """The learned hints for *request*'s endpoint on its site (with the
        ``nopush`` flags they were pushed with;
        :func:`~flask_firehose._early_hints.assemble` makes the 103 of them).

        Each is rebuilt from its fields and checked whole again
        (:func:`is_public_link` and the app's URL map), since a shared store
        may hold anything; what fails is left out and logged once in a
        while. Reading the store, iterating what it returned included, goes
        through the failure policy.
        """
        site, key = self._place(app, request)
        if site is None or key is None:
            return []
        found: tuple[Link, ...] = self.failures.call("hint store learned()", (), self._links.read, key, self._refused)
        # The same learned links give the same hints on one site: remembered
        # by their identities (the rebuilt links are themselves remembered).
        known = self._hinted.get(found, site.name)
        if known is not None:
            return list(known)
        hints = []
        refused = []
        complete = True
        for link in found:
            form = self.failures.call("hint store learned() link", _FAILED, self._form, app, request, site, link)
            if form is _FAILED:
                complete = False
            elif form is None:
                refused.append(link)
            else:
                hints.append(cast("Link", form))
        if refused:
            self._refused(
                key, f"{len(refused)} link(s) that are not public links of this app, such as {refused[0].text!r}"
            )
        if complete:
            self._hinted.put(found, tuple(hints), site.name)
        return hints

    def _refused(self, key: str, what: str) -> None:
        """Log, once in a while, what a store returned that was left out
        (on one line, whatever the item's ``repr`` holds)."""
        self.failures.warn_once_in_a_while(
            ("hint store", "refused"),
            "The hint store returned, for %r, %s: left out. A store shared with another app or written by "
            "someone else may hold such links; only public files of the app asking are ever hinted.",
            key,
            printable(what),
        )

    def observe(
        self,
        app: Flask,
        request: Request,
        response: Response,
        links: Iterable[Link],
        private: bool,
        facts: RequestFacts,
        teaches: bool | None = None,
    ) -> None:
        """Count *links*, pushed by *response*, if the response may teach.

        :param private: whether the view read the session (the response then
            varies by user, whatever its ``Cache-Control`` says).
        :param facts: what the request is (the hooks'
            :class:`~flask_firehose._requests.RequestFacts`).
        :param teaches: :meth:`may_learn_from`'s answer, if already asked.
        """
        if teaches is None:
            teaches = self.may_learn_from(response, private, facts)
        if not facts.endpoint or not teaches:
            return
        site, key = self._place(app, request)
        if site is None or key is None:
            return
        every, capped = self._forms_of(app, request, key, site, links if type(links) is tuple else tuple(links))
        if request.view_args or request.query_string:
            # Links one URL alone pushes go first, then the cap: a page past
            # it still teaches the links its URLs share.
            forms = self._variants.common(key, request.view_args or {}, request.query_string, every)
            if len(forms) > MAX_LINKS_PER_PAGE:
                forms = tuple(heapq.nsmallest(MAX_LINKS_PER_PAGE, forms, key=lambda link: link.priority))
        else:
            forms = capped
        if forms:
            self.failures.call("hint store observe()", None, self.store.observe, key, forms)

    @staticmethod
    def may_learn_from(response: Response, private: bool, facts: RequestFacts) -> bool:
        """Whether *response* may teach anything (its links, its HTML, a
        visitor's report on it): a successful HTML response to a navigation
        answered by a view, not a speculation, and, for a request with
        credentials, one any client could be handed.

        :param private: whether the view read the session.
        """
        return bool(
            facts.endpoint
            and facts.navigation
            # A speculation may never be shown: it is not a visit to learn from.
            and not facts.speculative
            and not facts.static
            and 200 <= response.status_code < 300
            and response.mimetype == "text/html"
            # Cookies (other than the digest's), authentication: learned
            # only from a response any client could be handed.
            and not (facts.credentials and (private or not served_to_others(response)))
        )

    def checked(self, app: Flask, request: Request, links: Iterable[Link]) -> list[Link]:
        """Those of *links* that are public links of this app on *request*'s
        site (:func:`is_public_link` and the URL map), as a learned hint must
        be: what came from elsewhere than the app's own responses (a
        visitor's report, a store) passes here before it may be hinted."""
        site = self._site(app, request)
        if site is None or not site.prefixes:
            return []
        return [link for link in links if self._form(app, request, site, link) is not None]

    def _forms_of(
        self, app: Flask, request: Request, key: str, site: _Site, links: tuple[Link, ...]
    ) -> tuple[tuple[Link, ...], tuple[Link, ...]]:
        """The learnable forms of *links*, observed under *key* (which names
        *site*): all of them, and the highest-priority ones past the cap
        (stably). A page pushes the same links on every visit and ``push()``
        hands out the same objects for them: the answer is remembered for the
        links last observed under *key* (taken for equal links: a
        comparison, cheaper than their identities, and the same answer, as
        :meth:`_form` gives equal links one), and by the site and the links'
        identities (an entry holds its links, so their ids are not reused
        while it is kept, and it is taken only for the same links)."""
        last = self._last.get(key)
        if last is not None and last[0] == links:
            return last[1]
        found = self._observed.get(links, site.name)
        if found is not None:
            self._last.put(key, (links, found))
            return found
        every = tuple(form for link in links if (form := self._form(app, request, site, link)) is not None)
        capped = every
        if len(every) > MAX_LINKS_PER_PAGE:
            capped = tuple(heapq.nsmallest(MAX_LINKS_PER_PAGE, every, key=lambda link: link.priority))
        self._observed.put(links, (every, capped), site.name)
        self._last.put(key, (links, (every, capped)))
        return every, capped

    def _form(self, app: Flask, request: Request, site: _Site, link: Link) -> Link | None:
        """*link* if it may be learned on *site* (and stand in a 103), else
        ``None``; cached, since pages push the same few links on every request."""
        memo_key = (site.name, link)
        known = self._forms.get(memo_key, _UNKNOWN)
        if known is not _UNKNOWN:
            return cast("Link | None", known)
        form = None
        if is_public_link(link, site.prefixes) and self._may_route(app, request, site, link.target):
            form = link  # nopush kept: the 103's assembly decides what it means there
        self._forms.put(memo_key, form)
        return form

    def _may_route(self, app: Flask, request: Request, site: _Site, target: str) -> bool:
        """Whether the app's URL map agrees *target* is a public file: routed
        to a static endpoint, or, under explicit prefixes (which a front
        server may serve), at least not routed to one of the app's views."""
        path = target.partition("?")[0]
        if site.root:
            if not path.startswith(site.root + "/"):
                return self._explicit  # outside the app's mount: a front serves it
            path = path[len(site.root) :]
        adapter = app.create_url_adapter(request)
        if adapter is None:
            return self._explicit
        try:
            endpoint, _ = adapter.match(unquote(path), method="GET")
        except Exception:  # not found, a redirect, a converter's own error
            return self._explicit
        return is_static_endpoint(str(endpoint))

    def learned_by_site(
        self, app: Flask, endpoint: str, refused: list[tuple[str, str]] | None = None
    ) -> dict[str, list[Link]] | None:
        """What *app* would hint for *endpoint*, by site (:func:`site_of`:
        ``"shop.example"``, ``"127.0.0.1:8443/app"``), read from the store's
        keys; for ``flask firehose routes``. Each link is checked whole, as
        for a 103 (:meth:`hints`); with *refused*, each one left out is
        appended to it as ``(site, reason)``. A stored site no request could
        be on (a poisoned key) is left out of the answer, and in *refused*
        its name is a ``repr``.

        :returns: ``None`` when the store cannot list its keys (it has no
            ``endpoints()`` method).
        :raises Exception: whatever the store raised (no failure policy here).
        """
        listing = getattr(self.store, "endpoints", None)
        if not callable(listing):
            return None
        found: dict[str, list[Link]] = {}
        for key in list(listing()):
            parts = split_key(key)
            if parts is None or parts[0] != (self.namespace or app.name) or parts[2] != endpoint:
                continue
            links = self._stored(app, parts[1], key, refused)
            if links is not None:
                found[parts[1]] = links
            elif refused is not None:
                refused.append((safe_repr(parts[1]), "not a site this app can be asked on: nothing is hinted there"))
        return found

    def _stored(self, app: Flask, name: str, key: str, refused: list[tuple[str, str]] | None) -> list[Link] | None:
        """The links stored under *key* that pass on site *name*, checked as
        in a request to that site; ``None`` when no request is on *name*."""
        host, slash, root = name.partition("/")
        if site_of(host, "https", "") is None:
            return None
        for scheme in ("https", "http"):
            try:
                context = app.test_request_context("/", base_url=f"{scheme}://{host}{slash}{root}")
            except Exception:  # a root no URL can hold
                return None
            with context:
                site = self._site(app, context.request)
                if site is not None and site.name == name:
                    return self._check_stored(app, context.request, site, key, refused)
        return None

    def _check_stored(
        self, app: Flask, request: Request, site: _Site, key: str, refused: list[tuple[str, str]] | None
    ) -> list[Link]:
        links = []
        for item in stored_items(self.store.learned(key)):
            link = self._links.rebuild(item)
            if link is None:
                reason = f"not a valid Link: {safe_repr(item)}"
            elif not site.prefixes or self._form(app, request, site, link) is None:
                reason = f"not a public link of this app: {link.text}"
            else:
                links.append(link)
                continue
            if refused is not None:
                refused.append((site.name, reason))
        return links
