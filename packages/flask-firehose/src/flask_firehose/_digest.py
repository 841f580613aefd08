"""A compact, bounded digest of the URLs pushed to one client: Golomb-coded
sets, as h2o's CASPer cookie and the HTTP cache-digest drafts use them.

A Golomb-coded set of *n* URLs with false-positive rate 1/P hashes each URL to
a number below n·P, sorts the numbers, and writes the gaps between them with a
Rice code (the quotient in unary, the remainder in k bits), so each URL costs
about log2(P) + 1.5 bits whatever its length. It answers "was this pushed?"
with no false negatives and a false positive with probability about 1/P.

A set's size must be known when it is written, but a client is pushed more
files over time, so the digest is a list of **generations**: each a set with a
capacity (64, then 128, 256, ...); when the newest is full, a new one twice as
large starts (up to the largest size two of which fit in the budget). Lookups
check every generation. The false-positive rate of each is chosen so that all
the generations the budget can hold together stay under the configured rate.
When the encoded digest would exceed its byte budget, the oldest generations
are dropped: the files they held may be pushed once more.

The encoding (base64url, no padding) is versioned; anything that does not
decode exactly (garbage, a truncated or foreign value, one over the budget)
raises :class:`ValueError`, which the tracker treats as an empty digest.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["DigestFormat", "PushDigest"]

_VERSION: Final = 1
_FIRST_CAPACITY_BITS: Final = 6  # 64 URLs
_MAX_CAPACITY_BITS: Final = 20
_MAX_GENERATIONS: Final = 8


@functools.lru_cache(maxsize=4096)
def url_hash(target: str) -> int:
    """The 64-bit hash a target is tracked by (BLAKE2b: fast, keyless,
    stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(target.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class DigestFormat:
    """The parameters a digest is written with.

    :param false_positives: the most likely share of never-pushed URLs that the
        whole digest reports as pushed (they go out ``nopush``).
    :param max_chars: the most characters the encoded digest may take.
    """

    false_positives: float = 0.01
    max_chars: int = 3000

    @functools.cached_property
    def p_bits(self) -> int:
        """log2 of each generation's P: the configured rate shared by the
        generations the budget can hold."""
        return max(1, math.ceil(math.log2(len(self._capacities) / self.false_positives)))

    @functools.cached_property
    def max_capacity_bits(self) -> int:
        """The largest generation: two full ones fit in the budget."""
        return self._capacities[-1]

    @functools.cached_property
    def _capacities(self) -> tuple[int, ...]:
        # About log2(1/rate) + 4 bits per URL, base64 carrying 6 bits a character.
        urls = self.max_chars * 6 / (math.log2(1 / self.false_positives) + 4)
        largest = max(_FIRST_CAPACITY_BITS, min(_MAX_CAPACITY_BITS, math.floor(math.log2(max(urls / 2, 1)))))
        capacities = list(range(_FIRST_CAPACITY_BITS, largest + 1))
        while sum(1 << bits for bits in capacities) < urls and len(capacities) < _MAX_GENERATIONS:
            capacities.append(largest)
        return tuple(capacities)


@dataclass(frozen=True)
class _Generation:
    capacity_bits: int
    values: frozenset[int]

    def universe_bits(self, p_bits: int) -> int:
        return self.capacity_bits + p_bits


class PushDigest:
    """The set of URLs pushed to a client, as generations of Golomb-coded sets.

    Immutable: :meth:`add` returns a new digest.
    """

    __slots__ = ("_generations", "_lookup", "_text", "format")

    def __init__(self, fmt: DigestFormat, generations: tuple[_Generation, ...] = ()) -> None:
        self.format = fmt
        self._generations = generations
        self._text: str | None = None
        # What a lookup needs, per generation: how far to shift a hash, and the set.
        self._lookup = tuple((64 - g.universe_bits(fmt.p_bits), g.values) for g in generations)

    def __len__(self) -> int:
        return sum(len(generation.values) for generation in self._generations)

    @property
    def generations(self) -> int:
        """How many generations the digest holds."""
        return len(self._generations)

    def __contains__(self, target: object) -> bool:
        if not self._lookup or not isinstance(target, str):
            return False
        hashed = url_hash(target)
        for shift, values in self._lookup:  # noqa: SIM110 (a loop: any() and a generator cost twice as much here)
            if hashed >> shift in values:
                return True
        return False

    def add(self, targets: Iterable[str]) -> PushDigest:
        """A digest holding *targets* too, within the byte budget."""
        p_bits = self.format.p_bits
        generations = list(self._generations)
        newest: set[int] = set(generations[-1].values) if generations else set()
        for target in targets:
            if not generations or len(newest) >= 1 << generations[-1].capacity_bits:
                if generations:
                    generations[-1] = _Generation(generations[-1].capacity_bits, frozenset(newest))
                bits = generations[-1].capacity_bits + 1 if generations else _FIRST_CAPACITY_BITS
                generations.append(_Generation(min(bits, self.format.max_capacity_bits), frozenset()))
                newest = set()
                if len(generations) > _MAX_GENERATIONS:
                    del generations[0]
            # Only the newest generation is checked: a URL found in an older
            # one is written again, so it lives as long as the newest.
            newest.add(url_hash(target) >> (64 - generations[-1].universe_bits(p_bits)))
        if generations:
            generations[-1] = _Generation(generations[-1].capacity_bits, frozenset(newest))
        digest = PushDigest(self.format, tuple(generations))
        while len(digest.encode()) > self.format.max_chars and len(digest._generations) > 1:
            digest = PushDigest(self.format, digest._generations[1:])
        if len(digest.encode()) > self.format.max_chars:  # a budget too small for one generation
            return PushDigest(self.format)
        return digest

    @classmethod
    def merge(cls, digests: Sequence[PushDigest], fmt: DigestFormat) -> PushDigest:
        """One digest answering "pushed" wherever any of *digests* (all
        written with *fmt*) does, within the budget.

        For a client sending the cookie more than once (another path, a
        parent domain). The digest holding the most URLs goes last, as the
        newest: it is most likely the one this app kept writing, and
        :meth:`add` writes into the newest generation. A generation that
        another one of its size holds entirely (an older copy of the same
        one) is dropped, so merging a digest with one written from it gives
        the latter. Past the generation limit or the budget, the oldest
        generations go, as in :meth:`add`.
        """
        if len(digests) == 1:
            return digests[0]
        ordered = sorted((digest for digest in digests if digest._generations), key=len)
        generations: list[_Generation] = []
        for digest in ordered:
            generations.extend(digest._generations)
        kept: list[_Generation] = []
        for index, generation in enumerate(generations):
            if any(
                other.capacity_bits == generation.capacity_bits
                and generation.values <= other.values
                and (generation.values != other.values or later > index)
                for later, other in enumerate(generations)
                if later != index
            ):
                continue  # held by another (of equal ones, the last is kept)
            kept.append(generation)
        merged = cls(fmt, tuple(kept[-_MAX_GENERATIONS:]))
        while len(merged.encode()) > fmt.max_chars and len(merged._generations) > 1:
            merged = cls(fmt, merged._generations[1:])
        if len(merged.encode()) > fmt.max_chars:
            return cls(fmt)
        return merged

    def encode(self) -> str:
        """The digest as base64url text (no padding); worked out once."""
        if self._text is None:
            self._text = self._encode()
        return self._text

    def _encode(self) -> str:
        writer = _BitWriter()
        p_bits = self.format.p_bits
        writer.write(_VERSION, 4)
        writer.write(p_bits, 6)
        writer.write(len(self._generations), 4)
        for generation in self._generations:
            values = sorted(generation.values)
            universe = 1 << generation.universe_bits(p_bits)
            k = _rice_parameter(universe, len(values))
            writer.write(generation.capacity_bits, 5)
            writer.write(len(values), 21)
            writer.write(k, 6)
            previous = -1
            for value in values:
                gap = value - previous - 1
                writer.unary(gap >> k)
                writer.write(gap & ((1 << k) - 1), k)
                previous = value
        return base64.urlsafe_b64encode(writer.to_bytes()).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str, fmt: DigestFormat, *, remember: bool = True) -> PushDigest:
        """Read an encoded digest written with *fmt*; the last few decoded
        are remembered, since a client sends the same cookie page after page
        (*remember* false: a caller that keeps its own).

        :raises ValueError: for anything that is not exactly such a digest.
        """
        return _decode(text, fmt) if remember else cls._decode(text, fmt)

    @classmethod
    def _decode(cls, text: str, fmt: DigestFormat) -> PushDigest:
        if not text:
            return cls(fmt)
        if len(text) > fmt.max_chars or not text.isascii():
            raise ValueError("digest longer than its budget")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (ValueError, TypeError) as exc:
            raise ValueError("digest is not base64url") from exc
        # Only the text this digest encodes to is accepted (no stray bits in
        # the last character, the Rice parameter the writer chooses): the text
        # then *is* the encoding, and is never worked out again.
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != text.encode("ascii"):
            raise ValueError("digest is not in canonical base64url")
        reader = _BitReader(raw)
        if reader.read(4) != _VERSION:
            raise ValueError("unknown digest version")
        p_bits = reader.read(6)
        if p_bits != fmt.p_bits:
            raise ValueError("digest written with another false-positive rate")
        count = reader.read(4)
        if count > _MAX_GENERATIONS:
            raise ValueError("too many generations")
        generations = []
        for _ in range(count):
            capacity_bits = reader.read(5)
            size = reader.read(21)
            k = reader.read(6)
            if not 0 < capacity_bits <= fmt.max_capacity_bits or size > 1 << capacity_bits or k > 63:
                raise ValueError("generation header out of range")
            universe = 1 << (capacity_bits + p_bits)
            if k != _rice_parameter(universe, size):
                raise ValueError("generation written with another Rice parameter")
            values = reader.gaps(size, k)
            if values and values[-1] >= universe:
                raise ValueError("value out of range")
            generations.append(_Generation(capacity_bits, frozenset(values)))
        reader.finish()
        digest = cls(fmt, tuple(generations))
        digest._text = text
        return digest


@functools.lru_cache(maxsize=128)
def _decode(text: str, fmt: DigestFormat) -> PushDigest:
    return PushDigest._decode(text, fmt)


def _rice_parameter(universe: int, size: int) -> int:
    """The Rice parameter for *size* values spread over *universe*: about
    log2 of the mean gap (Golomb's optimum, rounded to a power of two)."""
    if size == 0:
        return 0
    mean_gap = universe / size
    return max(0, math.floor(math.log2(mean_gap * math.log(2))) if mean_gap > 1 else 0)


class _BitWriter:
    __slots__ = ("_bits", "_value")

    def __init__(self) -> None:
        self._value = 0
        self._bits = 0

    def write(self, value: int, bits: int) -> None:
        self._value = (self._value << bits) | value
        self._bits += bits

    def unary(self, quotient: int) -> None:
        # quotient ones, then a zero
        self.write(((1 << quotient) - 1) << 1, quotient + 1)

    def to_bytes(self) -> bytes:
        pad = -self._bits % 8
        return (self._value << pad).to_bytes((self._bits + pad) // 8, "big")


class _BitReader:
    """Reads a bit stream kept twice: as text, where the next ``0`` of a
    unary quotient is one ``find``, and as one integer, where the bits after
    it are one shift and mask."""

    __slots__ = ("_bits", "_number", "_pos", "_total")

    def __init__(self, data: bytes) -> None:
        self._total = len(data) * 8
        self._number = int.from_bytes(data, "big")
        self._bits = format(self._number, f"0{self._total}b") if data else ""
        self._pos = 0

    def read(self, bits: int) -> int:
        end = self._pos + bits
        if end > self._total:
            raise ValueError("digest truncated")
        value = (self._number >> (self._total - end)) & ((1 << bits) - 1)
        self._pos = end
        return value

    def gaps(self, size: int, k: int) -> list[int]:
        """*size* increasing values written as Rice-coded gaps (quotient in
        unary, then *k* bits): the decoder's inner loop, in one place."""
        pos, total, number = self._pos, self._total, self._number
        find = self._bits.find
        mask = (1 << k) - 1
        values = []
        previous = -1
        for _ in range(size):
            end = find("0", pos) + 1  # past the quotient's closing zero
            if end == 0 or end + k > total:
                raise ValueError("digest truncated")
            previous += 1 + (((end - 1 - pos) << k) | ((number >> (total - end - k)) & mask))
            values.append(previous)
            pos = end + k
        self._pos = pos
        return values

    def finish(self) -> None:
        """Only zero padding (less than a byte) may follow the last value."""
        rest = self._total - self._pos
        if rest >= 8 or "1" in self._bits[self._pos :]:
            raise ValueError("trailing data after the digest")
