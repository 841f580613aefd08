"""README.rst's "Trusting the demo's certificate", run as written against the
demo behind Caddy (``python -m demo.serve``, its own certificate folder):

* the SPKI command prints the key hash the demo's certificate has, and
  Chromium started with the README's flags loads ``/report`` with no
  certificate error, over HTTP/2, taking its stylesheet from the 103;
* the NSS lines make Chromium trust the demo's CA, whichever of its two
  database folders exist beforehand (none, either, both: ``~/.pki/nssdb`` wins
  where it exists); a browser without the CA refuses the page: the control;
* with ``--ignore-certificate-errors`` Chromium fetches the hinted files but
  uses none of them: each is downloaded twice (the README's warning).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.devcert import spki_sha256
from demo.serve import find_caddy
from harness.chromium import CHROMIUM_FLAGS
from harness.processes import REPO, MissingComponent, find_binary
from harness.relay import Relay

pytestmark = pytest.mark.integration

SECTION = "Trusting the demo's certificate"
README_CERTS = "var/demo/certs/"
EARLY = "performance.getEntriesByType('resource').filter(e => e.initiatorType === 'early-hints')" + (
    ".map(e => new URL(e.name).pathname)"
)


def _section() -> str:
    text = (REPO / "README.rst").read_text()
    start = text.index(f"\n{SECTION}\n{'-' * len(SECTION)}\n")
    end = text.find("\n\n\n", start + 1)
    return text[start:end]


def _code_blocks(section: str) -> list[str]:
    """The bodies of the section's ``code-block:: bash`` directives, dedented,
    backslash continuations joined."""
    blocks = re.findall(r"\.\. code-block:: bash\n\n((?:      .*\n|\n)+)", section + "\n")
    return [re.sub(r"\\\n\s*", "", "\n".join(line[6:] for line in block.splitlines()).strip()) for block in blocks]


@dataclass(frozen=True)
class Demo:
    port: int
    data: Path

    @property
    def certs(self) -> Path:
        return self.data / "certs"

    def served_twice(self, since: int) -> list[str]:
        lines = (self.data / "caddy" / "access.log").read_text().splitlines()[since:]
        served = [json.loads(line)["request"]["uri"] for line in lines if json.loads(line)["status"] == 200]
        return sorted(uri for uri, count in Counter(u for u in served if u.startswith("/static/")).items() if count > 1)

    def log_length(self) -> int:
        path = self.data / "caddy" / "access.log"
        return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if find_caddy()[0] is None:
        raise MissingComponent(f"the demo's front is missing: {find_caddy()[1]}")
    data = tmp_path_factory.mktemp("demo-trust")
    log = data / "serve.log"
    env = {**os.environ, "FLASK_DEMO_SLOW_SECONDS": "0.5"}
    env.pop("PORT", None)
    command = [sys.executable, "-m", "demo.serve", "--data", str(data), "--no-redis"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Flask-Firehose demo: https://127\.0\.0\.1:(\d+)/", log.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Demo(int(found[1]), data)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _readme_command(starting: str, demo: Demo) -> str:
    (command,) = [
        line for block in _code_blocks(_section()) for line in block.splitlines() if line.startswith(starting)
    ]
    return command.replace(README_CERTS, f"{demo.certs}/").replace("8443", str(demo.port))


def test_the_readme_says_where_the_ca_is_and_warns_about_ignoring_errors() -> None:
    section = " ".join(_section().split())
    assert "``var/demo/certs/ca.pem``" in section
    assert "Not ``--ignore-certificate-errors``" in section and "no early hints" in section


def test_the_spki_command_gives_the_certificates_key_hash(demo: Demo) -> None:
    command = _readme_command("spki=", demo)
    shown = subprocess.run(["bash", "-c", f'{command}\necho "$spki"'], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == spki_sha256(demo.certs / "chain.pem")


def _chromium_dump(arguments: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Headless Chromium as the README starts it, printing the page's DOM."""
    headless = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--dump-dom"]
    return subprocess.run(
        [arguments[0], *headless, *arguments[1:]], capture_output=True, text=True, timeout=60, env=env
    )


def test_chromium_started_as_the_readme_says_loads_the_page(demo: Demo) -> None:
    spki = spki_sha256(demo.certs / "chain.pem")
    command = _readme_command("chromium ", demo).replace("$(mktemp -d)", str(demo.data / "chromium-profile"))
    arguments = [arg.replace("$spki", spki) for arg in shlex.split(command)]
    arguments[0] = find_binary("chromium", "chromium")
    result = _chromium_dump(arguments)
    assert "<title>" in result.stdout and "Flask-Firehose" in result.stdout, result.stderr[-2000:]


