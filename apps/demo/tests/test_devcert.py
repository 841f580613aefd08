"""The demo's certificate (``demo.devcert``): made once, for every name the
demo answers on, and made again when what is on disk would not serve them (a
name missing, a key that is not the certificate's, a file that is not PEM)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from demo.devcert import NAMES, ensure_cert, names_of, spki_sha256


def test_it_holds_every_name_the_demo_answers_on(tmp_path: Path) -> None:
    cert = ensure_cert(tmp_path)
    assert names_of(cert.chain) == {"127.0.0.1", "localhost", "::1"} == set(NAMES)
    # The chain and the key go together, as a server loads them.
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert.chain, cert.key)


def test_usable_files_are_kept(tmp_path: Path) -> None:
    first = ensure_cert(tmp_path)
    before = {path: path.read_bytes() for path in (first.ca, first.chain, first.key)}
    again = ensure_cert(tmp_path)
    assert again == first and {path: path.read_bytes() for path in before} == before


@pytest.mark.parametrize("spoil", ["missing name", "foreign key", "not pem"])
def test_files_that_would_not_serve_are_made_again(tmp_path: Path, spoil: str) -> None:
    if spoil == "missing name":
        cert = ensure_cert(tmp_path, ("127.0.0.1",))  # an older demo's certificate
    else:
        cert = ensure_cert(tmp_path)
        other = ensure_cert(tmp_path / "other")
        cert.key.write_bytes(other.key.read_bytes() if spoil == "foreign key" else b"not a key")
    spoiled = spki_sha256(cert.chain)
    made = ensure_cert(tmp_path)
    assert names_of(made.chain) == set(NAMES) and spki_sha256(made.chain) != spoiled
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(made.chain, made.key)
