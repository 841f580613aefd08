"""Learning each endpoint's hints from its own successful HTML responses.

A learned hint goes into the 103 of *every* client that asks for the
endpoint, so what may be learned is narrow by construction: only public static
assets of this app, so that nothing one user's page holds reaches another's.
:class:`Learner` owns that policy; a :class:`HintStore` only keeps counts.

A link is learned only when all of this holds:

* it is a ``preload`` or ``modulepreload`` of a same-origin path;
* the path is normalised (no ``.``/``..`` or empty segments, no encoded
  ``/``, ``\\``, ``.`` or control character, no ``;`` parameters, no fragment)
  and has no query other than one cache-busting version (``?v=3f9a1c``, also
  ``ver``, ``version``, ``h``, ``hash``, ``rev``, ``build``);
* it lies under a public prefix: by default the URL path of the app's and
  blueprints' static routes, and the app's URL map routes it to one of them;
  or under one of ``FIREHOSE_LEARN_PREFIXES`` (which a front server may serve:
  the URL map must not route it to one of the app's views). A static route at the site root
  (``static_url_path=""``) is never a prefix: every URL would pass;
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

Learning is per endpoint (``site.article``), never per URL with its arguments.
A newly built asset replaces the old one at once: ``main.3f9a1c2b.css`` and
``main.css?v=77e0`` share an identity with their earlier builds. Only a real
content hash (8+ hex digits mixing digits and letters, 12+ hex digits, or 8
letters and digits of both cases with a digit inside, as Vite writes them)
counts as a build; ``photo.decade.png``, ``bg-ffffff00.png`` and
``Roboto-Regular400.woff2`` are names. Links not seen for ``window`` responses
are forgotten; endpoints and links per endpoint are capped, and when a page has
more candidates than the cap the highest-priority ones are kept, stably.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast, runtime_checkable
from urllib.parse import unquote

from flask import Flask, Request, Response

from ._early_hints import is_navigation, may_hint
from ._failure import FailurePolicy, logger
from ._links import Link, encode_target, safe_repr
from ._memo import Memo
from ._paths import is_plain_path
from ._shared_cache import served_to_others
from ._speculation_rules import is_prefetch_purpose
from .errors import ConfigurationError

__all__ = [
    "HintStore",
    "Learner",
    "MemoryHintStore",
    "asset_identity",
    "check_store",
    "is_public_asset_target",
    "is_static_endpoint",
    "keyed_links",
    "static_prefixes",
]

# One cache-busting version and nothing else: "v=3f9a1c", "version=1.2.3".
_VERSION_QUERY: Final = re.compile(r"(?:v|ver|version|h|hash|rev|build)=[A-Za-z0-9._\-]{1,64}")
# A separator, then a token that may be a content hash, up to the next
# separator or the end of the file name.
_HASH_CANDIDATE: Final = re.compile(r"[.\-_]([0-9A-Za-z]{8,})(?=[.\-_]|$)")
_HEX_LOWER: Final = re.compile(r"[0-9a-f]+")
_HEX_UPPER: Final = re.compile(r"[0-9A-F]+")

#: Links one page may contribute to learning: the highest-priority ones.
MAX_LINKS_PER_PAGE: Final = 32

# (endpoint, link) pairs remembered while waiting for a second URL argument set.
_MAX_VARIANTS: Final = 8192
_COMMON: Final = object()
_UNKNOWN: Final = object()


def _is_content_hash(token: str) -> bool:
    """Hex from a hash function (8+ digits mixing digits and letters, with
    the variety of random output: ``ffffff00`` is a colour), 12+ hex digits,
    or the 8 letters and digits of both cases Vite and Rollup write, with a
    digit inside (``Regular4`` is a name)."""
    has_digit = any(c.isdigit() for c in token)
    if _HEX_LOWER.fullmatch(token) or _HEX_UPPER.fullmatch(token):
        if len(token) >= 12:
            return True
        return has_digit and not token.isdigit() and len(set(token)) >= 5
    return (
        len(token) == 8
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
        and any(c.isdigit() for c in token[:-1])
        and len(set(token)) >= 6
    )


@functools.lru_cache(maxsize=4096)
def asset_identity(target: str) -> str:
    """*target* without its build: no query, no fragment, no content hash in
    the file name. Two builds of one asset share it; two files do not."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    folder, _, name = path.rpartition("/")
    bare = _HASH_CANDIDATE.sub(lambda m: "" if _is_content_hash(m.group(1)) else m.group(), name)
    return f"{folder}/{bare}"


