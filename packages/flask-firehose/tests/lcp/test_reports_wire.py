"""The report endpoint on the wire: a real server (Werkzeug's, threaded) on
127.0.0.1, raw HTTP/1.1 requests, answers read back from the socket."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from flask_firehose._links import Link

from .lcp_app import KEY, LcpApp, build, script_tags

pytestmark = pytest.mark.integration


class Served:
    def __init__(self, site: LcpApp, server: BaseWSGIServer) -> None:
        self.site = site
        self.server = server
        self.port = server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.1",
    ) -> tuple[int, dict[str, str], bytes]:
        """One exchange, from *source* (any 127/8 address: distinct clients)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def token(self) -> str:
        status, _, body = self.request("GET", "/")
        assert status == 200
        (tag,) = [tag for tag in script_tags(body.decode()) if "data-firehose-lcp" in tag]
        assert tag["src"] == "/_firehose/lcp.js"
        token = tag["data-firehose-lcp"]
        assert token
        return token

    def beacon(
        self,
        token: str,
        url: str,
        width: int = 1280,
        source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {
            "Origin": self.origin,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Dest": "empty",
            "Sec-Fetch-Mode": "cors",
            "Content-Type": "application/json",
        }
        sent.update(headers or {})
        sent = {name: value for name, value in sent.items() if value}
        body = json.dumps({"t": token, "w": width, "u": url, "v": True}).encode()
        status, _, answer = self.request("POST", "/_firehose/lcp", body, sent, source)
        return status, answer


@pytest.fixture
def served() -> Iterator[Served]:
    site = build(report_interval=0.0)
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(site, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_script_over_the_wire(served: Served) -> None:
    status, headers, body = served.request("GET", "/_firehose/lcp.js")
    assert status == 200
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body) > 0


def test_page_length_matches_the_injected_body(served: Served) -> None:
    status, headers, body = served.request("GET", "/")
    assert status == 200
    assert int(headers["content-length"]) == len(body)
    assert b"data-firehose-lcp" in body


def test_honest_reports_agree_and_hostile_ones_do_not_count(served: Served) -> None:
    hero = f"{served.origin}/static/hero.jpg"
    assert served.beacon(served.token(), hero, headers={"Origin": "http://evil.example"})[0] == 403
    assert served.beacon(served.token(), hero, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert served.beacon(served.token(), hero, headers={"Sec-Fetch-Dest": ""})[0] == 403
    assert served.beacon(served.token(), "http://evil.example/static/hero.jpg")[0] == 403
    assert served.beacon(served.token(), f"{served.origin}/static/unused.jpg")[0] == 403
    assert served.beacon("forged.token.value", hero)[0] == 403
    status, _, _ = served.request("GET", "/_firehose/lcp")
    assert status == 405
    assert served.site.store.samples(KEY) == {}
    replayed = served.token()
    assert served.beacon(replayed, hero) == (204, b"")
    assert served.beacon(replayed, hero) == (409, b"token already used\n")


def test_oversized_and_chunked_bodies(served: Served) -> None:
    headers = {
        "Origin": served.origin,
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Dest": "empty",
        "Content-Type": "application/json",
    }
    status, _, text = served.request("POST", "/_firehose/lcp", b"{" + b" " * 9000 + b"}", headers)
    assert (status, text) == (413, b"body over 8192 bytes\n")
    # chunked, no Content-Length: read at most 8 kB + 1
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(
            f"POST /_firehose/lcp HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n{head}"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        chunk = b"x" * 10000
        sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.split(b"\r\n", 1)[0].split()[1] in (b"400", b"413")


def test_one_address_floods_the_wire(served: Served) -> None:
    """From one address, with the default interval, a thousand reports get one accepted."""
    site = build()
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        flood = Served(site, server)
        tokens = [flood.token() for _ in range(20)]
        answers: dict[int, int] = {}
        for n in range(1000):
            status, _ = flood.beacon(tokens[n % 20], f"{flood.origin}/static/hero.jpg", width=300 + n)
            answers[status] = answers.get(status, 0) + 1
        assert answers == {204: 1, 429: 999}
        keys, ids, most = site.store.sizes()
        assert (keys, ids, most) == (1, 1, 1)
        assert site.learning.hints(KEY) == ()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_three_honest_clients_per_class_over_the_wire(served: Served) -> None:
    """Twelve clients (12 loopback addresses) agree on the hero; then 500
    flooders from 500 more addresses name an image the page does not use,
    a page image that is not the LCP, and a cross-origin copy: none counts."""
    hero = f"{served.origin}/static/hero.jpg"
    stock = [served.token() for _ in range(50)]
    n = 1
    for width in (375, 550, 700, 1280):
        for _ in range(3):
            assert served.beacon(served.token(), hero, width=width, source=f"127.0.1.{n}") == (204, b"")
            n += 1
    expected = Link("/static/hero.jpg", rel="preload", as_="image", params=(("fetchpriority", "high"),))
    assert served.site.learning.hints(KEY) == (expected,)
    answers: set[int] = set()
    for n in range(500):
        url = (
            f"{served.origin}/evil.jpg",
            f"{served.origin}/static/footer.webp",
            "http://evil.example/static/hero.jpg",
        )[n % 3]
        status, _ = served.beacon(
            stock[n % 50], url, width=(375, 550, 700, 1280)[n % 4], source=f"127.0.{2 + n // 250}.{n % 250 + 1}"
        )
        answers.add(status)
    assert answers <= {403, 409, 429}
    assert served.site.learning.hints(KEY) == (expected,)
    assert served.site.learning.final_links(KEY) == (expected,)
    keys, ids, most = served.site.store.sizes()
    assert (keys, most) == (1, 3) and ids == 12