def _launch(playwright: Any, flags: list[str], home: Path | None = None) -> Any:
    env = {**os.environ, "HOME": str(home)} if home is not None else None
    executable = find_binary("chromium", "chromium")
    return playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_FLAGS, *flags], env=env)


def _visit(browser: Any, url: str) -> tuple[int, str, list[str]]:
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None
        protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        return response.status, protocol, page.evaluate(EARLY)
    finally:
        context.close()


def test_the_key_hash_lets_chromium_use_the_103(demo: Demo, playwright: Any) -> None:
    flags = [f"--ignore-certificate-errors-spki-list={spki_sha256(demo.certs / 'chain.pem')}"]
    # Through the latency relay: Chromium drops a 103 now and then at RTT ~ 0.
    with Relay(("127.0.0.1", demo.port), 0.1, max_lifetime=120) as relay:
        browser = _launch(playwright, flags)
        try:
            # Chromium may skip a 103 now and then (CONTRIBUTING.rst): three tries.
            visits = [_visit(browser, f"https://127.0.0.1:{relay.port}/report") for _ in range(3)]
        finally:
            browser.close()
    assert all(status == 200 and protocol == "h2" for status, protocol, _ in visits), visits
    assert any("/static/css/report.css" in early for _, _, early in visits), visits


PKI = ".pki/nssdb"  # what Chromium reads where it exists
LOCAL = ".local/share/pki/nssdb"  # else this, which Chromium 156 makes at its first start


def _readme_nss_lines(demo: Demo) -> str:
    (block,) = [block for block in _code_blocks(_section()) if "certutil -d" in block]
    return block.replace(README_CERTS, f"{demo.certs}/")


@pytest.mark.parametrize(
    ("existing", "chosen"),
    [((), LOCAL), ((PKI,), PKI), ((LOCAL,), LOCAL), ((PKI, LOCAL), PKI)],
    ids=["neither", "pki", "local", "both"],
)
def test_the_nss_commands_make_chromium_trust_the_ca(
    demo: Demo, tmp_path: Path, existing: tuple[str, ...], chosen: str, playwright: Any
) -> None:
    """The README's lines, run as written with HOME a fresh folder holding the
    NSS databases *existing* (empty ones), put the CA where Chromium reads it."""
    from playwright.sync_api import Error

    certutil = find_binary("certutil", "libnss3-tools")
    home = tmp_path / "home"
    for folder in existing:
        (home / folder).mkdir(parents=True)
        subprocess.run([certutil, "-N", "-d", f"sql:{home / folder}", "--empty-password"], check=True)
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    subprocess.run(["bash", "-ec", _readme_nss_lines(demo)], check=True, capture_output=True, env=env, cwd=REPO)
    listed = subprocess.run([certutil, "-L", "-d", f"sql:{home / chosen}"], capture_output=True, text=True)
    assert "Flask-Firehose demo" in listed.stdout, listed
    url = f"https://127.0.0.1:{demo.port}/"
    trusting = _launch(playwright, [], home=home)
    try:
        status, protocol, _ = _visit(trusting, url)
    finally:
        trusting.close()
    assert (status, protocol) == (200, "h2")
    (tmp_path / "bare").mkdir()
    bare = _launch(playwright, [], home=tmp_path / "bare")
    try:
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            _visit(bare, url)
    finally:
        bare.close()


def test_ignoring_certificate_errors_uses_no_hinted_file(demo: Demo, playwright: Any) -> None:
    """Chromium fetches what the 103 names but uses none of it: no file is
    taken from the 103, in any visit, and (in a visit where Chromium acted on
    the 103 at all: up to three) the hinted stylesheet is served twice."""
    doubled = False
    with Relay(("127.0.0.1", demo.port), 0.1, max_lifetime=120) as relay:
        browser = _launch(playwright, ["--ignore-certificate-errors"])
        try:
            for _ in range(3):
                before = demo.log_length()
                status, protocol, early = _visit(browser, f"https://127.0.0.1:{relay.port}/report")
                time.sleep(0.5)  # the access log's last lines
                assert (status, protocol, early) == (200, "h2", [])
                if any(uri.startswith("/static/css/report.css") for uri in demo.served_twice(before)):
                    doubled = True
                    break
        finally:
            browser.close()
    assert doubled