def is_public_asset_target(target: str, prefixes: Sequence[str]) -> bool:
    """Whether *target* is a plain same-origin file path under one of
    *prefixes* (each ending in ``/``), with no query but a version."""
    path, _, query = target.partition("?")
    if query and not _VERSION_QUERY.fullmatch(query):
        return False
    return is_plain_path(path) and any(path.startswith(prefix) for prefix in prefixes)


def static_prefixes(app: Flask) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The URL prefixes of *app*'s static routes (the app's and the
    blueprints'), each ending in ``/``; and the endpoints of those left out
    because they sit at the site root."""
    kept: list[str] = []
    refused: list[str] = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            prefix = rule.rule.split("<", 1)[0]
            if prefix in ("", "/"):
                refused.append(rule.endpoint)
                continue
            try:  # written as the links it must match are: percent-encoded
                prefix = encode_target(prefix if prefix.endswith("/") else prefix + "/")
            except Exception:
                continue
            if prefix not in kept:
                kept.append(prefix)
    return tuple(kept), tuple(refused)


def is_static_endpoint(endpoint: str | None) -> bool:
    """Whether *endpoint* is the app's or a blueprint's static route."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def _carries_credentials(environ: Mapping[str, Any], own_cookie: str | None = None) -> bool:
    """Whether the request says who sent it: a cookie (other than
    Firehose's own digest, which only lists files), HTTP authentication or
    a client certificate."""
    if environ.get("HTTP_AUTHORIZATION") or environ.get("REMOTE_USER") or environ.get("SSL_CLIENT_CERT"):
        return True
    cookies = environ.get("HTTP_COOKIE")
    if not cookies:
        return False
    if own_cookie is None:
        return True
    # Only the names matter (RFC 6265 §4.2.1: "name=value" pairs joined by
    # ";"). A part without "=" counts as a cookie too: when in doubt, the
    # request is credentialed and nothing is learned from it.
    for part in str(cookies).split(";"):
        name = part.partition("=")[0].strip(" \t")
        if name != own_cookie and (name or part.strip(" \t")):
            return True
    return False


@runtime_checkable
class HintStore(Protocol):
    """Where learned hints live. Both calls must be safe from many threads.

    The :class:`Learner` checks what goes in and what comes out, so a store
    only counts; a store that raises is handled by the failure policy.
    ``Link`` objects are immutable: the learner remembers what it rebuilt
    from the objects ``learned()`` returned, so a store hands out new ones
    when its hints change, never the old ones altered.
    """

    def learned(self, endpoint: str) -> list[Link]:
        """The hints learned for *endpoint*."""
        ...

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        """Count one successful HTML response of *endpoint* holding *links*."""
        ...


def check_store(store: object) -> None:
    """Check a ``Firehose(hint_store=...)`` argument at ``init_app``.

    :raises ConfigurationError: a class instead of an instance, or a missing method.
    """
    if isinstance(store, type):
        raise ConfigurationError(
            f"hint_store must be an instance, not the class {store.__qualname__}: pass {store.__qualname__}()",
            "hint_store",
            store,
        )
    for name in ("learned", "observe"):
        if not callable(getattr(store, name, None)):
            raise ConfigurationError(
                f"hint_store {store!r} has no {name}() method: a hint store provides learned(endpoint) and "
                "observe(endpoint, links)",
                "hint_store",
                store,
            )


