"""The ``FIREHOSE_*`` configuration keys, their defaults, read once per app.

Every key, its default and what it does are in :data:`KEYS`, the one table
the docs' configuration page is generated from.

Every value is checked once, in ``init_app``; a bad one raises
:class:`~flask_firehose.ConfigurationError` naming its key. A ``FIREHOSE_*`` key
that is not in this table gives a :class:`~flask_firehose.FirehoseWarning`
naming the closest known key.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from . import _grammar as grammar
from ._digest import DigestFormat
from ._grammar import TOKEN
from ._links import Link, encode_target
from ._paths import is_plain_path
from ._speculation.rules import UrlPattern, parse_exclusion
from .errors import ConfigurationError, FirehoseWarning, InvalidLinkError

__all__ = ["DEFAULTS", "KEYS", "CookieSettings", "Key", "Settings"]


class Key(NamedTuple):
    """One configuration key: its default and what it does (the docs' config
    page is generated from :data:`KEYS`)."""

    default: object
    doc: str


#: Every ``FIREHOSE_*`` key, in the order the docs list them.
KEYS: Final[dict[str, Key]] = {
    "FIREHOSE_ENABLED": Key(
        True, "Off switch: no header, no 103, no tracking (``push()`` still validates and returns the URL)."
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
}

DEFAULTS: Final[dict[str, object]] = {name: key.default for name, key in KEYS.items()}

_PREFIX = "FIREHOSE_"


def _flag(config: MutableMapping[str, Any], key: str) -> bool:
    value = config.setdefault(key, DEFAULTS[key])
    if not isinstance(value, bool):
        raise ConfigurationError(f"{key} must be True or False, not {value!r}", key, value)
    return value


def _optional_flag(config: MutableMapping[str, Any], key: str) -> bool | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is not None and not isinstance(value, bool):
        raise ConfigurationError(f"{key} must be True, False or None, not {value!r}", key, value)
    return value


def _prefixes(config: MutableMapping[str, Any], key: str) -> tuple[str, ...] | None:
    """Read the prefixes once (a generator is consumed here, and the tuple
    written back), check them, and end each with ``/`` so that ``/static``
    does not also cover ``/static-private/``."""
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{key} must be a list of paths such as ['/static/'], not {value!r}", key, value)
    items = tuple(value)
    config[key] = items
    prefixes = []
    for item in items:
        if not isinstance(item, str) or not item.startswith("/") or item.startswith("//"):
            raise ConfigurationError(f"{key} holds {item!r}: each prefix must be a path starting with '/'", key, item)
        try:
            # Written as the links it must match are: percent-encoded.
            encoded = encode_target(item)
        except InvalidLinkError as exc:
            raise ConfigurationError(f"{key} holds {item!r}: {exc}", key, item) from None
        prefix = encoded if encoded.endswith("/") else encoded + "/"
        if prefix != "/" and not is_plain_path(prefix, folder=True):
            raise ConfigurationError(
                f"{key} holds {item!r}: a prefix is a plain path (no query, fragment, ';', dot or empty "
                "segment, or encoded '/', '\\' or '.')",
                key,
                item,
            )
        if prefix == "/":
            raise ConfigurationError(
                f"{key} holds '/': the site root would make every URL of the site learnable, "
                "per-user ones included; name the folders that hold public assets",
                key,
                item,
            )
        prefixes.append(prefix)
    return tuple(prefixes)


def _count(config: MutableMapping[str, Any], key: str, minimum: int) -> int:
    value = config.setdefault(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{key} must be an int >= {minimum}, not {value!r}", key, value)
    return value


def _rate(config: MutableMapping[str, Any], key: str) -> float:
    value = config.setdefault(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0001 <= value <= 0.5:
        raise ConfigurationError(f"{key} must be a number from 0.0001 to 0.5, not {value!r}", key, value)
    return float(value)


def _digest_budget(config: MutableMapping[str, Any], key: str) -> int:
    value = _count(config, key, 100)
    if value > 4000:  # browsers drop a cookie over 4,096 bytes, name and attributes included
        raise ConfigurationError(
            f"{key} must be at most 4000 (browsers drop larger cookies), not {value!r}", key, value
        )
    return value


def _cookie(config: MutableMapping[str, Any]) -> CookieSettings:
    name = config.setdefault("FIREHOSE_COOKIE_NAME", DEFAULTS["FIREHOSE_COOKIE_NAME"])
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        raise ConfigurationError(f"FIREHOSE_COOKIE_NAME must be a token, not {name!r}", "FIREHOSE_COOKIE_NAME", name)
    if name == config.get("SESSION_COOKIE_NAME", "session"):
        raise ConfigurationError(
            f"FIREHOSE_COOKIE_NAME {name!r} is the session cookie's name: the digest would overwrite the session",
            "FIREHOSE_COOKIE_NAME",
            name,
        )
    max_age = config.setdefault("FIREHOSE_COOKIE_MAX_AGE", DEFAULTS["FIREHOSE_COOKIE_MAX_AGE"])
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
        raise ConfigurationError(
            f"FIREHOSE_COOKIE_MAX_AGE must be seconds (an int >= 0) or None, not {max_age!r}",
            "FIREHOSE_COOKIE_MAX_AGE",
            max_age,
        )
    path = config.setdefault("FIREHOSE_COOKIE_PATH", DEFAULTS["FIREHOSE_COOKIE_PATH"])
    if not isinstance(path, str) or not path.startswith("/") or not grammar.COOKIE_AV_TEXT.fullmatch(path):
        raise ConfigurationError(f"FIREHOSE_COOKIE_PATH must be a path, not {path!r}", "FIREHOSE_COOKIE_PATH", path)
    domain = config.setdefault("FIREHOSE_COOKIE_DOMAIN", DEFAULTS["FIREHOSE_COOKIE_DOMAIN"])
    if domain is not None and (not isinstance(domain, str) or not grammar.DOMAIN.fullmatch(domain)):
        raise ConfigurationError(
            f"FIREHOSE_COOKIE_DOMAIN must be a host name or None, not {domain!r}", "FIREHOSE_COOKIE_DOMAIN", domain
        )
    samesite = config.setdefault("FIREHOSE_COOKIE_SAMESITE", DEFAULTS["FIREHOSE_COOKIE_SAMESITE"])
    if samesite not in ("Lax", "Strict", "None", None):
        raise ConfigurationError(
            f"FIREHOSE_COOKIE_SAMESITE must be 'Lax', 'Strict', 'None' or None, not {samesite!r}",
            "FIREHOSE_COOKIE_SAMESITE",
            samesite,
        )
    return CookieSettings(
        name=name,
        max_age=max_age,
        path=path,
        domain=domain,
        secure=_optional_flag(config, "FIREHOSE_COOKIE_SECURE"),
        httponly=_flag(config, "FIREHOSE_COOKIE_HTTPONLY"),
        samesite=samesite,
    )


def _preconnect(config: MutableMapping[str, Any], key: str) -> tuple[Link, ...]:
    """Origins as ``rel=preconnect`` links; read once, like the prefixes."""
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Link)) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"{key} must be a list of origins such as ['https://fonts.example'], not {value!r}", key, value
        )
    items = tuple(value)
    config[key] = items
    links = []
    for item in items:
        if isinstance(item, Link):
            if "preconnect" not in item.rels:
                raise ConfigurationError(f"{key} holds {item!r}, which is not a rel=preconnect link", key, item)
            links.append(item)
            continue
        if not isinstance(item, str) or not grammar.ORIGIN.fullmatch(item):
            raise ConfigurationError(
                f"{key} holds {item!r}: each entry is an origin such as 'https://fonts.example' (no path), or a Link",
                key,
                item,
            )
        links.append(Link(item.lower(), rel="preconnect"))
    return tuple(links)


def _speculation_prefix(config: MutableMapping[str, Any], key: str) -> str:
    value = config.setdefault(key, DEFAULTS[key])
    prefix = value.rstrip("/") if isinstance(value, str) else value
    if not isinstance(prefix, str) or not grammar.PLAIN_PATH_PREFIX.fullmatch(prefix) or not is_plain_path(prefix):
        raise ConfigurationError(
            f"{key} must be a plain path such as '/_firehose/speculation' (no query, dot segment or "
            f"encoded character), not {value!r}",
            key,
            value,
        )
    return prefix


def _speculation_exclude(config: MutableMapping[str, Any], key: str) -> tuple[str | UrlPattern, ...]:
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"{key} must be a list of endpoint names and URL patterns such as ['account.delete', '/cart/*'], "
            f"not {value!r}",
            key,
            value,
        )
    items = tuple(value)
    config[key] = items
    return tuple(parse_exclusion(item, key) for item in items)


#: The policy tokens of the Referrer Policy spec (W3C, §3); the header's value
#: is one or more of them, comma-separated (§4.1; browsers use the last they know).
_REFERRER_POLICIES: Final = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)


def _namespace(config: MutableMapping[str, Any], key: str) -> str | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200 or not value.isprintable()):
        raise ConfigurationError(
            f"{key} must be a name (1 to 200 printable characters) or None, not {value!r}", key, value
        )
    return value


def _referrer_policy(config: MutableMapping[str, Any], key: str) -> str | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return None
    tokens = [token.strip(" \t") for token in value.split(",")] if isinstance(value, str) else None
    if not tokens or not all(token.lower() in _REFERRER_POLICIES for token in tokens):
        raise ConfigurationError(
            f"{key} must be a Referrer-Policy such as 'strict-origin-when-cross-origin' (known policies: "
            f"{', '.join(sorted(_REFERRER_POLICIES))}), or None, not {value!r}",
            key,
            value,
        )
    return ", ".join(token.lower() for token in tokens)


def _csp(config: MutableMapping[str, Any], key: str) -> str | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip(" \t") or not grammar.TEXT.fullmatch(value):
        raise ConfigurationError(
            f"{key} must be a Content-Security-Policy header value (visible ASCII, no CR or LF), not {value!r}",
            key,
            value,
        )
    if "'nonce-" in value.lower():
        raise ConfigurationError(
            f"{key} holds a nonce source ({value!r}): the 103's policy is the same for every response, and a "
            "nonce that never changes protects nothing; leave nonces to the page's own policy",
            key,
            value,
        )
    return value.strip(" \t")


def _redis_url(config: MutableMapping[str, Any], key: str) -> str | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        # The value may hold a password: name the scheme only.
        shown = f"{value.split(':', 1)[0]!r}:..." if isinstance(value, str) else repr(value)
        raise ConfigurationError(f"{key} must be a redis://, rediss:// or unix:// URL, not {shown}", key, value)
    return value


def _warn_unknown(config: MutableMapping[str, Any]) -> None:
    for key in config:
        if isinstance(key, str) and key.upper().startswith(_PREFIX) and key not in DEFAULTS:
            # Compared without the shared prefix, which would make every key look
            # close, and without case (FIREHOSE_learn is FIREHOSE_LEARN mistyped).
            known = {name[len(_PREFIX) :]: name for name in DEFAULTS}
            close = difflib.get_close_matches(key[len(_PREFIX) :].upper(), known, n=1, cutoff=0.75)
            hint = f"; did you mean {known[close[0]]}?" if close else ""
            warnings.warn(f"unknown config key {key} is ignored{hint}", FirehoseWarning, stacklevel=4)


@dataclass(frozen=True, slots=True)
class CookieSettings:
    """The digest cookie's name and attributes."""

    name: str
    max_age: int | None
    path: str
    domain: str | None
    secure: bool | None
    httponly: bool
    samesite: str | None


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration of one app, validated."""

    enabled: bool
    tracking: bool
    tracking_max_bytes: int
    max_links: int
    max_pushes: int
    max_header_bytes: int
    early_hints: bool
    early_hints_http1: bool
    front_pushes: bool
    preconnect: tuple[Link, ...]
    learn: bool
    learn_prefixes: tuple[str, ...] | None
    learn_min_seen: int
    lint: bool | None
    strict: bool | None
    digest: DigestFormat
    cookie: CookieSettings
    redis_url: str | None
    learn_namespace: str | None = None
    early_hints_referrer_policy: str | None = "strict-origin-when-cross-origin"
    early_hints_csp: str | None = None
    behind_cdn: bool = False
    speculation: bool = True
    speculation_prefix: str = "/_firehose/speculation"
    speculation_exclude: tuple[str | UrlPattern, ...] = ()

    @classmethod
    def from_config(cls, config: MutableMapping[str, Any]) -> Settings:
        """Read every key, writing its default into *config* when missing.

        :raises ConfigurationError: a value of the wrong type or range,
            naming its key.
        :warns FirehoseWarning: for each unknown ``FIREHOSE_*`` key.
        """
        _warn_unknown(config)
        return cls(
            enabled=_flag(config, "FIREHOSE_ENABLED"),
            tracking=_flag(config, "FIREHOSE_TRACKING"),
            tracking_max_bytes=_count(config, "FIREHOSE_TRACKING_MAX_BYTES", 0),
            max_links=_count(config, "FIREHOSE_MAX_LINKS", 0),
            max_pushes=_count(config, "FIREHOSE_MAX_PUSHES", 0),
            max_header_bytes=_count(config, "FIREHOSE_MAX_HEADER_BYTES", 0),
            early_hints=_flag(config, "FIREHOSE_EARLY_HINTS"),
            early_hints_http1=_flag(config, "FIREHOSE_EARLY_HINTS_HTTP1"),
            front_pushes=_flag(config, "FIREHOSE_FRONT_PUSHES"),
            preconnect=_preconnect(config, "FIREHOSE_PRECONNECT"),
            learn=_flag(config, "FIREHOSE_LEARN"),
            learn_prefixes=_prefixes(config, "FIREHOSE_LEARN_PREFIXES"),
            learn_min_seen=_count(config, "FIREHOSE_LEARN_MIN_SEEN", 1),
            lint=_optional_flag(config, "FIREHOSE_LINT"),
            strict=_optional_flag(config, "FIREHOSE_STRICT"),
            digest=DigestFormat(
                false_positives=_rate(config, "FIREHOSE_DIGEST_FALSE_POSITIVES"),
                max_chars=_digest_budget(config, "FIREHOSE_DIGEST_MAX_BYTES"),
            ),
            cookie=_cookie(config),
            redis_url=_redis_url(config, "FIREHOSE_REDIS_URL"),
            learn_namespace=_namespace(config, "FIREHOSE_LEARN_NAMESPACE"),
            early_hints_referrer_policy=_referrer_policy(config, "FIREHOSE_EARLY_HINTS_REFERRER_POLICY"),
            early_hints_csp=_csp(config, "FIREHOSE_EARLY_HINTS_CSP"),
            behind_cdn=_flag(config, "FIREHOSE_BEHIND_CDN"),
            speculation=_flag(config, "FIREHOSE_SPECULATION"),
            speculation_prefix=_speculation_prefix(config, "FIREHOSE_SPECULATION_PREFIX"),
            speculation_exclude=_speculation_exclude(config, "FIREHOSE_SPECULATION_EXCLUDE"),
        )
