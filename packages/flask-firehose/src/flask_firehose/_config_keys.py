"""Every ``FIREHOSE_*`` configuration key: its default and what it does.

:data:`KEYS` is the one table of the keys, in the order the docs list them;
the docs' configuration page is generated from it (``.. firehose-config::``
in ``docs/config.rst``), so the docs cannot drift from what ``init_app``
reads. Reading and checking the values is :mod:`flask_firehose._config`'s
business; this module is data only.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["DEFAULTS", "KEYS", "Key"]


class Key(NamedTuple):
    """One configuration key: its default and what it does (the docs' config
    page is generated from :data:`KEYS`)."""

    default: object
    doc: str


#: Every ``FIREHOSE_*`` key, in the order the docs list them.
KEYS: Final[dict[str, Key]] = {
    "FIREHOSE_ENABLED": Key(
        True,
        "Off switch: no header, no 103, no tracking, no Speculation Rules, no learning (``push()`` still "
        "validates and returns the URL).",
    ),
    "FIREHOSE_TRACKING": Key(
        True,
        "Remember the URLs pushed to each client, so a file is pushed once per client (the connector; by "
        "default a digest cookie).",
    ),
    "FIREHOSE_TRACKING_MAX_BYTES": Key(
        1024,
        "Most characters the session layout (:class:`~flask_firehose.SessionConnector`) stores; the oldest URLs"
        " go first.",
    ),
    "FIREHOSE_MAX_LINKS": Key(20, "Most links Firehose adds to one response, and to one 103."),
    "FIREHOSE_MAX_PUSHES": Key(
        10,
        "Most pushable links per response (nginx pushes at most 10 per connection by default); the rest go out "
        "as ``nopush`` hints.",
    ),
    "FIREHOSE_MAX_HEADER_BYTES": Key(
        2048,
        "Most bytes of ``Link`` per response, the view's own ``Link`` fields included; the same bound for the "
        "103. Header values are ASCII, so bytes and characters are the same count.",
    ),
    "FIREHOSE_EARLY_HINTS": Key(
        True,
        "Send one 103 Early Hints response before the view, where the server can (``wsgi.early_hints``: gunicorn 25+).",
    ),
    "FIREHOSE_EARLY_HINTS_HTTP1": Key(
        False,
        "Also send the 103 to HTTP/1.1 clients: turn on behind a front that forwards 103s (Caddy, nginx 1.29+, "
        "Apache, h2o), which talks HTTP/1.1 to the app. Never behind nginx before 1.29 (measured with 1.22): it "
        "takes the 103 for the final response and the page breaks.",
    ),
    "FIREHOSE_FRONT_PUSHES": Key(
        True,
        "With ``FIREHOSE_EARLY_HINTS_HTTP1``: the front may push every link of a 103 (Apache ``H2Push``, h2o), "
        "so a 103 sent over HTTP/1.1 leaves out links marked ``nopush`` and those already pushed. Set to "
        "``False`` behind a front that only forwards (Caddy, nginx 1.29) to keep every hint.",
    ),
    "FIREHOSE_EARLY_HINTS_REFERRER_POLICY": Key(
        "strict-origin-when-cross-origin",
        "The ``Referrer-Policy`` the 103 carries, which browsers apply to its preloads (without one, measured in "
        "Chromium, they send the page's full URL, query included): one or more policy tokens, comma-separated. "
        "Set it to your pages' own policy when that is stricter. ``None``: no ``Referrer-Policy`` in the 103.",
    ),
    "FIREHOSE_EARLY_HINTS_CSP": Key(
        None,
        "A ``Content-Security-Policy`` the 103 carries, which browsers enforce on its preloads (a preload the "
        "policy forbids is not made). The same for every page and client: no ``'nonce-...'`` source. ``None``: "
        "no policy in the 103 (the page's own still applies to the page).",
    ),
    "FIREHOSE_BEHIND_CDN": Key(
        False,
        "A CDN that caches pages or replays a page's final ``Link`` header as a 103 to later visitors "
        "(Cloudflare's and Fastly's Early Hints) may be in front: the final ``Link`` header then holds only "
        "public static assets and is the same for every client (no per-client ``nopush``, no digest cookie).",
    ),
    "FIREHOSE_PRECONNECT": Key(
        (),
        'Origins (``"https://fonts.example"``) or ``Link(origin, rel="preconnect", ...)`` objects to preconnect'
        " to in every navigation's 103. Any iterable, read once.",
    ),
    "FIREHOSE_LEARN": Key(
        True,
        "Learn each endpoint's hints from its successful HTML responses, for the 103 of later requests (public "
        "static assets only; only from requests a 103 could be sent for).",
    ),
    "FIREHOSE_LEARN_PREFIXES": Key(
        None,
        "Path prefixes that may be learned (any iterable, read once; ``/`` is refused). ``None``: the static "
        "URL paths of the app and its blueprints, but not one at the site root.",
    ),
    "FIREHOSE_LEARN_MIN_SEEN": Key(2, "Responses a link must appear in before it is learned."),
    "FIREHOSE_LEARN_FROM_HTML": Key(
        True,
        "Also learn from each page's own HTML: the stylesheets, scripts and preloads its head names, read from "
        "the first 32 kB of the body while the endpoint is being learned (once its hints are steady, the body is "
        "not read again until a rescan ten minutes on). Needs ``FIREHOSE_LEARN``.",
    ),
    "FIREHOSE_LCP": Key(
        True,
        "Learn each page's Largest Contentful Paint image from real visitors: a few sampled visits per endpoint "
        "and viewport class get a small script that reports it, and an image every class agrees on goes into "
        "the 103 and the ``Link`` header at ``fetchpriority=high``. Needs ``FIREHOSE_LEARN`` and the app's "
        "``SECRET_KEY``.",
    ),
    "FIREHOSE_LCP_PATH": Key(
        "/_firehose/lcp",
        "Where the LCP script (``<path>.js``) is served and its reports are posted.",
    ),
    "FIREHOSE_LEARN_NAMESPACE": Key(
        None,
        "Whose learned hints these are in a shared store (Redis): apps with the same namespace, on the same host "
        "and script root, share them. ``None``: the app's name, made unique among the apps built in one process "
        "(``name#2`` for the second), so the workers of one app share and two apps of one factory do not.",
    ),
    "FIREHOSE_LINT": Key(
        None, "Log development warnings on the ``flask_firehose.lint`` logger. ``None``: in debug mode."
    ),
    "FIREHOSE_STRICT": Key(
        None,
        "Raise failures (connectors, stores, declared callables, the 103 callback, invalid ``push()`` "
        "arguments) instead of logging them. ``None``: in debug or testing mode.",
    ),
    "FIREHOSE_DIGEST_MAX_BYTES": Key(
        3000,
        "Most characters of the digest cookie's value (100 to 4,000); when full, the oldest generation of URLs "
        "is dropped.",
    ),
    "FIREHOSE_DIGEST_FALSE_POSITIVES": Key(
        0.01,
        "Most likely share of never-pushed files the digest reports as pushed (they then go out ``nopush``): "
        "0.0001 to 0.5.",
    ),
    "FIREHOSE_COOKIE_NAME": Key("fh-pushed", "The digest cookie's name (not the session's)."),
    "FIREHOSE_COOKIE_MAX_AGE": Key(
        30 * 86400, "The digest cookie's lifetime in seconds (30 days). ``None``: until the browser closes."
    ),
    "FIREHOSE_COOKIE_PATH": Key("/", "The digest cookie's ``Path``."),
    "FIREHOSE_COOKIE_DOMAIN": Key(None, "The digest cookie's ``Domain``. ``None``: this host only."),
    "FIREHOSE_COOKIE_SECURE": Key(
        None, "The digest cookie's ``Secure`` flag. ``None``: set when the request came over HTTPS."
    ),
    "FIREHOSE_COOKIE_HTTPONLY": Key(True, "The digest cookie's ``HttpOnly`` flag."),
    "FIREHOSE_COOKIE_SAMESITE": Key(
        "Lax",
        'The digest cookie\'s ``SameSite``: ``"Lax"``, ``"Strict"``, ``"None"``, or ``None`` to leave the '
        "attribute out.",
    ),
    "FIREHOSE_REDIS_URL": Key(
        None,
        "Keep learned hints in this Redis (``redis://``, ``rediss://``, ``unix://``), shared by every worker "
        "and host; one Redis server (for a Redis Cluster or Sentinel, pass ``RedisHintStore(client)``); needs the "
        "``redis`` package (``pip install redis``).",
    ),
    "FIREHOSE_SPECULATION": Key(
        True,
        "Send the Speculation Rules declared with ``speculate()`` and ``@speculation``. ``False`` turns them "
        "off everywhere: no header, no rules resource, ``speculation_rules()`` writes nothing.",
    ),
    "FIREHOSE_SPECULATION_PREFIX": Key(
        "/_firehose/speculation",
        "The path under which the rules resources are served (``<prefix>/<hash>.json``): a plain path starting "
        "with ``/``, not ``/`` itself.",
    ),
    "FIREHOSE_SPECULATION_EXCLUDE": Key(
        (),
        "What no rule may speculate, on top of the built-in exclusions (logout-like endpoints and paths, routes "
        'without GET, ``@no_speculation`` views): endpoint names (``"account.delete"``, ``"admin.*"`` for a '
        'blueprint), path patterns (``"/cart/*"``) and query patterns (``"?*token=*"``). Any iterable, '
        "read once.",
    ),
    "FIREHOSE_SPECULATION_TAG": Key(
        "flask-firehose",
        "The tag of every rule set Firehose writes: browsers that know tags (Chromium 136+) send it back in "
        "``Sec-Speculation-Tags``, so ``is_speculative(own=True)`` tells this app's speculations from a CDN's or "
        "another library's, and the signed-in guard knows them. At most 64 printable ASCII characters; "
        "``None`` for no tag (and no guard; ``FLASK_FIREHOSE_SPECULATION_TAG=null`` from the environment). Two "
        "apps on one origin: give each its own.",
    ),
    "FIREHOSE_SPECULATION_SIGNED_IN": Key(
        "prefetch",
        'What a signed-in user\'s pages ask the browser for: ``"prefetch"`` (prerender rules become prefetch '
        'rules: no personalised page runs its scripts unseen), ``"off"`` (no rules) or ``"declared"`` (the '
        "rules as declared). Firehose's own speculations beyond it are refused (503) before the view runs.",
    ),
    "FIREHOSE_SIGNED_IN": Key(
        None,
        "A callable taking no argument, called once per request that asks, saying whether its user is signed in "
        "(``lambda: current_user.is_authenticated``); it must return ``True`` or ``False``. ``None``: a request "
        "that carries any cookie (other than Firehose's digest: an analytics, CDN or consent cookie too), HTTP "
        "authentication or a client certificate is taken as signed in. Set it whenever the app knows who is "
        "signed in.",
    ),
}

DEFAULTS: Final[dict[str, object]] = {name: key.default for name, key in KEYS.items()}