class Learner:
    """The learning policy: which links may be learned from which responses,
    and which learned links may go into a 103. Calls into the store go
    through the failure policy.

    :param store: where the counts live.
    :param prefixes: ``FIREHOSE_LEARN_PREFIXES``, or ``None`` for the app's
        static routes (worked out at the first request, once blueprints are in).
    :param failures: the app's failure policy.
    :param own_cookie: the name of Firehose's digest cookie, which does not
        make a request credentialed.
    """

    def __init__(
        self,
        store: HintStore,
        prefixes: tuple[str, ...] | None,
        failures: FailurePolicy,
        own_cookie: str | None = None,
    ) -> None:
        self.store = store
        self.own_cookie = own_cookie
        self.failures = failures
        self._explicit = prefixes is not None
        self._prefixes = prefixes
        self._forms: Memo[Link, Link | None] = Memo(4096)
        self._observed: Memo[tuple[int, ...], tuple[tuple[Link, ...], tuple[Link, ...], tuple[Link, ...]]] = Memo(256)
        self._hinted: Memo[tuple[int, ...], tuple[tuple[Link, ...], tuple[Link, ...]]] = Memo(256)
        self._rebuilt: Memo[tuple[Any, ...], Link] = Memo(4096)
        self._read_memo: Memo[tuple[int, ...], tuple[tuple[Any, ...], tuple[Link, ...]]] = Memo(256)
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        # (endpoint, target) -> the hash of the first URL arguments it was
        # seen under, or _COMMON once seen under two.
        self._variants: Memo[tuple[str, str], object] = Memo(_MAX_VARIANTS)

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
        """The prefixes in force; an empty tuple means learning is off."""
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

    def hints(self, app: Flask, request: Request) -> list[Link]:
        """The learned hints for *request*'s endpoint (with the ``nopush``
        flags they were pushed with; :func:`~flask_firehose._early_hints.assemble`
        makes the 103 of them).

        Each is rebuilt from its fields and checked again, since a shared
        store may hold anything; reading the store, iterating what it returned
        included, goes through the failure policy.
        """
        endpoint = request.endpoint
        if not endpoint or not self.prefixes(app):
            return []
        found: list[Link] = self.failures.call("hint store learned()", [], self._read, endpoint)
        # The same learned links give the same hints: remembered by their
        # identities (the rebuilt links are themselves remembered, below).
        key = tuple(map(id, found))
        known = self._hinted.get(key)
        if known is not None and known[0] == tuple(found):
            return list(known[1])
        hints = []
        for link in found:
            form = self.failures.call("hint store learned() link", None, self._form, app, request, link)
            if form is not None:
                hints.append(form)
        if all(self._forms.get(link, _UNKNOWN) is not _UNKNOWN for link in found):  # none failed
            self._hinted.put(key, (tuple(found), tuple(hints)))
        return hints

    def _read(self, endpoint: str) -> list[Link]:
        found = self.store.learned(endpoint)
        if found is None:
            return []
        if isinstance(found, (str, bytes)) or not isinstance(found, Iterable):
            raise TypeError(f"hint store learned() returned {safe_repr(found)}, not a list of Link")
        items = tuple(itertools.islice(found, MAX_LINKS_PER_PAGE * 4))
        # A store in this process hands out the same objects while nothing
        # changes: their rebuilt links are remembered by identity.
        key = tuple(map(id, items))
        known = self._read_memo.get(key)
        if known is not None and known[0] == items:
            return list(known[1])
        links = []
        failed = False
        for item in items:
            try:
                if not isinstance(item, Link):
                    raise TypeError(f"hint store learned() returned {safe_repr(item)} in its list, not a Link")
                # Rebuilt from its fields: a stored copy's serialized text is not
                # trusted. The rebuilt link is remembered by those fields.
                links.append(self._rebuild(item))
            except Exception as exc:  # that item only is left out
                failed = True
                self.failures.failed("hint store learned() item", exc)
        if not failed:
            self._read_memo.put(key, (items, tuple(links)))
        return links

    def _rebuild(self, item: Link) -> Link:
        fields = (item.target, item.rel, item.as_, item.crossorigin, item.nopush, item.params)
        try:
            link = self._rebuilt.get(fields)
        except TypeError:  # a field that cannot be a key cannot be a valid link either
            link = None
        if link is None or type(link.nopush) is not type(item.nopush):
            link = Link(*fields)
            self._rebuilt.put(fields, link)
        return link

    def observe(
        self,
        app: Flask,
        request: Request,
        response: Response,
        links: Iterable[Link],
        private: bool,
        navigation: bool | None = None,
    ) -> None:
        """Count *links*, pushed by *response*, if the response may teach.

        :param private: whether the view read the session (the response then
            varies by user, whatever its ``Cache-Control`` says).
        :param navigation: whether the request is an HTML navigation, if the
            caller already asked (:func:`~flask_firehose._early_hints.is_navigation`).
        """
        endpoint = request.endpoint
        environ = request.environ
        if (
            not endpoint
            or not (is_navigation(environ) if navigation is None else navigation)
            # A speculation may never be shown: it is not a visit to learn from.
            or is_prefetch_purpose(environ.get("HTTP_SEC_PURPOSE"))
            or is_static_endpoint(endpoint)
            or not 200 <= response.status_code < 300
            or response.mimetype != "text/html"
            or (_carries_credentials(environ, self.own_cookie) and (private or not served_to_others(response)))
            or not self.prefixes(app)
        ):
            return
        every, capped = self._forms_of(app, request, links if type(links) is tuple else tuple(links))
        if request.view_args or request.query_string:
            # Links one URL alone pushes go first, then the cap: a page past
            # it still teaches the links its URLs share.
            forms = self._common(endpoint, request.view_args or {}, request.query_string, every)
            if len(forms) > MAX_LINKS_PER_PAGE:
                forms = tuple(heapq.nsmallest(MAX_LINKS_PER_PAGE, forms, key=lambda link: link.priority))
        else:
            forms = capped
        if forms:
            self.failures.call("hint store observe()", None, self.store.observe, endpoint, forms)

    def _forms_of(
        self, app: Flask, request: Request, links: tuple[Link, ...]
    ) -> tuple[tuple[Link, ...], tuple[Link, ...]]:
        """The learnable forms of *links*: all of them, and the highest-priority
        ones past the cap (stably). A page pushes the same links on every
        visit and ``push()`` hands out the same objects for them: the answer
        is remembered by their identities (an entry holds its links, so their
        ids are not reused while it is kept, and it is taken only for the same
        links)."""
        key = tuple(map(id, links))
        found = self._observed.get(key)
        if found is not None and found[0] == links:
            return found[1], found[2]
        every = tuple(form for link in links if (form := self._form(app, request, link)) is not None)
        capped = every
        if len(every) > MAX_LINKS_PER_PAGE:
            capped = tuple(heapq.nsmallest(MAX_LINKS_PER_PAGE, every, key=lambda link: link.priority))
        self._observed.put(key, (links, every, capped))
        return every, capped

    def _common(
        self, endpoint: str, view_args: Mapping[str, Any], query: bytes, forms: tuple[Link, ...]
    ) -> tuple[Link, ...]:
        """Of *forms*, those seen for this endpoint under other URL arguments
        or query too. A link seen under one of them only (``/share/<token>``
        pushing that token's file, ``/search?q=alice`` pushing a result)
        belongs to that URL, not to the endpoint."""
        try:
            variant = hash((tuple(sorted((key, repr(value)) for key, value in view_args.items())), query))
        except Exception:
            return ()
        common = []
        with self._lock:
            for form in forms:
                key = (endpoint, form.target)
                first = self._variants.get(key)
                if first is None:
                    self._variants.put(key, variant)
                elif first is _COMMON or first != variant:
                    self._variants.put(key, _COMMON)
                    common.append(form)
        return tuple(common)

    def _form(self, app: Flask, request: Request, link: Link) -> Link | None:
        """*link* if it may be learned (and stand in a 103), else ``None``;
        cached, since pages push the same few links on every request."""
        known = self._forms.get(link, _UNKNOWN)
        if known is not _UNKNOWN:
            return cast("Link | None", known)
        form = None
        if (
            ("preload" in link.rels or "modulepreload" in link.rels)
            and is_public_asset_target(link.target, self.prefixes(app))
            and self._may_route(app, request, link.target)
            and may_hint(link)
        ):
            form = link  # nopush kept: the 103's assembly decides what it means there
        self._forms.put(link, form)
        return form

    def _may_route(self, app: Flask, request: Request, target: str) -> bool:
        """Whether the app's URL map agrees *target* is a public file: routed
        to a static endpoint, or, under explicit prefixes (which a front
        server may serve), at least not routed to one of the app's views."""
        adapter = app.create_url_adapter(request)
        if adapter is None:
            return self._explicit
        try:
            endpoint, _ = adapter.match(unquote(target.partition("?")[0]), method="GET")
        except Exception:  # not found, a redirect, a converter's own error
            return self._explicit
        return is_static_endpoint(str(endpoint))


