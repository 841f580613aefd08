"""Speculation Rules as Chromium ships them in 2026, in real Chromium: what the
headers and rules Firehose writes make the browser do.

The app (e2e/speculation_2026_app.py, the public API only) runs under gunicorn
(one worker, TLS, HTTP/2) behind the latency relay (RTT 100 ms,
harness/relay.py). gunicorn's access log records, for each request, its
``Sec-Purpose`` and ``Sec-Speculation-Tags`` and the response's
``No-Vary-Search`` and ``Speculation-Rules``: what crossed the wire. The
browser's side comes from the page (the navigation entry's ``deliveryType``
and ``activationStart``) and from the DevTools ``Preload`` domain (each rule
set Chromium read, and whether it refused any of it).

Chromium is driven over the DevTools protocol through the tab target
(harness/cdp.py), where prerendering stays on. ``prerender_until_script`` is
behind ``--enable-features=PrerenderUntilScript`` in Chromium 156: one test
starts a browser with it, another shows the fallback without it.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.cdp import Browser, Tab
from harness.processes import find_binary, free_port, start
from harness.relay import Relay
from harness.tls import Tls

from .speculation_2026_app import RECORD_VARIABLE

pytestmark = pytest.mark.integration

TAG = "flask-firehose"  # FIREHOSE_SPECULATION_TAG's default
DOMAINS = ("Page", "Runtime", "Preload")
# One request a line, tab-separated: method, path, query, status, Sec-Purpose,
# Sec-Speculation-Tags, and the response's No-Vary-Search and Speculation-Rules
# ("-" for a header that is absent; gunicorn writes '"' as '\"').
_FORMAT = "\t".join(
    (
        "%(m)s",
        "%(U)s",
        "%(q)s",
        "%(s)s",
        "%({sec-purpose}i)s",
        "%({sec-speculation-tags}i)s",
        "%({no-vary-search}o)s",
        "%({speculation-rules}o)s",
    )
)
# RFC 9651 list members as Chromium sends them: sf-strings and the token null.
_MEMBER = re.compile(r'[ \t]*(?:"(?P<string>(?:[^"\\]|\\["\\])*)"|(?P<token>[A-Za-z*][!#$%&\'*+\-.^_`|~:/\w]*))[ \t]*')


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    status: int
    purpose: str | None
    tags: str | None
    no_vary_search: str | None
    speculation_rules: str | None


def _header(logged: str) -> str | None:
    return None if logged == "-" else logged.replace('\\"', '"')


@dataclass(frozen=True)
class Site:
    origin: str
    access_log: Path
    record: Path

    def hits(self, since: int = 0) -> list[Hit]:
        """The requests from line *since* of the access log on."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        found = []
        for line in lines[since:]:
            method, path, query, status, purpose, tags, nvs, rules = line.split("\t")
            found.append(Hit(method, path, query, int(status), *map(_header, (purpose, tags, nvs, rules))))
        return found

    def mark(self) -> int:
        return len(self.hits())

    def wait_for(self, path: str, since: int, timeout: float = 10.0, count: int = 1) -> list[Hit]:
        """The requests for *path* (any query) from line *since* on, once there are *count*."""
        deadline = time.monotonic() + timeout
        while True:
            seen = [hit for hit in self.hits(since) if hit.path == path]
            if len(seen) >= count or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)

    def records(self) -> list[dict[str, Any]]:
        """What the ``/tagged/<name>`` views saw ``is_speculative()`` answer."""
        text = self.record.read_text() if self.record.exists() else ""
        return [json.loads(line) for line in text.splitlines()]


def sf_list(value: str) -> list[str | None]:
    """An RFC 9651 List of sf-strings (``None`` for the token ``null``), as
    ``Sec-Speculation-Tags`` holds; anything else fails the test."""
    members: list[str | None] = []
    position = 0
    while True:
        match = _MEMBER.match(value, position)
        assert match, f"not a list of strings: {value!r}"
        if match["string"] is not None:
            members.append(re.sub(r"\\(.)", r"\1", match["string"]))
        else:
            assert match["token"] == "null", f"unexpected token in {value!r}"
            members.append(None)
        position = match.end()
        if position == len(value):
            return members
        assert value[position] == ",", f"not a list: {value!r}"
        position += 1


