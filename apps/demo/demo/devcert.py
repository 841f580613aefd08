"""A local certificate authority and a server certificate for the demo.

Browsers only speak HTTP/2 (and so only act on 103 Early Hints) over TLS. The
files are made once with ``trustme`` and reused: ``ca.pem`` (trust it in curl
with ``--cacert``), ``chain.pem`` and ``key.pem`` (give them to the server).

Run ``python -m demo.devcert DIR`` to make them in DIR.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["DevCert", "ensure_cert"]


@dataclass(frozen=True)
class DevCert:
    """Paths of the CA certificate, the server chain and its key."""

    ca: Path
    chain: Path
    key: Path


def ensure_cert(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")) -> DevCert:
    """Make the files in *folder* unless they are already there."""
    cert = DevCert(folder / "ca.pem", folder / "chain.pem", folder / "key.pem")
    if all(path.exists() for path in (cert.ca, cert.chain, cert.key)):
        return cert
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Flask-Firehose demo")
    issued = ca.issue_cert(*hosts)
    ca.cert_pem.write_to_path(str(cert.ca))
    issued.private_key_pem.write_to_path(str(cert.key))
    issued.cert_chain_pems[0].write_to_path(str(cert.chain))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(cert.chain), append=True)
    return cert


if __name__ == "__main__":
    made = ensure_cert(Path(sys.argv[1] if len(sys.argv) > 1 else "certs"))
    print(f"CA {made.ca}\nchain {made.chain}\nkey {made.key}")
