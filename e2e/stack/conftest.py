"""The compose stack (infra/docker-compose.yml), reached from the tests container
by service name: ``make dockertest`` runs this folder there with FIREHOSE_STACK=1.

Without FIREHOSE_STACK nothing here is collected, so the native suite (``make
test``) passes over it. Where each service listens can be changed with
FIREHOSE_STACK_NGINX, FIREHOSE_STACK_FRONT, FIREHOSE_STACK_GUNICORN (host:port),
FIREHOSE_STACK_REDIS (a redis:// URL), FIREHOSE_STACK_CERTS (the folder the
certs service wrote) and FIREHOSE_STACK_FRONT_LOG (Caddy's access log).
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..conftest import launch_chromium
from ..h2client import Exchange, fetch
from ..servers import require_binary

collect_ignore_glob = [] if os.environ.get("FIREHOSE_STACK") else ["test_*.py"]


@dataclass(frozen=True)
class Service:
    """One TLS + HTTP/2 endpoint of the stack."""

    host: str
    port: int

    @classmethod
    def from_env(cls, name: str, default: str) -> Service:
        host, _, port = os.environ.get(name, default).rpartition(":")
        return cls(host, int(port))


@dataclass(frozen=True)
class Stack:
    """The services of infra/docker-compose.yml and the stack's test CA."""

    nginx: Service
    front: Service
    gunicorn: Service
    redis_url: str
    ca_file: str
    spki_sha256: str
    front_log: Path

    def fetch(self, service: Service, path: str, **kwargs: Any) -> Exchange:
        return fetch(service.port, path, host=service.host, ca_file=self.ca_file, **kwargs)


def _spki_sha256(chain: Path) -> str:
    leaf = x509.load_pem_x509_certificates(chain.read_bytes())[0]
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _wait_until_served(stack: Stack, service: Service, timeout: float = 90) -> None:
    """Containers start in any order: wait until *service* answers a page."""
    deadline = time.monotonic() + timeout
    problem = ""
    while time.monotonic() < deadline:
        try:
            if stack.fetch(service, "/api/stats", timeout=5).status == 200:
                return
            problem = "no 200"
        except (OSError, ssl.SSLError, ConnectionError) as error:
            problem = repr(error)
        time.sleep(0.5)
    pytest.fail(f"{service.host}:{service.port} did not serve /api/stats within {timeout:.0f} s: {problem}")


@pytest.fixture(scope="session")
def stack() -> Stack:
    certs = Path(os.environ.get("FIREHOSE_STACK_CERTS", "/certs"))
    deadline = time.monotonic() + 60
    while not (certs / "chain.pem").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not (certs / "chain.pem").exists():
        pytest.fail(f"no {certs}/chain.pem: the certs service of the stack did not run")
    running = Stack(
        nginx=Service.from_env("FIREHOSE_STACK_NGINX", "nginx:443"),
        front=Service.from_env("FIREHOSE_STACK_FRONT", "front:443"),
        gunicorn=Service.from_env("FIREHOSE_STACK_GUNICORN", "app-h2:8445"),
        redis_url=os.environ.get("FIREHOSE_STACK_REDIS", "redis://redis:6379/0"),
        ca_file=str(certs / "ca.pem"),
        spki_sha256=_spki_sha256(certs / "chain.pem"),
        front_log=Path(os.environ.get("FIREHOSE_STACK_FRONT_LOG", "/front-run/access.log")),
    )
    for service in (running.nginx, running.front, running.gunicorn):
        _wait_until_served(running, service)
    return running


@pytest.fixture(scope="session")
def stack_chromium(stack: Stack) -> Iterator[Any]:
    """Debian's Chromium, headless, trusting the stack's certificate by its key."""
    with launch_chromium(require_binary("chromium", "chromium"), stack.spki_sha256) as browser:
        yield browser
