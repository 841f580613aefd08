"""Speculation Rules in a request: the ``Speculation-Rules`` header, the
rules resource and the rules an inline script holds (the decorators and the
template helper are in :mod:`~flask_firehose._speculation.views`).

A page's rules are the app's, its blueprints' and its view's declarations,
resolved in the request (endpoints through ``url_for``) and filtered by the
app's :class:`~flask_firehose._speculation.exclusions.ExclusionPolicy`.

Two ways to the browser:

* the ``Speculation-Rules`` header of an HTML navigation answered by a view,
  naming a resource this module serves at ``<prefix>/<sha256-16>.json``. The
  name is the hash of the content, so the resource is cached for a year, and
  shared: rules whose endpoint values are callables (read per request, so
  possibly one user's) never go in it.
* ``{{ speculation_rules() }}`` in a template: an inline
  ``<script type="speculationrules">`` holding every rule of the page, per-request
  ones included; the page then gets no header. Called again in the same page,
  it writes nothing; called after the header went out (a streamed template),
  it writes only the rules the header left out.

Every URL here starts with the request's script root (a mount point, or
``X-Forwarded-Prefix`` through ``ProxyFix``), which a client or a front may
set to anything. A script root that is not a plain path
(:func:`~flask_firehose._speculation.urls.url_root`) gets no rules at all,
logged: no header, no inline script, no rebuilt resource.

A resource is kept in a bounded memo by the worker that built it. Another
worker asked for it builds the rule sets of every endpoint in that request
(the same app, origin and script root) and serves the one with that hash; an
unknown hash is a 404.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from flask import Flask, Request, Response, current_app, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from .._collection import current_context
from .._failure import FailurePolicy
from .._memo import IdentityMemo, Memo
from .._requests import RequestFacts, is_prefetch_purpose, is_static_endpoint
from .._scopes import Scopes
from ..errors import ConfigurationError
from .exclusions import ExclusionPolicy
from .no_vary_search import SearchVariance
from .rules import (
    RuleSpec,
    UrlPattern,
    dumps,
    same_origin_url,
    script_json,
)
from .signed_in import SignedIn, for_signed_in
from .tags import HEADER as TAGS_HEADER
from .tags import parse_tags
from .urls import header_value, request_root, url_root
from .views import HEADER_SENT, INLINE, RULES, marked

__all__ = ["ENDPOINT", "MEDIA_TYPE", "Speculation"]

#: The endpoint of the rules resource.
ENDPOINT: Final = "_firehose_speculation"
#: The resource's media type (WICG Speculation Rules).
MEDIA_TYPE: Final = "application/speculationrules+json"
_KEY: Final = re.compile(r"[0-9a-f]{16}")


#: Seconds between two rebuilds of the rules for unknown resource keys.
REBUILD_INTERVAL: Final = 60.0

Rules = dict[str, Any]


class Speculation:
    """The rules of one app: declarations, the exclusion policy, the resources.

    :param declared: ``speculate()`` declarations by blueprint (``None``: app-wide),
        shared with the extension, so later ones count until the first request.
    :param variance: the app's No-Vary-Search declarations, for the
        ``expects_no_vary_search`` of list rules.
    :param tag: ``FIREHOSE_SPECULATION_TAG``, the rule sets' tag (``None``: none).
    :param signed_in: who is signed in; *signed_in_choice*
        (``FIREHOSE_SPECULATION_SIGNED_IN``) what their pages may ask for.
    """

    def __init__(
        self,
        failures: FailurePolicy,
        declared: dict[str | None, list[RuleSpec]],
        *,
        active: bool,
        prefix: str,
        exclude: tuple[str | UrlPattern, ...],
        variance: SearchVariance | None = None,
        tag: str | None = None,
        signed_in: SignedIn | None = None,
        signed_in_choice: str = "declared",
    ) -> None:
        self.failures = failures
        #: Which rules apply to an endpoint.
        self.scopes: Scopes[RuleSpec] = Scopes(declared, RULES, "speculate")
        self.active = active
        self.prefix = prefix
        self.exclude = exclude
        self.variance = variance if variance is not None else SearchVariance({})
        self.tag = tag
        self.signed_in = signed_in
        self.signed_in_choice = signed_in_choice
        self._prefetch_twins: dict[RuleSpec, RuleSpec] = {}
        self._policy: ExclusionPolicy | None = None
        self._lock = threading.Lock()
        self._bodies: Memo[str, str] = Memo(512)  # key -> JSON
        self._rebuilt: Memo[str, float] = Memo(16)  # script root -> when its rules were last rebuilt
        self._keys: Memo[str, str] = Memo(512)  # JSON -> key
        self._documents: IdentityMemo[dict[str, Any]] = IdentityMemo(512)  # (spec,), root -> rule
        # specs, (root, their list URLs) -> (header value, per-request rules left out, resource key, body)
        self._headers: IdentityMemo[tuple[str | None, bool, str | None, str | None]] = IdentityMemo(512)

    def register(self, app: Flask) -> None:
        """Serve the rules resource and offer ``speculation_rules()`` to templates."""
        app.jinja_env.globals["speculation_rules"] = self.speculation_rules
        if self.active:
            # A static path at the site root is no overlap: the rules route is
            # the more specific one, and the URL map prefers it.
            static = app.static_url_path if app.has_static_folder else None
            if static and static != "/" and _overlaps(self.prefix, static):
                raise ConfigurationError(
                    f"FIREHOSE_SPECULATION_PREFIX {self.prefix!r} overlaps the static URL path {static!r}: "
                    "its files would be answered as rules resources; choose another prefix",
                    "FIREHOSE_SPECULATION_PREFIX",
                    self.prefix,
                )
            app.add_url_rule(f"{self.prefix}/<key>.json", endpoint=ENDPOINT, view_func=self.serve, methods=["GET"])

    def speculation_rules(self, nonce: str | None = None) -> Markup:
        """The page's rules as an inline ``<script type="speculationrules">``
        (the Jinja global ``speculation_rules()``): every rule of the page,
        per-request ones included; the page then gets no ``Speculation-Rules``
        header. Empty when the page has no rule, the feature is off, outside a
        request, or when called a second time in the same request (one page,
        one set of rules). In a template streamed after the header went out,
        only the rules the header left out (per-request ones).

        :param nonce: the page's CSP nonce, written as the ``nonce`` attribute.
        """
        context = current_context()
        if not self.active or context is None or getattr(context, INLINE, False):
            return Markup("")
        setattr(context, INLINE, True)
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        req: Request = context.request
        nothing: tuple[Rules | None, bool] = (None, False)
        header_sent = getattr(context, HEADER_SENT, False)
        rules, _ = self.failures.call("speculation rules", nothing, self.inline_rules, app, req, header_sent)
        if not rules:
            return Markup("")
        attribute = f' nonce="{escape(nonce)}"' if nonce else ""
        return Markup(f'<script type="speculationrules"{attribute}>{script_json(rules)}</script>')

    # -- what applies -------------------------------------------------------

    def specs_for(self, app: Flask, endpoint: str) -> tuple[RuleSpec, ...]:
        """The rules of *endpoint*'s pages: app-wide, its blueprints' (innermost
        first), its view's. Worked out once per endpoint."""
        return self.scopes.applied(app, endpoint)

    def specs_for_request(self, app: Flask, endpoint: str, req: Request) -> tuple[RuleSpec, ...]:
        """The rules of *endpoint*'s page in *req*: for a signed-in user, as
        ``FIREHOSE_SPECULATION_SIGNED_IN`` allows."""
        specs = self.specs_for(app, endpoint)
        if specs and self.signed_in is not None and self.signed_in_choice != "declared" and self.signed_in(req):
            return for_signed_in(specs, self.signed_in_choice, self._prefetch_twins)
        return specs

    def refuse(self, req: Request) -> Response | None:
        """A 503 for a speculative request (``Sec-Purpose: prefetch``) whose
        route is never speculated, or whose URL matches a pattern of what is
        never speculated, else ``None``. The browser drops a failed
        speculation; the user's own click later runs the view as usual. This
        holds whatever URL reached the route (``/log%6Fut`` is ``/logout``),
        where a document rule's patterns only see the link as written: the
        route is judged by its endpoint, the URL as the server decoded it."""
        endpoint = req.endpoint
        if not endpoint or not is_prefetch_purpose(req.environ.get("HTTP_SEC_PURPOSE")):
            return None
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        policy = self.policy(app)
        # The patterns are paths on the origin: the script root comes first.
        if endpoint not in policy.endpoints and not policy.refuses_request(
            req.script_root + req.path, req.query_string.decode("latin-1")
        ):
            return None
        return _refused()

    @property
    def guards_signed_in(self) -> bool:
        """Whether :meth:`refuse_for_signed_in` can refuse anything (a tag
        to know this app's speculations by, and a choice short of "declared")."""
        return self.tag is not None and self.signed_in is not None and self.signed_in_choice != "declared"

    def refuse_for_signed_in(self, req: Request) -> Response | None:
        """A 503 for a speculation this app's rules asked for (its tag names
        the rule set) that goes beyond what a signed-in user's pages may ask
        for, else ``None``. A page a shared cache kept for an anonymous
        visitor, or one loaded before the user signed in, may hold rules that
        were not theirs. Asked after the app's own before-request functions
        (``FIREHOSE_SIGNED_IN`` may read what they set, ``g.user``)."""
        purpose = req.environ.get("HTTP_SEC_PURPOSE")
        if not self.guards_signed_in or not is_prefetch_purpose(purpose):
            return None
        field = req.environ.get(TAGS_HEADER)
        tags = parse_tags(field)
        if tags is None:
            # A field too long or odd to read: still ours if it names our tag.
            if not field or f'"{self.tag}"' not in field:
                return None
        elif self.tag not in tags:
            return None
        if self.signed_in_choice == "prefetch" and "prerender" not in str(purpose):
            return None
        assert self.signed_in is not None  # guards_signed_in
        return _refused() if self.signed_in(req, quiet=False) else None

    def policy(self, app: Flask) -> ExclusionPolicy:
        """The app's exclusions, from its URL map at the first request."""
        if self._policy is None:
            with self._lock:
                if self._policy is None:
                    self._policy = self._make_policy(app)
        return self._policy

    def _make_policy(self, app: Flask) -> ExclusionPolicy:
        routes = [
            (rule.rule, rule.endpoint, frozenset(rule.methods or ()), marked(app.view_functions.get(rule.endpoint)))
            for rule in app.url_map.iter_rules()
            if rule.endpoint != ENDPOINT and not is_static_endpoint(rule.endpoint)
        ]
        adapter = app.url_map.bind("firehose.invalid")

        def match(path: str) -> str | None:
            # A redirect (a missing trailing slash, "//" merged) is followed a
            # few times, as the browser follows it.
            for _ in range(4):
                try:
                    endpoint, _ = adapter.match(path, method="GET")
                except NotFound:
                    return None
                except RequestRedirect as redirect:
                    path = unquote(urlsplit(redirect.new_url).path, errors="replace")
                    continue
                return str(endpoint)
            return None

        return ExclusionPolicy(routes, self.exclude, match)

    # -- building -------------------------------------------------------------

    def rules_for(self, app: Flask, req: Request, per_request: bool) -> tuple[Rules | None, bool]:
        """The rules of *req*'s page, and whether per-request ones were left out
        (*per_request* false: for the shared resource)."""
        endpoint = req.endpoint
        root = request_root(req, self.failures)
        if not endpoint or root is None:
            return None, False
        return self.build(app, self.specs_for_request(app, endpoint, req), root, per_request)

    def inline_rules(self, app: Flask, req: Request, header_sent: bool) -> tuple[Rules | None, bool]:
        """The rules ``speculation_rules()`` writes: all of the page's, or only
        the per-request ones when the header already named the others."""
        if not header_sent:
            return self.rules_for(app, req, True)
        endpoint = req.endpoint
        root = request_root(req, self.failures)
        if not endpoint or root is None:
            return None, False
        specs = [spec for spec in self.specs_for_request(app, endpoint, req) if spec.per_request]
        return self.build(app, specs, root, True)

    def build(
        self,
        app: Flask,
        specs: Iterable[RuleSpec],
        root: str,
        per_request: bool,
        urls: Sequence[Sequence[str]] | None = None,
    ) -> tuple[Rules | None, bool]:
        """Resolve *specs* in the current request, for an app whose script
        root is the URL path *root* (see :func:`~flask_firehose._speculation.urls.url_root`).

        A ``prerender_until_script`` rule is written twice: as itself and as a
        ``prefetch`` rule, which a browser without it follows (one that has it
        uses the prefetched page for its prerender). *urls*: each spec's
        list URLs, if the caller asked ``url_for`` for them already."""
        policy = self.policy(app)
        rules: dict[str, list[Any]] = {}
        left_out = False
        for index, spec in enumerate(specs):
            if spec.per_request and not per_request:
                left_out = True
                continue
            made: list[dict[str, Any]] = []
            if spec.urls or spec.endpoints:
                listed = self._urls(spec) if urls is None else urls[index]
                made.extend(self._lists(app, spec, policy, root, listed))
            if spec.is_document:
                made.append(self._document(spec, policy, root))
            rules.setdefault(spec.action, []).extend(made)
            if spec.action == "prerender_until_script":
                twins = [{key: value for key, value in rule.items() if key != "target_hint"} for rule in made]
                rules.setdefault("prefetch", []).extend(twins)
        found: Rules = {action: found for action, found in rules.items() if found}
        if not found:
            return None, left_out
        return ({"tag": self.tag, **found} if self.tag is not None else found), left_out

    def _lists(
        self, app: Flask, spec: RuleSpec, policy: ExclusionPolicy, root: str, found: Iterable[str]
    ) -> list[dict[str, Any]]:
        """The list rules of *spec*, whose URLs are *found*: one per
        ``No-Vary-Search`` their endpoints declare (as
        ``expects_no_vary_search``), in the order their first URL comes."""
        urls = dict.fromkeys(url for url in found if not policy.refuses(url, root, spec.exclude))
        groups: dict[str | None, list[str]] = {}
        for url in urls:
            groups.setdefault(self.variance.value(app, policy.endpoint_of(url, root)), []).append(url)
        made = []
        for expected, members in groups.items():
            rule: dict[str, Any] = {"source": "list", "urls": members, "eagerness": spec.eagerness}
            if expected is not None:
                rule["expects_no_vary_search"] = expected
            made.append(_with_options(rule, spec))
        return made

    def _urls(self, spec: RuleSpec) -> tuple[str, ...]:
        if not spec.endpoints:
            return spec.urls
        urls = list(spec.urls)
        for name, values in spec.endpoints:
            url = self.failures.call(f"speculation url_for({name!r})", None, _resolve, name, values)
            if url is not None:
                urls.append(url)
        return tuple(urls)

    def _document(self, spec: RuleSpec, policy: ExclusionPolicy, root: str) -> dict[str, Any]:
        kept = self._documents.get((spec,), root)
        if kept is not None:
            return kept
        clauses: list[Any] = [
            {"href_matches": [pattern.as_json() for pattern in spec.href_matches]}
            if spec.href_matches
            else {"href_matches": "/*"}  # any path of the page's origin: same origin only
        ]
        if spec.selector_matches is not None:
            clauses.append({"selector_matches": spec.selector_matches})
        clauses.extend(policy.not_clauses(spec.exclude, root))
        rule = _with_options({"source": "document", "where": {"and": clauses}, "eagerness": spec.eagerness}, spec)
        self._documents.put((spec,), rule, root)
        return rule

    def resource_key(self, rules: Mapping[str, Any]) -> str:
        """The content hash naming *rules*' resource, which is kept to be served."""
        body = dumps(rules)
        key = self._keys.get(body)
        if key is None:
            key = hashlib.sha256(body.encode()).hexdigest()[:16]
            self._keys.put(body, key)
        if self._bodies.get(key) is None:
            self._bodies.put(key, body)
        return key

    # -- the response ---------------------------------------------------------------

    def after_request(self, response: Response, req: Request, facts: RequestFacts) -> None:
        """Add the ``Speculation-Rules`` header to the response of *req*, when
        it is an HTML navigation (*facts*: what the request is) answered by a
        view whose page did not inline its rules."""
        endpoint = facts.endpoint
        if not endpoint or endpoint == ENDPOINT or facts.static or not facts.navigation:
            return
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        # Asked first: an endpoint without rules (most apps: all of them) costs one lookup.
        if not self.specs_for(app, endpoint):
            return
        if (
            not 200 <= response.status_code < 300
            or response.mimetype != "text/html"
            or getattr(current_context(), INLINE, False)
        ):
            return
        root = request_root(req, self.failures)
        if root is None:
            return
        specs = self.specs_for_request(app, endpoint, req)
        # The list rules' URLs are asked in each request (a url_defaults
        # function may give each request its own); the rest of the rules, their
        # JSON and the resource's name follow from them and the rules' identities.
        urls = tuple(self._urls(spec) if spec.urls or spec.endpoints else () for spec in specs)
        kept = self._headers.get(specs, (root, urls))
        if kept is None:
            rules, left_out = self.build(app, specs, root, False, urls)
            value = key = body = None
            if rules:
                key = self.resource_key(rules)
                body = self._bodies.get(key)
                value = header_value(f"{root}{self.prefix}/{key}.json")
            kept = (value, left_out, key, body)
            self._headers.put(specs, kept, (root, urls))
        value, left_out, key, body = kept
        if key is not None and body is not None and self._bodies.get(key) is None:
            self._bodies.put(key, body)  # served from this worker's memo, as when first built
        if left_out:
            self.failures.warn_once_in_a_while(
                ("speculation-per-request", endpoint),
                "speculation rules of %r read values per request and never go in the shared rules resource: "
                "add {{ speculation_rules() }} to the page's template to send them inline",
                endpoint,
            )
        if key is not None:
            if value is None:  # pragma: no cover - a checked root and prefix, a hex key
                self.failures.warn_once_in_a_while("speculation-header", "no Speculation-Rules header: bad path")
                return
            response.headers.add("Speculation-Rules", value)
            setattr(current_context(), HEADER_SENT, True)

    def serve(self, key: str) -> Response:
        """The rules resource *key*, from this worker's memo or rebuilt."""
        body = self._bodies.get(key) if _KEY.fullmatch(key) else None
        root = url_root(request.script_root)
        if body is None and _KEY.fullmatch(key) and root is not None and self._may_rebuild(root):
            self._rebuild(root)
            body = self._bodies.get(key)
        if body is None:
            return Response("no such speculation rules\n", 404, {"Cache-Control": "no-store"}, mimetype="text/plain")
        return Response(
            body,
            headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
            mimetype=MEDIA_TYPE,
        )

    def _may_rebuild(self, root: str) -> bool:
        """Whether to rebuild for an unknown key: at most once a minute per
        script root, so that made-up keys cost a lookup, not a rebuild of
        every endpoint's rules."""
        now = time.monotonic()
        last = self._rebuilt.get(root)
        if last is not None and now - last < REBUILD_INTERVAL:
            return False
        self._rebuilt.put(root, now)
        return True

    def _rebuild(self, root: str) -> None:
        """Build the shared rules of every endpoint in this request, whose
        script root is the URL path *root* (another worker may have named a
        resource this one has not built yet)."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        seen: set[tuple[int, ...]] = set()
        for endpoint in list(app.view_functions):
            if endpoint == ENDPOINT or is_static_endpoint(endpoint):
                continue
            declared = self.specs_for(app, endpoint)
            # Each page's rules as anyone gets them, and as a signed-in user does.
            for specs in (declared, for_signed_in(declared, self.signed_in_choice, self._prefetch_twins)):
                ids = tuple(map(id, specs))
                if not specs or ids in seen:
                    continue
                seen.add(ids)
                nothing: tuple[Rules | None, bool] = (None, False)
                rules, _ = self.failures.call("speculation rules", nothing, self.build, app, specs, root, False)
                if rules:
                    self.resource_key(rules)


def _refused() -> Response:
    """The answer to a speculation that is not to be: the browser drops it."""
    return Response(
        "not speculated\n",
        status=503,
        mimetype="text/plain",
        headers={"Cache-Control": "no-store", "Vary": "Sec-Purpose"},
    )


def _with_options(rule: dict[str, Any], spec: RuleSpec) -> dict[str, Any]:
    """*rule* with *spec*'s rule-level fields, each written only when asked
    for: a browser that does not know one drops the rule."""
    if spec.target_hint is not None:
        rule["target_hint"] = spec.target_hint
    if spec.tag is not None:
        rule["tag"] = spec.tag
    return rule


def _overlaps(prefix: str, other: str) -> bool:
    """Whether one of two URL path prefixes contains the other."""
    first, second = prefix.rstrip("/") + "/", other.rstrip("/") + "/"
    return first.startswith(second) or second.startswith(first)


def _resolve(name: str, values: tuple[tuple[str, object], ...]) -> str:
    """``url_for(name, **values)``, callables among the values called first;
    the URL must be a path on this site."""
    arguments: dict[str, Any] = {key: value() if callable(value) else value for key, value in values}
    return same_origin_url(url_for(name, **arguments))
