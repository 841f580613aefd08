"""A local certificate authority and a server certificate for the demo.

Browsers only speak HTTP/2 (and so only act on 103 Early Hints) over TLS. The
files are made once with ``trustme`` and reused while the certificate still
holds every name the demo answers on (:data:`NAMES`) for at least a day:
``ca.pem`` (trust it in curl with ``--cacert``, or in a browser: the README's
section "Trusting the demo's certificate"), ``chain.pem`` and ``key.pem``
(give them to the server). Files that cannot be read, a key that is not the
certificate's, or a certificate that lacks a name, are made again.

Run ``python -m demo.devcert DIR`` to make them in DIR; it also prints the
key's hash that Chromium's ``--ignore-certificate-errors-spki-list`` takes.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

__all__ = ["NAMES", "DevCert", "ensure_cert", "names_of", "spki_sha256"]

#: Every name the demo answers on, and so every name its certificate holds.
NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class DevCert:
    """Paths of the CA certificate, the server chain and its key."""

    ca: Path
    chain: Path
    key: Path


def _leaf(chain: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(chain.read_bytes())[0]


def names_of(chain: Path) -> set[str]:
    """The DNS names and IP addresses (as :mod:`ipaddress` writes them) the
    first certificate in the PEM file *chain* holds."""
    try:
        names = _leaf(chain).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = set(names.get_values_for_type(x509.DNSName))
    return found | {str(address) for address in names.get_values_for_type(x509.IPAddress)}


def spki_sha256(chain: Path) -> str:
    """The base64 SHA-256 of the server certificate's public key, which
    Chromium's ``--ignore-certificate-errors-spki-list`` takes."""
    spki = _leaf(chain).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _usable(cert: DevCert, hosts: tuple[str, ...]) -> bool:
    """Whether the files are there, read as a CA, a certificate and its own
    key, hold every name in *hosts* and stay valid for at least another day."""
    if not all(path.exists() for path in (cert.ca, cert.chain, cert.key)):
        return False
    try:
        x509.load_pem_x509_certificates(cert.ca.read_bytes())
        leaf = _leaf(cert.chain)
        key = load_pem_private_key(cert.key.read_bytes(), password=None)
        held = names_of(cert.chain)
    except (ValueError, TypeError):
        return False
    own = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != own:
        return False
    not_after = leaf.not_valid_after_utc
    wanted = {str(ipaddress.ip_address(host)) if _is_address(host) else host for host in hosts}
    return wanted <= held and not_after - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=1)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def ensure_cert(folder: Path, hosts: tuple[str, ...] = NAMES) -> DevCert:
    """The files in *folder*, made unless usable ones for *hosts* are there.

    :raises OSError: when *folder* or a file in it cannot be written.
    """
    cert = DevCert(folder / "ca.pem", folder / "chain.pem", folder / "key.pem")
    if _usable(cert, hosts):
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
    print(f"CA {made.ca}\nchain {made.chain}\nkey {made.key}\nspki-sha256 {spki_sha256(made.chain)}")
