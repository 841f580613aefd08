"""The ``FIREHOSE_*`` configuration of one app, read and checked once.

:meth:`Settings.from_config` reads every key of
:data:`~flask_firehose._config_keys.KEYS` (the table of defaults and
documentation) once, in ``init_app``, writing its default into the app's
config when missing. Every value is checked there; a bad one raises
:class:`~flask_firehose.ConfigurationError` naming its key. A ``FIREHOSE_*``
key that is not in the table gives a :class:`~flask_firehose.FirehoseWarning`
naming the closest known key.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from . import _grammar as grammar
from ._config_keys import DEFAULTS
from ._digest import DigestFormat
from ._grammar import TOKEN
from ._links import Link, encode_target, safe_repr
from ._paths import is_plain_path
from ._speculation.rules import SIGNED_IN_CHOICES, UrlPattern, check_tag, parse_exclusion
from .errors import ConfigurationError, FirehoseWarning, InvalidLinkError

__all__ = ["CookieSettings", "Settings"]


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
    return _plain_path(config, key, "/_firehose/speculation")


def _plain_path(config: MutableMapping[str, Any], key: str, example: str) -> str:
    value = config.setdefault(key, DEFAULTS[key])
    prefix = value.rstrip("/") if isinstance(value, str) else value
    if not isinstance(prefix, str) or not grammar.PLAIN_PATH_PREFIX.fullmatch(prefix) or not is_plain_path(prefix):
        raise ConfigurationError(
            f"{key} must be a plain path such as {example!r} (no query, dot segment or encoded character), "
            f"not {value!r}",
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


def _speculation_tag(config: MutableMapping[str, Any], key: str) -> str | None:
    value = config.setdefault(key, DEFAULTS[key])
    return None if value is None else check_tag(value, key)


def _signed_in_choice(config: MutableMapping[str, Any], key: str) -> str:
    value = config.setdefault(key, DEFAULTS[key])
    if value not in SIGNED_IN_CHOICES:
        raise ConfigurationError(
            f"{key} must be one of {', '.join(map(repr, SIGNED_IN_CHOICES))}, not {safe_repr(value)}", key, value
        )
    return str(value)


def _signed_in(config: MutableMapping[str, Any], key: str) -> Callable[[], object] | None:
    value = config.setdefault(key, DEFAULTS[key])
    if value is not None and not callable(value):
        raise ConfigurationError(
            f"{key} must be a callable taking no argument that says whether the current request's user is "
            f"signed in (lambda: current_user.is_authenticated), or None, not {safe_repr(value)}",
            key,
            value,
        )
    return value  # type: ignore[no-any-return]


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
    learn_from_html: bool = True
    lcp: bool = True
    lcp_path: str = "/_firehose/lcp"
    speculation_tag: str | None = "flask-firehose"
    speculation_signed_in: str = "prefetch"
    signed_in: Callable[[], object] | None = None

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
            speculation_tag=_speculation_tag(config, "FIREHOSE_SPECULATION_TAG"),
            speculation_signed_in=_signed_in_choice(config, "FIREHOSE_SPECULATION_SIGNED_IN"),
            signed_in=_signed_in(config, "FIREHOSE_SIGNED_IN"),
            learn_from_html=_flag(config, "FIREHOSE_LEARN_FROM_HTML"),
            lcp=_flag(config, "FIREHOSE_LCP"),
            lcp_path=_plain_path(config, "FIREHOSE_LCP_PATH", "/_firehose/lcp"),
        )
