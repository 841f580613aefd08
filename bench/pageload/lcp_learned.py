"""What the learned variant needs before it is measured: real visits to learn from,
and a check that the 103 now carries the hero image; plus the 103 each server sends.

Warm-up: per form, for each of the four viewport classes (up to 480, 481-600,
601-782 and wider CSS px: the breakpoints of WordPress's Optimization Detective)
three distinct clients, each at its own width in the class, each visiting the page
a few times in fresh Chromium contexts (the report endpoint takes about one report
per client in a while: later visits are answered 429). Distinct clients have distinct addresses: client K's
Chromium maps the page's host to 127.0.0.K, where a :class:`~bench.pageload.gate.Gate`
listens on the relay's port number (same origin, so the same learned site) and
connects to gunicorn from 127.0.0.K (``REMOTE_ADDR``). The visits skip the relay.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from .gate import Gate
from .lcp_app import HERO
from .lcp_browser import launch, visit
from .lcp_stack import HOST, Network, Server, log_lines

__all__ = ["CLASSES", "WarmUp", "hints_image", "sent_103", "warm_up"]

#: viewport class -> three widths in it (CSS px), one per client.
CLASSES: dict[int, tuple[int, int, int]] = {
    390: (360, 390, 430),
    560: (500, 560, 600),
    700: (640, 700, 768),
    1280: (1024, 1280, 1440),
}


@dataclass
class WarmUp:
    visits: int = 0
    clients: list[str] = field(default_factory=list)
    reports: dict[str, int] = field(default_factory=dict)  # status of each POST the server answered -> count


def warm_up(
    session: Any,
    executable: str,
    spki: str,
    server: Server,
    network: Network,
    forms: list[str],
    visits: int,
    first_address: int,
) -> WarmUp:
    """The warm-up visits for *server* as reached on *network*'s relay port, from
    12 clients per form, 127.0.0.<first_address>, ...; return what the server saw."""
    port = server.relays[network.name]
    before = len(log_lines(server.log))
    done = WarmUp()
    address = first_address
    for form in forms:  # each form its own clients: a client's report counts once in a while
        for widths in CLASSES.values():
            for width in widths:
                ip = f"127.0.0.{address}"
                address += 1
                done.clients.append(ip)
                height = 844 if width <= 600 else 900
                with (
                    Gate(("127.0.0.1", server.port), listen=(ip, port), source=ip),
                    launch(session, executable, spki, ip) as browser,
                ):
                    for round_ in range(visits):
                        visit(browser, f"https://{HOST}:{port}/{form}?n=warm{address}x{round_}", width, height)
                        done.visits += 1
    for method, _target, status in log_lines(server.log)[before:]:
        if method == "POST":
            done.reports[str(status)] = done.reports.get(str(status), 0) + 1
    return done


def sent_103(url: str, ca_file: str) -> list[str] | None:
    """The Link lines of the 103 that *url* (on :data:`HOST`, through the relay at
    127.0.0.1) answers to a plain HTTP/2 navigation request (curl); None without curl."""
    curl = shutil.which("curl")
    if curl is None:
        return None
    port = url.split(":")[2].split("/")[0]
    command = [curl, "-sS", "--http2", "--cacert", ca_file, "--resolve", f"{HOST}:{port}:127.0.0.1"]
    command += ["-D", "-", "-o", "/dev/null", "-H", "Sec-Fetch-Mode: navigate", "-H", "Sec-Fetch-Dest: document"]
    command += ["-H", "Sec-Fetch-Site: none", "-H", "Accept: text/html", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    links, interim = [], False
    for line in result.stdout.splitlines():
        if line.startswith("HTTP/"):
            interim = line.split()[1:2] == ["103"]
        elif interim and line.lower().startswith("link:"):
            links.append(line.split(":", 1)[1].strip())
    return links


def hints_image(links: list[str] | None) -> bool:
    """Whether a 103's Link lines preload the hero image."""
    return any(f"/static/{HERO}" in link and "as=image" in link for link in links or [])
