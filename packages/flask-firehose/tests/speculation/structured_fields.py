"""What the Speculation Rules tests read back: a strict RFC 9651 parser for
the fields they meet (``No-Vary-Search``, a dictionary; ``Sec-Speculation-Tags``,
a list), the No-Vary-Search draft's reading of a parsed value, a real
Werkzeug server on 127.0.0.1 for the tests where the wire matters, and a
fresh interpreter with a given hash seed (what another worker or host is).

The parser is the tests' own, written from RFC 9651 §4.2, so it does not
share a bug with the code under test. It refuses what the RFC refuses
(raising :class:`FieldError`) and keeps sf-strings and tokens apart, since
``params=(utm_source)`` is a parse error for Chromium's No-Vary-Search.
"""

from __future__ import annotations

import http.client
import os
import string
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from ..live_server import serving

__all__ = [
    "FieldError",
    "Served",
    "Token",
    "no_vary_search_of",
    "parse_dictionary",
    "parse_list",
    "run_with_hash_seed",
    "serialize_string",
    "served",
]

_LCALPHA = string.ascii_lowercase
_TCHAR = set("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)


class FieldError(ValueError):
    """A field value RFC 9651 does not parse."""


class Token(str):
    """An sf-token (kept apart from an sf-string)."""


Item = tuple[Any, dict[str, Any]]  # (bare item or inner list, parameters)


class _Reader:
    def __init__(self, text: str) -> None:
        if any(not 0x20 <= ord(char) <= 0x7E and char != "\t" for char in text):
            raise FieldError(f"not visible ASCII: {text!r}")
        self.text = text
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.at += 1

    def done(self) -> bool:
        return self.at >= len(self.text)

    def key(self) -> str:
        if not self.peek() or self.peek() not in _LCALPHA + "*":
            raise FieldError(f"a key cannot start at {self.text[self.at :]!r}")
        start = self.at
        while self.peek() and self.peek() in _LCALPHA + string.digits + "_-.*":
            self.at += 1
        return self.text[start : self.at]

    def bare_item(self) -> Any:
        char = self.peek()
        if char == '"':
            return self.sf_string()
        if char == "?":
            self.take()
            value = self.take()
            if value not in ("0", "1"):
                raise FieldError("bad boolean")
            return value == "1"
        if char and (char.isdigit() or char == "-"):
            start = self.at
            self.take()
            while self.peek().isdigit():
                self.take()
            return int(self.text[start : self.at])
        if char and (char in string.ascii_letters or char == "*"):
            start = self.at
            while self.peek() and (self.peek() in _TCHAR or self.peek() in ":/"):
                self.take()
            return Token(self.text[start : self.at])
        raise FieldError(f"no item at {self.text[self.at :]!r}")

    def sf_string(self) -> str:
        assert self.take() == '"'
        found = []
        while True:
            char = self.take()
            if not char:
                raise FieldError("unterminated string")
            if char == "\t":
                raise FieldError("a tab in a string")
            if char == "\\":
                escaped = self.take()
                if escaped not in ('"', "\\"):
                    raise FieldError(f"bad escape \\{escaped}")
                found.append(escaped)
            elif char == '"':
                return "".join(found)
            else:
                found.append(char)

    def parameters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        while self.peek() == ";":
            self.take()
            self.skip(" ")
            name = self.key()
            value: Any = True
            if self.peek() == "=":
                self.take()
                value = self.bare_item()
            found[name] = value
        return found

    def item_or_inner_list(self) -> Item:
        if self.peek() != "(":
            value = self.bare_item()
            return value, self.parameters()
        self.take()
        members: list[Item] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.take()
                return members, self.parameters()
            value = self.bare_item()
            members.append((value, self.parameters()))
            if self.peek() not in (" ", ")"):
                raise FieldError(f"bad inner list at {self.text[self.at :]!r}")

    def members_end(self) -> bool:
        """After a member: ``True`` at the end, else past the comma."""
        self.skip(" \t")
        if self.done():
            return True
        if self.take() != ",":
            raise FieldError(f"expected ',' in {self.text!r}")
        self.skip(" \t")
        if self.done():
            raise FieldError("trailing comma")
        return False


def parse_dictionary(value: str) -> dict[str, Item]:
    """An RFC 9651 dictionary (§4.2.2), strictly."""
    reader = _Reader(value.strip(" "))
    found: dict[str, Item] = {}
    while not reader.done():
        name = reader.key()
        if reader.peek() == "=":
            reader.take()
            found[name] = reader.item_or_inner_list()
        else:
            found[name] = (True, reader.parameters())
        if reader.members_end():
            break
    return found


def parse_list(value: str) -> list[Item]:
    """An RFC 9651 list (§4.2.1), strictly."""
    reader = _Reader(value.strip(" "))
    found: list[Item] = []
    while not reader.done():
        found.append(reader.item_or_inner_list())
        if reader.members_end():
            break
    return found


def serialize_string(value: str) -> str:
    """*value* (printable ASCII) as an sf-string (RFC 9651 §4.1.6)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key_name(item: Any) -> str:
    """The draft's "parse a key": ``+`` is a space, ``%XX`` a byte, UTF-8."""
    if not isinstance(item, str) or isinstance(item, Token):
        raise FieldError(f"a parameter name must be an sf-string, not {item!r}")
    return unquote_to_bytes(item.replace("+", " ")).decode("utf-8")


@dataclass(frozen=True)
class NoVarySearchValue:
    """What a ``No-Vary-Search`` value means (the draft's parsing algorithm)."""

    ignore: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None
    key_order: bool = False


def no_vary_search_of(value: str) -> NoVarySearchValue:
    """Parse *value* strictly: any member or shape the draft would treat as a
    parse error raises :class:`FieldError` (a browser would ignore the header)."""
    members = parse_dictionary(value)
    unknown = set(members) - {"params", "except", "key-order"}
    if unknown:
        raise FieldError(f"unknown members {sorted(unknown)}")
    key_order = False
    if "key-order" in members:
        order, params = members["key-order"]
        if not isinstance(order, bool) or params:
            raise FieldError("key-order must be a boolean")
        key_order = order
    ignore: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None
    if "params" in members:
        params_value, params = members["params"]
        if params:
            raise FieldError("params has parameters")
        if params_value is True:
            keep = ()
        elif isinstance(params_value, list):
            ignore = tuple(_key_name(item) for item, item_params in params_value if not item_params)
            if len(ignore) != len(params_value):
                raise FieldError("parameters on a name")
        elif params_value is not False:
            raise FieldError(f"params must be a boolean or an inner list, not {params_value!r}")
    if "except" in members:
        except_value, params = members["except"]
        if keep is None or not isinstance(except_value, list) or params:
            raise FieldError("except needs params (true) and an inner list")
        keep = tuple(_key_name(item) for item, _ in except_value)
    return NoVarySearchValue(ignore, keep, key_order)


@dataclass
class Served:
    """A WSGI app behind a real Werkzeug server on 127.0.0.1."""

    port: int

    def request(
        self, method: str, path: str, headers: dict[str, str] | list[tuple[str, str | bytes]] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a fresh connection: status, headers as sent, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            items = headers.items() if isinstance(headers, dict) else (headers or [])
            for name, value in items:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.msg, response.read()
        finally:
            connection.close()


@contextmanager
def served(app: Any) -> Iterator[Served]:
    """Serve *app* on a free port of 127.0.0.1 for the block's duration."""
    with serving(app) as port:
        yield Served(port)


def run_with_hash_seed(code: str, seed: int) -> str:
    """What *code* prints in a fresh interpreter whose ``str`` hashes use
    *seed*: as another worker or another host would run it."""
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
