"""The compose stack (infra/docker-compose.yml) as the tests container reaches
it: each service by its name, the certificate the certs service made.

Where each service listens can be changed with FIREHOSE_STACK_NGINX,
FIREHOSE_STACK_FRONT, FIREHOSE_STACK_GUNICORN (host:port), FIREHOSE_STACK_REDIS
(a redis:// URL), FIREHOSE_STACK_CERTS (the folder the certs service wrote) and
FIREHOSE_STACK_FRONT_LOG (Caddy's access log).
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .h2client import Exchange, fetch
from .tls import spki_sha256

__all__ = ["ComposeStack", "Service", "reach_compose_stack"]


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
class ComposeStack:
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


def _wait_until_served(stack: ComposeStack, service: Service, timeout: float) -> None:
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
    raise RuntimeError(f"{service.host}:{service.port} did not serve /api/stats within {timeout:.0f} s: {problem}")


def reach_compose_stack(certs_timeout: float = 60, serve_timeout: float = 90) -> ComposeStack:
    """The running stack, once its certificate exists and every TLS service
    answers.

    :raises RuntimeError: naming what did not come up in time.
    """
    certs = Path(os.environ.get("FIREHOSE_STACK_CERTS", "/certs"))
    deadline = time.monotonic() + certs_timeout
    while not (certs / "chain.pem").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not (certs / "chain.pem").exists():
        raise RuntimeError(f"no {certs}/chain.pem: the certs service of the stack did not run")
    stack = ComposeStack(
        nginx=Service.from_env("FIREHOSE_STACK_NGINX", "nginx:443"),
        front=Service.from_env("FIREHOSE_STACK_FRONT", "front:443"),
        gunicorn=Service.from_env("FIREHOSE_STACK_GUNICORN", "app-h2:8445"),
        redis_url=os.environ.get("FIREHOSE_STACK_REDIS", "redis://redis:6379/0"),
        ca_file=str(certs / "ca.pem"),
        spki_sha256=spki_sha256(certs / "chain.pem"),
        front_log=Path(os.environ.get("FIREHOSE_STACK_FRONT_LOG", "/front-run/access.log")),
    )
    for service in (stack.nginx, stack.front, stack.gunicorn):
        _wait_until_served(stack, service, serve_timeout)
    return stack