def keyed_links(links: Sequence[Link], max_links: int) -> list[tuple[str, Link]]:
    """The links one response contributes, each with the key it is counted under.

    Past *max_links*, the highest-priority ones (stably). The key is the
    target's :func:`~flask_firehose._learning.asset_identity`, so a new build
    replaces the old one; targets sharing an identity within one response are
    distinct files (lazy chunks named alike) and keep their own target as key.
    Every store counts by this rule (:class:`MemoryHintStore`, the Redis store).
    """
    if len(links) > max_links:
        links = heapq.nsmallest(max_links, links, key=lambda link: link.priority)
    identities = [asset_identity(link.target) for link in links]
    counts = Counter(identities)
    return [(link.target if counts[key] > 1 else key, link) for key, link in zip(identities, links, strict=True)]


@dataclass
class _Candidate:
    link: Link
    seen: int
    last: int
    order: int
    """When it first entered: among equal priorities, earlier ones stay."""


@dataclass
class _Endpoint:
    responses: int = 0
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    steady: tuple[Link, ...] | None = None
    """The last response's links, when they were every candidate, all learned."""


class MemoryHintStore:
    """Learned hints in this process's memory.

    :param min_seen: responses a link must appear in to be learned.
    :param window: responses after which an unseen link is forgotten.
    :param max_endpoints: endpoints remembered (least recently seen go first).
    :param max_links: links remembered per endpoint; when more compete, the
        highest-priority ones stay, and among equals the ones seen first.
    """

    def __init__(self, min_seen: int = 2, window: int = 50, max_endpoints: int = 256, max_links: int = 32) -> None:
        self.min_seen = min_seen
        self.window = window
        self.max_endpoints = max_endpoints
        self.max_links = max_links
        self._endpoints: OrderedDict[str, _Endpoint] = OrderedDict()
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._keyed: Memo[tuple[int, ...], tuple[tuple[Link, ...], list[tuple[str, Link]]]] = Memo(256)

    def learned(self, endpoint: str) -> list[Link]:
        with self._lock:
            state = self._endpoints.get(endpoint)
            if state is None:
                return []
            return [c.link for c in state.candidates.values() if c.seen >= self.min_seen]

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        given = links if type(links) is tuple else tuple(links)
        with self._lock:
            state = self._endpoints.get(endpoint)
            if state is not None and state.steady is not None and state.steady == given:
                # The same links as the last response, which held every
                # candidate, all learned: counting it would raise each count
                # and "last seen" alike and forget nothing, so what learned()
                # answers, now and after any later response, is unchanged.
                self._endpoints.move_to_end(endpoint)  # most recently seen last
                return
        keyed = self._keyed_of(given)  # outside the lock
        with self._lock:
            state = self._endpoints.get(endpoint)
            if state is None:
                state = self._endpoints[endpoint] = _Endpoint()
                while len(self._endpoints) > self.max_endpoints:
                    self._endpoints.popitem(last=False)
            else:
                self._endpoints.move_to_end(endpoint)  # most recently seen last
            state.responses += 1
            now = state.responses
            candidates = state.candidates
            for key, link in keyed:
                self._count(candidates, key, link, now)
            for key in [key for key, c in candidates.items() if now - c.last >= self.window]:
                del candidates[key]
            steady = len(keyed) == len(candidates) and all(
                c.last == now and c.seen >= self.min_seen for c in candidates.values()
            )
            state.steady = given if steady else None

    def _keyed_of(self, links: tuple[Link, ...]) -> list[tuple[str, Link]]:
        """:func:`keyed_links` of *links*, remembered (a page sends the same ones)."""
        key = tuple(map(id, links))
        found = self._keyed.get(key)
        if found is not None and found[0] == links:
            return found[1]
        keyed = keyed_links(links, self.max_links)
        self._keyed.put(key, (links, keyed))
        return keyed

    def _count(self, candidates: dict[str, _Candidate], key: str, link: Link, now: int) -> None:
        candidate = candidates.get(key)
        if candidate is not None:
            if candidate.link.target != link.target:
                # A new build of a known asset: start over, old one gone.
                candidates[key] = _Candidate(link, 1, now, candidate.order)
            elif candidate.last != now:
                candidate.seen += 1
                candidate.last = now
            return
        order = next(self._order)
        if len(candidates) >= self.max_links:
            worst_key = max(candidates, key=lambda k: (candidates[k].link.priority, candidates[k].order))
            worst = candidates[worst_key]
            if (link.priority, order) >= (worst.link.priority, worst.order):
                return  # the kept set is better: stay stable
            del candidates[worst_key]
        candidates[key] = _Candidate(link, 1, now, order)

    def endpoints(self) -> Iterable[str]:
        """The endpoints with state, for inspection."""
        with self._lock:
            return list(self._endpoints)
