"""When the visitors' LCP samples agree, and on what (pure functions).

Within a viewport class, an answer is *agreed* when at least ``needed``
samples from distinct clients exist and one answer holds a strict majority of
them: an image URL, or :data:`TEXT` (the LCP was text, or an image outside the
initial viewport). Across classes, as WordPress's Optimization Detective
does, but tightened for a 103:

* every class agreed on the same image: :attr:`Agreement.one` (the 103 and
  the final header);
* every class agreed, not all on one image, at least one on an image:
  :attr:`Agreement.by_class` (the final header, one link per class with
  ``media``; a class agreed on text gets none);
* otherwise (a class not agreed yet, or all text): nothing.

Nothing here can invent a URL: every URL in an answer is one of the samples'.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["TEXT", "Agreement", "agree", "class_verdict", "media_queries", "ranges"]

#: The sample of a class whose LCP was no image to hint.
TEXT: Final = ""


@dataclass(frozen=True, slots=True)
class Agreement:
    """What the samples of one key say.

    :param verdicts: per viewport class, the agreed URL, :data:`TEXT`, or
        ``None`` (not agreed yet).
    """

    verdicts: tuple[str | None, ...]

    @property
    def done(self) -> frozenset[int]:
        """The classes already agreed (the script stays silent there)."""
        return frozenset(index for index, verdict in enumerate(self.verdicts) if verdict is not None)

    @property
    def complete(self) -> bool:
        """Every class agreed."""
        return all(verdict is not None for verdict in self.verdicts)

    @property
    def one(self) -> str | None:
        """The image every class agreed on, else ``None``."""
        first = self.verdicts[0] if self.verdicts else None
        if first and all(verdict == first for verdict in self.verdicts):
            return first
        return None

    @property
    def by_class(self) -> tuple[str | None, ...] | None:
        """Per class, its image (``None`` for text), when every class agreed,
        on more than one answer, at least one of them an image; else ``None``."""
        if not self.complete or self.one is not None or not any(self.verdicts):
            return None
        return tuple(verdict or None for verdict in self.verdicts)

    @property
    def urls(self) -> frozenset[str]:
        """Every image some class agreed on."""
        return frozenset(verdict for verdict in self.verdicts if verdict)


def class_verdict(samples: Sequence[tuple[str, str]], needed: int) -> str | None:
    """The answer of one class's ``(client, url)`` samples (oldest first;
    a client's newest counts), or ``None`` while not agreed."""
    newest: dict[str, str] = {}
    for client, url in samples:
        newest.pop(client, None)
        newest[client] = url
    if len(newest) < max(needed, 1):
        return None
    (url, count), *_ = Counter(newest.values()).most_common(1)
    return url if 2 * count > len(newest) else None


def agree(samples: Mapping[int, Sequence[tuple[str, str]]], classes: int, needed: int) -> Agreement:
    """The :class:`Agreement` of a key's *samples* over *classes* viewport
    classes (samples of a class index outside them are ignored)."""
    return Agreement(tuple(class_verdict(samples.get(index, ()), needed) for index in range(classes)))


def media_queries(breakpoints: Sequence[int], first: int, last: int) -> str | None:
    """The media query of the widths from class *first* to class *last*
    (inclusive); ``None`` when that is every width."""
    low = breakpoints[first - 1] + 1 if first > 0 else None
    high = breakpoints[last] if last < len(breakpoints) else None
    parts = []
    if low is not None:
        parts.append(f"(min-width: {low}px)")
    if high is not None:
        parts.append(f"(max-width: {high}px)")
    return " and ".join(parts) or None


def ranges(verdicts: Sequence[str | None]) -> list[tuple[str, int, int]]:
    """``(url, first class, last class)`` for each run of adjacent classes
    agreed on the same image (text and unagreed classes give none)."""
    runs: list[tuple[str, int, int]] = []
    for index, verdict in enumerate(verdicts):
        if not verdict:
            continue
        if runs and runs[-1][0] == verdict and runs[-1][2] == index - 1:
            runs[-1] = (verdict, runs[-1][1], index)
        else:
            runs.append((verdict, index, index))
    return runs
