"""Headless Firefox (Debian's ``firefox-esr``) driven over Marionette, without geckodriver.

Debian ships no geckodriver, so Firefox is started here as a plain process and
driven with pip's ``marionette-driver`` (the client Mozilla's own tests use)::

    firefox-esr --headless --marionette -remote-allow-system-access --no-remote --profile P

Each navigation gets a fresh copy of a template profile: an empty HTTP cache, no
cookies, nothing learned from the last page. The template trusts the test CA
(imported with NSS ``certutil -A -t "C,,"``, Debian ``libnss3-tools``): Firefox,
like Chromium, does not reuse hinted files fetched over a certificate error, and
it refuses a self-signed CA:TRUE leaf as a server certificate, so trust a CA and
serve a leaf it signed (trustme's ``CA`` and ``issue_cert``). Marionette listens on
a port Firefox picks itself (``marionette.port`` 0) and writes to the profile's
``MarionetteActivePort``. Firefox and all its content processes run in their own
process group, which is always stopped (SIGTERM, then SIGKILL) when the
navigation ends, whatever happened. About 3.5 s a navigation here.

Firefox ESR 153 acts on a 103 with its default prefs (``network.early-hints.*``):
a resource fetched because of the 103 reports ``initiatorType === 'early-hints'``.
Its ``startTime`` is when the page adopted the preload, not when it was requested;
``requestStart`` is when the request went out. Usage::

    firefox = Firefox.prepare(executable, certutil, ca_file, workdir)
    page = firefox.navigate("https://127.0.0.1:PORT/articles/budgets")
    page.resources["/static/css/main.css"].initiator_type  # 'early-hints'
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

__all__ = ["Firefox", "FirefoxError", "Loaded", "Resource", "marionette_available"]

#: Quiet, deterministic profile: no first-run pages, update checks, telemetry or
#: background fetches competing with the page; Marionette on a free port.
#: Early hints stay at Firefox's defaults (on), which is what a user has.
PREFS: Mapping[str, bool | int | str] = {
    "marionette.port": 0,
    "app.normandy.enabled": False,
    "app.update.disabledForTesting": True,
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.tabs.warnOnClose": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "services.settings.server": "data:,#remote-settings-disabled",
    "toolkit.telemetry.reportingpolicy.firstRun": False,
}

#: Waits (at most 3 s) for the first contentful paint, then reads Navigation,
#: Paint and Resource Timing. Times in ms from the navigation's start.
_READ_TIMINGS = """
const resolve = arguments[arguments.length - 1];
let fcp = null;
const finish = () => {
  const nav = performance.getEntriesByType('navigation')[0];
  resolve({
    url: location.href,
    protocol: nav ? nav.nextHopProtocol : '',
    status: nav && typeof nav.responseStatus === 'number' ? nav.responseStatus : null,
    ttfb: nav ? nav.responseStart : null,
    load: nav ? nav.loadEventStart : null,
    fcp: fcp,
    resources: performance.getEntriesByType('resource').map((e) => ({
      url: e.name,
      initiatorType: e.initiatorType,
      startTime: e.startTime,
      requestStart: e.requestStart,
      responseEnd: e.responseEnd,
      transferSize: e.transferSize,
    })),
  });
};
const found = performance.getEntriesByName('first-contentful-paint')[0];
if (found) {
  fcp = found.startTime;
  finish();
} else {
  const timer = setTimeout(finish, 3000);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') fcp = e.startTime;
    if (fcp !== null) { clearTimeout(timer); finish(); }
  }).observe({type: 'paint', buffered: true});
}
"""


class FirefoxError(RuntimeError):
    """Firefox did not start, or Marionette failed; the message quotes Firefox's log."""


class _Marionette(Protocol):
    """The part of ``marionette_driver.marionette.Marionette`` used here (it ships no types)."""

    def start_session(self, capabilities: Mapping[str, object] | None = None, timeout: float | None = None) -> Any: ...

    def navigate(self, url: str) -> None: ...

    def execute_async_script(
        self,
        script: str,
        script_args: Sequence[object] = (),
        new_sandbox: bool = True,
        script_timeout: int | None = None,
    ) -> Any: ...

    def delete_session(self, send_request: bool = True) -> None: ...


def marionette_available() -> bool:
    """Whether pip's ``marionette-driver`` is installed."""
    try:
        return importlib.util.find_spec("marionette_driver") is not None
    except (ImportError, ValueError):
        return False


def _connect(port: int, timeout: float) -> _Marionette:
    with warnings.catch_warnings():  # mozinfo, imported with it, calls the deprecated distro.linux_distribution()
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module("marionette_driver.marionette")
    return cast(_Marionette, module.Marionette(host="127.0.0.1", port=port, startup_timeout=int(timeout)))


