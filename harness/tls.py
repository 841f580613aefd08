"""Test certificates: a trustme CA and a server certificate for 127.0.0.1 and
localhost, and the key hash Chromium is told to trust.

Chromium trusts the test certificate by its key
(``--ignore-certificate-errors-spki-list``), not through
``--ignore-certificate-errors``, under which it does not reuse hinted files.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["Tls", "make_tls", "spki_sha256"]


@dataclass(frozen=True)
class Tls:
    """A test CA and a server certificate for 127.0.0.1 and localhost."""

    ca_file: str
    cert_file: str
    key_file: str
    spki_sha256: str


def spki_sha256(chain: Path) -> str:
    """The base64 SHA-256 of the public key of the first certificate in the PEM
    file *chain*, as ``--ignore-certificate-errors-spki-list`` wants it."""
    leaf = x509.load_pem_x509_certificates(chain.read_bytes())[0]
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def make_tls(folder: Path) -> Tls:
    """A new CA and a certificate for 127.0.0.1 and localhost, written to
    ``ca.pem``, ``chain.pem`` and ``key.pem`` in *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "chain.pem"))
    return Tls(
        str(folder / "ca.pem"), str(folder / "chain.pem"), str(folder / "key.pem"), spki_sha256(folder / "chain.pem")
    )