@contextmanager
def _serve(tls: Tls, run: Path, factory: str) -> Iterator[Site]:
    port = free_port()
    log, record = run / "access.log", run / "record.jsonl"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        "1",
        # Chromium opens connections ahead of need: idle ones would hold
        # gthread's default four threads and delay the speculations.
        "--threads",
        "16",
        "--no-control-socket",
        "--certfile",
        tls.cert_file,
        "--keyfile",
        tls.key_file,
        "--access-logfile",
        str(log),
        "--access-logformat",
        _FORMAT,
        f"e2e.speculation_2026_app:{factory}",
    ]
    env = {RECORD_VARIABLE: str(record)}
    with start(command, port, run / "app.log", env), Relay(("127.0.0.1", port), 0.1, max_lifetime=240) as relay:
        yield Site(f"https://127.0.0.1:{relay.port}", log, record)


@pytest.fixture(scope="module")
def site(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app as configured by default (signed-in visitors get prefetch)."""
    with _serve(tls, tmp_path_factory.mktemp("speculation-2026"), "create_app()") as running:
        yield running


@pytest.fixture(scope="module")
def site_off(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app with ``FIREHOSE_SPECULATION_SIGNED_IN = "off"``."""
    with _serve(tls, tmp_path_factory.mktemp("speculation-2026-off"), "create_app(signed_in='off')") as running:
        yield running


@pytest.fixture(scope="module")
def until_script_browser(tls: Tls) -> Iterator[Browser]:
    """Chromium with ``prerender_until_script`` turned on (off by default in 156)."""
    executable = find_binary("chromium", "chromium")
    flags = [f"--ignore-certificate-errors-spki-list={tls.spki_sha256}", "--enable-features=PrerenderUntilScript"]
    with Browser(executable, flags) as chromium:
        yield chromium


@contextmanager
def _tab(browser: Browser) -> Iterator[Tab]:
    """A tab in a fresh browser context whose pages report to the Preload domain."""
    opened = browser.new_tab(enable=DOMAINS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """conftest's tab of the module's browser, with the Preload domain on."""
    with _tab(browser) as opened:
        yield opened


# -- what the browser says ---------------------------------------------------------------


def _rule_sets(browser: Browser, since: int) -> list[dict[str, Any]]:
    """The rule sets Chromium read since event *since* (latest state of each)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in browser.events_since(since, "Preload.ruleSetUpdated"):
        latest[event.params["ruleSet"]["id"]] = event.params["ruleSet"]
    return list(latest.values())


def _firehose_rule_sets(browser: Browser, since: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The rule sets Chromium read from Firehose's rules resources since *since*,
    once there is one; each one accepted whole (no ``errorType``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            ruleset for ruleset in _rule_sets(browser, since) if "/_firehose/speculation/" in ruleset.get("url", "")
        ]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found, f"Chromium read none of Firehose's rule sets: {_rule_sets(browser, since)}"
    for ruleset in found:
        assert "errorType" not in ruleset, f"Chromium refused: {ruleset}"
        assert ruleset.get("tag") == TAG, ruleset
    return found


def _wait_prefetch_ready(browser: Browser, since: int, path: str, timeout: float = 10.0) -> None:
    """Wait until Chromium holds a finished prefetch of *path*."""
    browser.wait_event(
        "Preload.prefetchStatusUpdated",
        since=since,
        predicate=lambda p: p["key"]["url"].endswith(path) and p["status"] in ("Ready", "Success"),
        timeout=timeout,
    )


def _navigation(tab: Tab) -> dict[str, Any]:
    entry: dict[str, Any] = tab.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {deliveryType: n.deliveryType, activationStart: n.activationStart, href: location.href}; })()"
    )
    return entry


def _click(tab: Tab, selector: str, path: str) -> dict[str, Any]:
    """Click *selector* and return the navigation entry of the page at *path* it shows."""
    x, y = tab.center(selector)
    tab.click(x, y)
    tab.wait_for_url(lambda url: url.split("?")[0].endswith(path))
    return _navigation(tab)


# -- 1. No-Vary-Search ----------------------------------------------------------------------


def test_a_prefetch_serves_a_click_on_a_url_that_differs_only_in_an_ignored_parameter(
    site: Site, browser: Browser, tab: Tab
) -> None:
    since, events = site.mark(), browser.mark()
    tab.navigate(site.origin + "/nvs")
    (prefetch,) = site.wait_for("/articles/1", since)
    assert (prefetch.query, prefetch.purpose) == ("", "prefetch")
    assert prefetch.no_vary_search == 'params=("utm_source")'
    # The rule told Chromium to expect the very header the article sends.
    (ruleset,) = _firehose_rule_sets(browser, events)
    (rule,) = json.loads(ruleset["sourceText"])["prefetch"]
    assert rule["urls"] == ["/articles/1"]
    assert rule["expects_no_vary_search"] == prefetch.no_vary_search
    _wait_prefetch_ready(browser, events, "/articles/1")

    shown = _click(tab, "#link1", "/articles/1")
    assert shown["href"] == site.origin + "/articles/1?utm_source=x"
    assert shown["deliveryType"] == "navigational-prefetch", shown
    time.sleep(0.3)
    assert [hit for hit in site.hits(since) if hit.path == "/articles/1"] == [prefetch]


def test_without_no_vary_search_the_click_asks_again(site: Site, browser: Browser, tab: Tab) -> None:
    since, events = site.mark(), browser.mark()
    tab.navigate(site.origin + "/plain")
    (prefetch,) = site.wait_for("/notes/1", since)
    assert (prefetch.query, prefetch.purpose, prefetch.no_vary_search) == ("", "prefetch", None)
    (ruleset,) = _firehose_rule_sets(browser, events)
    (rule,) = json.loads(ruleset["sourceText"])["prefetch"]
    assert rule["urls"] == ["/notes/1"] and "expects_no_vary_search" not in rule
    _wait_prefetch_ready(browser, events, "/notes/1")

    shown = _click(tab, "#link1", "/notes/1")
    assert shown["deliveryType"] == "", shown
    second = site.wait_for("/notes/1", since, count=2)
    assert [(hit.query, hit.purpose) for hit in second] == [("", "prefetch"), ("utm_source=x", None)]


# -- 2. tags ------------------------------------------------------------------------------------


def test_speculations_carry_the_rule_set_tag_and_the_rule_tag(site: Site, browser: Browser, tab: Tab) -> None:
    since, seen = site.mark(), len(site.records())
    tab.navigate(site.origin + "/tags")
    plain = site.wait_for("/tagged/plain", since)
    articles = site.wait_for("/tagged/articles", since)
    foreign = site.wait_for("/tagged/foreign", since)
    assert [(hit.purpose, hit.tags) for hit in plain] == [("prefetch", f'"{TAG}"')]
    assert sf_list(plain[0].tags or "") == [TAG]
    assert [hit.purpose for hit in articles] == ["prefetch"]
    tags = sf_list(articles[0].tags or "")
    assert sorted(tags, key=str) == sorted(["articles", TAG]) and len(tags) == 2
    # The page's own untagged rule set: Chromium says so with the token null.
    assert [(hit.purpose, hit.tags) for hit in foreign] == [("prefetch", "null")]

    # What the views saw: is_speculative(own=True) only for this app's rules,
    # is_speculative(tag="articles") only for the tagged rule.
    deadline = time.monotonic() + 5
    while len(site.records()) < seen + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    views = {record.pop("name"): record for record in site.records()[seen:]}
    assert views == {
        "plain": {"speculative": True, "own": True, "articles": False},
        "articles": {"speculative": True, "own": True, "articles": True},
        "foreign": {"speculative": True, "own": False, "articles": False},
    }
    # The same view, asked for by the user (another URL: no prefetch serves it).
    tab.navigate(site.origin + "/tagged/articles?by=user")
    deadline = time.monotonic() + 5
    while len(site.records()) < seen + 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.records()[seen + 3 :] == [{"name": "articles", "speculative": False, "own": False, "articles": False}]


# -- 3. prerender_until_script ---------------------------------------------------------------


def test_prerender_until_script_loads_the_page_but_runs_no_script_before_the_click(
    site: Site, until_script_browser: Browser
) -> None:
    browser = until_script_browser
    with _tab(browser) as tab:
        since, events = site.mark(), browser.mark()
        tab.navigate(site.origin + "/until-script")
        (ruleset,) = _firehose_rule_sets(browser, events)
        assert set(json.loads(ruleset["sourceText"])) == {"tag", "prerender_until_script", "prefetch"}
        browser.wait_event(
            "Preload.prerenderStatusUpdated",
            since=events,
            predicate=lambda p: p["key"]["action"] == "PrerenderUntilScript" and p["status"] == "Ready",
            timeout=10,
        )
        # The page's stylesheet and image came, as parts of a prerender...
        for path in ("/assets/scripted.css", "/assets/scripted.svg"):
            assert [hit.purpose for hit in site.wait_for(path, since)] == ["prefetch;prerender"], path
        time.sleep(1.0)  # ...but no script ran, in all that time.
        assert not site.wait_for("/ping", since, timeout=0)
        # One request for the page itself. Firehose writes a prefetch twin of the
        # rule (for browsers without the feature); Chromium 156 starts it first
        # and the prerender uses its response, so the purpose seen is "prefetch".
        (document,) = site.wait_for("/scripted", since)
        assert document.purpose in ("prefetch", "prefetch;prerender")
        assert sf_list(document.tags or "") == [TAG]

        clicked = site.mark()
        shown = _click(tab, "#link1", "/scripted")
        assert shown["activationStart"] > 0, shown
        assert shown["deliveryType"] == "navigational-prefetch", shown
        (ping,) = site.wait_for("/ping", clicked)
        # The script ran once the page was shown, not before.
        assert (ping.query, ping.purpose) == ("prerendering=false", None)
        assert len(site.wait_for("/scripted", since, timeout=0)) == 1


def test_without_the_feature_the_page_is_only_prefetched(site: Site, browser: Browser, tab: Tab) -> None:
    since, events = site.mark(), browser.mark()
    tab.navigate(site.origin + "/until-script")
    _firehose_rule_sets(browser, events)
    (document,) = site.wait_for("/scripted", since)
    assert document.purpose == "prefetch"
    _wait_prefetch_ready(browser, events, "/scripted")
    time.sleep(0.5)
    assert [hit.path for hit in site.hits(since) if hit.purpose == "prefetch;prerender"] == []
    assert not [hit for hit in site.hits(since) if hit.path.startswith(("/assets/", "/ping"))]

    shown = _click(tab, "#link1", "/scripted")
    assert shown["deliveryType"] == "navigational-prefetch", shown
    assert shown["activationStart"] == 0, shown
    assert site.wait_for("/ping", since)
    assert len(site.wait_for("/scripted", since, timeout=0)) == 1


# -- 4. signed-in visitors --------------------------------------------------------------------------


def _speculated_next(site: Site, browser: Browser, tab: Tab, entry: str) -> tuple[list[Hit], list[dict[str, Any]]]:
    """Open *entry* (which ends on /home) and return the requests for /next and
    the rule sets Chromium read from Firehose, after a second and a half."""
    since, events = site.mark(), browser.mark()
    tab.navigate(site.origin + entry)
    site.wait_for("/next", since, timeout=3)
    time.sleep(1.5)
    homes = [hit for hit in site.hits(since) if hit.path == "/home"]
    assert len(homes) == 1, homes
    rulesets = [ruleset for ruleset in _rule_sets(browser, events) if "/_firehose/" in ruleset.get("url", "")]
    assert bool(rulesets) == (homes[0].speculation_rules is not None), (homes, rulesets)
    for ruleset in rulesets:
        assert "errorType" not in ruleset, ruleset
    return [hit for hit in site.hits(since) if hit.path == "/next"], rulesets


def test_a_signed_in_visitor_gets_a_prefetch_where_an_anonymous_one_gets_a_prerender(
    site: Site, browser: Browser
) -> None:
    with _tab(browser) as anonymous:
        hits, rulesets = _speculated_next(site, browser, anonymous, "/home")
    assert [hit.purpose for hit in hits] == ["prefetch;prerender"]
    assert set(json.loads(rulesets[0]["sourceText"])) == {"tag", "prerender"}

    with _tab(browser) as signed_in:
        hits, rulesets = _speculated_next(site, browser, signed_in, "/login")
    assert [hit.purpose for hit in hits] == ["prefetch"]
    assert set(json.loads(rulesets[0]["sourceText"])) == {"tag", "prefetch"}


def test_with_signed_in_off_a_signed_in_visitor_gets_no_rules(site_off: Site, browser: Browser) -> None:
    with _tab(browser) as anonymous:
        hits, _ = _speculated_next(site_off, browser, anonymous, "/home")
    assert [hit.purpose for hit in hits] == ["prefetch;prerender"]

    with _tab(browser) as signed_in:
        since = site_off.mark()
        hits, rulesets = _speculated_next(site_off, browser, signed_in, "/login")
    (home,) = [hit for hit in site_off.hits(since) if hit.path == "/home"]
    assert home.speculation_rules is None
    assert hits == [] and rulesets == []
    assert not [hit for hit in site_off.hits(since) if hit.purpose is not None]


# -- 5. Chromium accepts what Firehose writes ------------------------------------------------------


def test_chromium_accepts_every_rule_set_firehose_writes(site: Site, browser: Browser, tab: Tab) -> None:
    pages = ("/nvs", "/plain", "/tags", "/until-script", "/home", "/accepted")
    since = site.mark()
    rulesets = []
    for page in pages:
        # Each page's rules resource is read before the next page replaces it.
        events = browser.mark()
        tab.navigate(site.origin + page)
        rulesets.extend(_firehose_rule_sets(browser, events))
    assert len({ruleset["url"] for ruleset in rulesets}) == len(pages)

    (accepted,) = [ruleset for ruleset in rulesets if '"target_hint"' in ruleset["sourceText"]]
    rules = json.loads(accepted["sourceText"])
    (blank,) = rules["prerender"]
    assert (blank["target_hint"], blank["tag"]) == ("_blank", "new-tab")
    assert [rule.get("tag") for rule in rules["prefetch"] if rule["source"] == "document"] == ["docs"]
    # And acted on them: the rule-tagged prerender for a new tab, the tagged document rule.
    (prerendered,) = site.wait_for("/blank-target", since)
    assert prerendered.purpose == "prefetch;prerender"
    assert set(sf_list(prerendered.tags or "")) == {"new-tab", TAG}
    (document,) = site.wait_for("/docs/intro", since)
    assert set(sf_list(document.tags or "")) == {"docs", TAG}


def test_the_check_sees_a_refused_rule(site: Site, browser: Browser, tab: Tab) -> None:
    events = browser.mark()
    tab.navigate(site.origin + "/refused")
    deadline = time.monotonic() + 5
    while not _rule_sets(browser, events) and time.monotonic() < deadline:
        time.sleep(0.05)
    (ruleset,) = _rule_sets(browser, events)
    assert ruleset.get("errorType") == "InvalidRulesSkipped", ruleset