@dataclass(frozen=True)
class Resource:
    """One Resource Timing entry (times in ms from the navigation's start)."""

    url: str
    initiator_type: str
    start_time: float  # for an early-hints preload: when the page adopted it
    request_start: float  # when the request went out
    response_end: float
    transfer_size: int

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass(frozen=True)
class Loaded:
    """What one navigation showed, read once the load event fired."""

    url: str
    protocol: str  # Navigation Timing nextHopProtocol: 'h2' over HTTP/2
    status: int | None  # Navigation Timing responseStatus (None if Firefox does not report it)
    ttfb: float | None
    fcp: float | None  # first-contentful-paint, None if none came within 3 s of load
    load: float | None
    seconds: float  # wall time of the whole navigation: start, load, read, stop
    entries: tuple[Resource, ...]

    @property
    def resources(self) -> dict[str, Resource]:
        """The first entry for each URL path (query strings dropped)."""
        found: dict[str, Resource] = {}
        for entry in self.entries:
            found.setdefault(entry.path, entry)
        return found


@dataclass(frozen=True)
class Firefox:
    """A Firefox executable and a template profile that trusts the test CA."""

    executable: str
    template: Path
    workdir: Path
    startup_timeout: float = 30
    page_timeout: float = 30
    _runs: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False, compare=False)

    @classmethod
    def prepare(
        cls,
        executable: str,
        certutil: str,
        ca_file: str | os.PathLike[str],
        workdir: Path,
        prefs: Mapping[str, bool | int | str] | None = None,
    ) -> Firefox:
        """Build the template profile under *workdir*: an NSS database trusting
        *ca_file* as a CA for servers, and a ``user.js`` with :data:`PREFS` (and *prefs*)."""
        template = workdir / "template-profile"
        template.mkdir(parents=True)
        for command in (
            [certutil, "-N", "-d", f"sql:{template}", "--empty-password"],
            [certutil, "-A", "-d", f"sql:{template}", "-n", "firehose-test-ca", "-t", "C,,", "-i", str(ca_file)],
        ):
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
            if done.returncode != 0:
                raise FirefoxError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")
        lines = [f"user_pref({_js(name)}, {_js(value)});" for name, value in {**PREFS, **(prefs or {})}.items()]
        (template / "user.js").write_text("\n".join(lines) + "\n")
        return cls(executable, template, workdir)

    def navigate(self, url: str) -> Loaded:
        """Start Firefox on a fresh copy of the template profile, load *url*
        (returns after the load event), read its timings, stop Firefox."""
        began = time.monotonic()
        with self.session() as client:
            client.navigate(url)
            found: dict[str, Any] = client.execute_async_script(_READ_TIMINGS, script_timeout=10_000)
        return Loaded(
            url=str(found["url"]),
            protocol=str(found["protocol"]),
            status=None if found["status"] is None else int(found["status"]),
            ttfb=_number(found["ttfb"]),
            fcp=_number(found["fcp"]),
            load=_number(found["load"]),
            seconds=time.monotonic() - began,
            entries=tuple(
                Resource(
                    url=str(e["url"]),
                    initiator_type=str(e["initiatorType"]),
                    start_time=float(e["startTime"]),
                    request_start=float(e["requestStart"]),
                    response_end=float(e["responseEnd"]),
                    transfer_size=int(e["transferSize"]),
                )
                for e in found["resources"]
            ),
        )

    @contextmanager
    def session(self) -> Iterator[_Marionette]:
        """A Marionette session in a new Firefox on a fresh profile copy; Firefox
        (its whole process group) is stopped and the copy removed when the block ends."""
        run = self.workdir / f"run-{next(self._runs)}"
        profile = run / "profile"
        shutil.copytree(self.template, profile)
        log = run / "firefox.log"
        command = [
            self.executable,
            "--headless",
            "--marionette",
            "-remote-allow-system-access",
            "--no-remote",
            "--profile",
            str(profile),
            "about:blank",
        ]
        env = {**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1", "MOZ_DISABLE_AUTO_SAFE_MODE": "1"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        client: _Marionette | None = None
        try:
            try:
                port = _active_port(profile, process, log, self.startup_timeout)
                client = _connect(port, self.startup_timeout)
                client.start_session(timeout=self.startup_timeout)
                _set_page_timeout(client, self.page_timeout)
            except FirefoxError:
                raise
            except Exception as error:
                raise FirefoxError(
                    f"Marionette: {type(error).__name__}: {error}\n--- firefox log ---\n{_tail(log)}"
                ) from error
            yield client
        finally:
            if client is not None:
                with suppress(Exception):
                    client.delete_session()
            _stop_group(process)
            shutil.rmtree(run, ignore_errors=True)


def _active_port(profile: Path, process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    """The port Marionette chose, once Firefox wrote it into the profile."""
    marker = profile / "MarionetteActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FirefoxError(f"firefox exited with {process.returncode}:\n{_tail(log)}")
        with suppress(OSError, ValueError):
            return int(marker.read_text().strip())
        time.sleep(0.05)
    raise FirefoxError(f"Marionette did not start within {timeout} s:\n{_tail(log)}")


def _set_page_timeout(client: _Marionette, seconds: float) -> None:
    timeouts = getattr(client, "timeout", None)
    if timeouts is not None:
        timeouts.page_load = seconds


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM Firefox's process group, SIGKILL whatever is left after 5 s."""
    group = process.pid  # start_new_session: the group is Firefox's own pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    # Content processes can outlive the parent for a moment: end the group.
    with suppress(ProcessLookupError):
        os.killpg(group, 0)
        os.killpg(group, signal.SIGKILL)
    process.wait()


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _number(value: object) -> float | None:
    return None if value is None else float(cast(float, value))


def _js(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
