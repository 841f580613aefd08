"""What ``firehose probe`` warns about: hints browsers or proxies will not use
as meant. Each check reads a :class:`~flask_firehose._probe.result.ProbeResult` (and
how the hinted files are served) and returns :class:`ProbeWarning` values;
:func:`check` runs them all, in a fixed order, each warning once.

=========================  ===============================================================
code                       what it means
=========================  ===============================================================
``malformed-link``         a ``Link`` field RFC 8288 rejects: browsers may drop all of it
``preload-without-as``     a preload with no ``as``: browsers ignore it
``preload-invalid-as``     an ``as`` browsers do not know (``stylesheet``, ``img``...)
``font-without-crossorigin``  a font preload without ``crossorigin``: downloaded twice
``hint-ignored``           a link of the first 103 browsers ignore there, and why
``hint-after-first``       a second 103: browsers use the first one only
``hint-protocol-ignored``  a 103 over HTTP/1.1 or cleartext: Chromium acts on HTTP/2 only
``hint-not-early``         the 103 came with or after the final headers: no head start
``hint-missing``           no 103, though the final header holds links one could carry
``head-too-large``         a response head over nginx's 4 KB ``proxy_buffer_size``
``push-cross-origin``      a link marked for push (no ``nopush``) on another origin
``push-relative``          a link marked for push with a relative target
``file-not-cacheable``     a hinted file served without a cacheable ``Cache-Control``
``file-status``            a hinted file that does not answer 2xx
``file-check-failed``      the hinted files could not be asked for
=========================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit

from .. import _grammar as grammar
from .._browsers import browser_takes_parsed, preload_problem
from .._caching import browser_reuses
from .._links import is_same_origin_path
from .._parsing import ParsedLink
from .result import ProbeResult, ProbeWarning

__all__ = ["CHECKS", "ServedFile", "check", "files_to_check", "head_size"]

#: nginx's default ``proxy_buffer_size`` (4k or 8k by platform; 4k on x86-64
#: Linux): a bigger response head from the app is a 502.
NGINX_HEAD_BUFFER: Final = 4096
#: Hinted files asked for at most, per visit.
MAX_FILES: Final = 64


@dataclass(frozen=True)
class ServedFile:
    """How a hinted file answered a HEAD (or GET): status and ``Cache-Control``
    (``None`` when absent); ``error`` when it could not be asked for at all."""

    target: str
    status: int
    cache_control: str | None
    error: str | None = None


Check = Callable[[ProbeResult, Mapping[str, ServedFile]], Iterable[ProbeWarning]]


def _show(link: ParsedLink) -> str:
    return f"<{link.target}>"


def _is_preload(link: ParsedLink) -> bool:
    return bool(link.rels & {"preload", "modulepreload"})


def _all_links(result: ProbeResult) -> Iterator[ParsedLink]:
    for hint in result.early_hints:
        yield from hint.links
    yield from result.links


def _clip(value: str, size: int = 100) -> str:
    return value if len(value) <= size else value[: size - 3] + "..."


def check_malformed(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """Link fields the strict parser rejected, in a 103 or in the final response."""
    places = [("a 103", error) for hint in result.early_hints for error in hint.malformed]
    places += [("the final response", error) for error in result.malformed]
    for where, error in places:
        yield ProbeWarning(
            "malformed-link",
            f"a Link field of {where} is malformed at character {error.position}: {_clip(error.value)!r} "
            "(browsers may ignore every link in it)",
        )


def check_as(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """Preloads whose ``as`` is missing or unknown (outside the first 103,
    where :func:`check_hint_links` says so), and fonts without ``crossorigin``
    (:func:`~flask_firehose._browsers.preload_problem` decides)."""
    first_hint = set(map(id, result.early_hints[0].links)) if result.early_hints else set()
    for link in _all_links(result):
        problem = preload_problem(link)
        if problem is None:
            continue
        if problem.kind == "font-without-crossorigin":
            yield ProbeWarning(
                "font-without-crossorigin",
                f"font preload of {_show(link)} lacks crossorigin: the font downloads twice",
            )
        elif id(link) in first_hint:
            continue  # check_hint_links says why the 103 link is ignored
        elif problem.kind == "no-as":
            yield ProbeWarning("preload-without-as", f"preload of {_show(link)} has no 'as': browsers ignore it")
        else:
            yield ProbeWarning(
                "preload-invalid-as", f"preload of {_show(link)} has as={problem.as_}, which browsers ignore"
            )


def check_hint_links(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """Links of the first 103 that browsers ignore there, each with why (a
    later 103 is ignored whole: :func:`check_hint_count`; the reasons are
    :func:`~flask_firehose._browsers.browser_takes_parsed`'s)."""
    if not result.early_hints:
        return
    for link in result.early_hints[0].links:
        reason = browser_takes_parsed(link)
        if reason is not None:
            yield ProbeWarning(
                "hint-ignored",
                f"103 link {_show(link)} is ignored by browsers ({reason}): it only takes room in the 103; "
                "leave it to the final Link header",
            )


def check_hint_count(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """A second (or later) 103: browsers act on the first only."""
    if len(result.early_hints) < 2:
        return
    first = {link.target for link in result.early_hints[0].links}
    later = {link.target for hint in result.early_hints[1:] for link in hint.links} - first
    only_later = f"; {len(later)} link(s) are only in later ones ({', '.join(sorted(later)[:3])})" if later else ""
    yield ProbeWarning(
        "hint-after-first",
        f"{len(result.early_hints)} responses 103 came: Chromium and Firefox act on the first only{only_later}",
    )


def _carriable(result: ProbeResult) -> list[ParsedLink]:
    """Links of the final header a 103 could have carried (without ``nopush``)."""
    return [link for link in result.links if browser_takes_parsed(link, nopush=False) is None]


def _is_page(result: ProbeResult) -> bool:
    """Whether the answer is a page a navigation ends on: 2xx, HTML or no type."""
    types = [value.lower() for name, value in result.headers if name == "content-type"]
    return 200 <= result.status < 300 and (not types or "html" in types[0])


def check_hint_missing(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """A navigation that got no 103 although its final header holds links
    one could have carried: the most common deployment mistake."""
    if result.early_hints or not result.navigation or not _is_page(result):
        return
    links = _carriable(result)
    if not links:
        return
    shown = ", ".join(_show(link) for link in links[:3]) + (", ..." if len(links) > 3 else "")
    causes = [
        "a front that drops 103s (nginx before 1.29, or without early_hints; h2o)",
        "FIREHOSE_EARLY_HINTS_HTTP1 off behind a front that forwards them (Caddy, Apache with H2EarlyHints)",
        "a server without wsgi.early_hints (flask run, hypercorn's WSGI, gunicorn before 25)",
        "the links are only push()ed while the page renders, none declared or learned yet",
    ]
    if result.protocol != "h2":
        causes.insert(0, "the page came without HTTP/2 over TLS, and Firehose sends 103s to HTTP/2 clients only")
    server = next((value for name, value in result.headers if name == "server"), None)
    said = f" The answer names its server: {_clip(server, 60)}." if server else ""
    yield ProbeWarning(
        "hint-missing",
        f"no 103 came, though the final Link header holds {len(links)} link(s) a 103 could carry ({shown}). "
        f"Likely causes: {'; '.join(causes)}.{said}",
    )


def check_hint_timing(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """103s that arrive over a protocol browsers ignore them on, or too late."""
    if not result.early_hints:
        return
    if result.protocol != "h2":
        spoken = "cleartext HTTP/2 (h2c)" if result.protocol == "h2c" else "HTTP/1.1"
        yield ProbeWarning(
            "hint-protocol-ignored",
            f"the 103 came over {spoken}: Chromium acts on 103 Early Hints over HTTP/2 with TLS only",
        )
    first = result.early_hints[0]
    if first.at_ms >= result.final_at_ms:
        yield ProbeWarning(
            "hint-not-early",
            f"the 103 arrived with the final headers ({first.at_ms:.1f} ms, final at {result.final_at_ms:.1f} ms): "
            "it gives the browser no head start (a server in between held it back, or the view answered at once)",
        )


def head_size(status: int, headers: Iterable[tuple[str, str]]) -> int:
    """The bytes of a response head as HTTP/1.1 writes it (what nginx
    buffers from the app): status line, ``name: value`` lines, blank line."""
    size = len(f"HTTP/1.1 {status} \r\n") + 2
    return size + sum(len(name) + len(value) + 4 for name, value in headers)


def check_head_size(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """A response head nginx's default buffer cannot hold."""
    size = head_size(result.status, result.headers)
    if size > NGINX_HEAD_BUFFER:
        link_bytes = sum(len(value) for name, value in result.headers if name == "link")
        yield ProbeWarning(
            "head-too-large",
            f"the response head is {size} bytes ({link_bytes} in Link): behind nginx (proxy_buffer_size "
            f"{NGINX_HEAD_BUFFER // 1024}k by default) that is '502 upstream sent too big header'",
        )


def check_push_targets(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """Final-header links marked for push (preload, no ``nopush``) that a
    pushing proxy cannot push: only same-origin paths (``/x.css``) are."""
    for link in result.links:
        if "preload" not in link.rels or link.has("nopush") or is_same_origin_path(link.target):
            continue
        if link.target.startswith("//") or grammar.SCHEME.match(link.target):
            yield ProbeWarning(
                "push-cross-origin",
                f"{_show(link)} is marked for push but is a full URL: proxies push same-origin paths only; "
                "add nopush (push(url, nopush=True))",
            )
        else:
            yield ProbeWarning(
                "push-relative",
                f"{_show(link)} is marked for push but is relative: proxies push paths starting with '/' only",
            )


def check_served_files(result: ProbeResult, served: Mapping[str, ServedFile]) -> Iterator[ProbeWarning]:
    """Hinted files that are missing, or that a browser cannot reuse from its
    cache (:func:`~flask_firehose._caching.browser_reuses` decides)."""
    errors = {file.error for file in served.values() if file.error}
    for error in sorted(errors):
        yield ProbeWarning("file-check-failed", f"could not ask for the hinted files: {error}")
    for target, file in served.items():
        if file.error:
            continue
        if not 200 <= file.status < 300:
            yield ProbeWarning("file-status", f"hinted file {target} answers {file.status}: the hint is wasted")
        elif not browser_reuses(file.cache_control):
            policy = repr(file.cache_control) if file.cache_control else "no Cache-Control"
            yield ProbeWarning(
                "file-not-cacheable",
                f"hinted file {target} is served with {policy}: the browser cannot reuse the hinted copy and "
                "downloads it twice (serve versioned URLs with max-age)",
            )


#: Every check, in the order warnings are reported.
CHECKS: Final[tuple[Check, ...]] = (
    check_malformed,
    check_as,
    check_hint_links,
    check_hint_count,
    check_hint_timing,
    check_hint_missing,
    check_head_size,
    check_push_targets,
    check_served_files,
)


def check(result: ProbeResult, served: Mapping[str, ServedFile]) -> list[ProbeWarning]:
    """Every warning for *result*, each once, in :data:`CHECKS` order."""
    found: dict[ProbeWarning, None] = {}
    for run in CHECKS:
        found.update(dict.fromkeys(run(result, served)))
    return list(found)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of *url*; ``None`` when it has none or a bad port."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None


def _joined(base: str, target: str) -> str:
    """*target* resolved against *base*; ``""`` when the server's target is
    not a URL at all (``http://[::1/x.css``)."""
    try:
        return urljoin(base, target)
    except ValueError:
        return ""


def files_to_check(result: ProbeResult) -> list[str]:
    """The targets of the preloads (103 and final) on the page's own origin,
    each once, at most :data:`MAX_FILES`."""
    page = _origin(result.url)
    targets: dict[str, None] = {}
    for link in _all_links(result):
        if _is_preload(link) and page is not None and _origin(_joined(result.url, link.target)) == page:
            targets.setdefault(link.target)
    return list(targets)[:MAX_FILES]
