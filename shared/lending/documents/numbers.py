"""Find checksummed numbers in OCR text, correcting look-alike characters only when
the checksum proves the correction.

OCR confuses 0/O/D, 1/I/l, 5/S, 8/B … A character is changed only if exactly one
combination of look-alike substitutions passes the checksum; otherwise the number is
reported unreadable rather than guessed. A corrected value must still equal the
declared value downstream, so a correction can never manufacture a match.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from lending.identity.checks import CREDIT_ALPHABET, normalise

# Characters OCR produces in place of a digit (upper case: text is normalised first).
_AS_DIGIT: Final = {
    "O": "0", "D": "0", "Q": "0", "U": "0",
    "I": "1", "L": "1", "J": "1", "|": "1", "!": "1", "T": "17",
    "Z": "2", "S": "5", "B": "8", "G": "69", "A": "4",
}  # fmt: skip
# Characters that are not in the credit-code alphabet and what they usually are.
_AS_CREDIT: Final = {"I": "1", "O": "0", "S": "5", "Z": "2", "V": "UY", "|": "1", "!": "1"}
# In-alphabet look-alikes of the credit code, tried one position at a time.
_CREDIT_SWAPS: Final = {"0": "DQ", "D": "0", "Q": "0", "8": "B", "B": "8", "6": "G", "G": "6"}
_MAX_FORCED: Final = 4  # look-alike positions per candidate; beyond that it is noise


@dataclass(frozen=True, slots=True)
class Found:
    value: str
    corrected: bool


@dataclass(frozen=True, slots=True)
class Search:
    """The outcome of looking for one number: `found`, or whether a candidate of the
    right shape was seen but failed its checksum (→ unreadable, not "missing")."""

    found: Found | None
    saw_candidate: bool


def _clean(text: str) -> str:
    return normalise(text).replace("×", "X")


def _runs(text: str, allowed: str) -> Iterator[str]:
    yield from re.findall(f"[{re.escape(allowed)}]+", text)


def _resolve(
    raw: str,
    valid: Callable[[str], bool],
    forced: dict[str, str],
    swaps: dict[str, str] | None,
) -> Found | None:
    if valid(raw):
        return Found(raw, corrected=False)
    if sum(c in forced for c in raw) > _MAX_FORCED:
        return None
    options = [forced.get(c, c) for c in raw]
    hits = {v for v in map("".join, itertools.product(*options)) if valid(v)}
    if not hits and swaps and not any(c in forced for c in raw):
        # One in-alphabet swap (8↔B …): a single substitution passes a mod-31 check by
        # chance 1 time in 31, so it is accepted only when exactly one swap does.
        for i, c in enumerate(raw):
            hits.update(v for alt in swaps.get(c, "") if valid(v := raw[:i] + alt + raw[i + 1 :]))
    return Found(hits.pop(), corrected=True) if len(hits) == 1 else None


def find_number(
    texts: list[str],
    *,
    lengths: tuple[int, ...],
    valid: Callable[[str], bool],
    kind: str,
) -> Search:
    """Search `texts` (row strings in reading order) for one checksummed number.

    kind: "id" (GB 11643), "card" (Luhn) or "credit" (GB 32100).
    """
    if kind == "credit":
        forced, alphabet, swaps = _AS_CREDIT, CREDIT_ALPHABET, _CREDIT_SWAPS
    else:
        forced, alphabet, swaps = _AS_DIGIT, "0123456789" + ("X" if kind == "id" else ""), None
    allowed = alphabet + "".join(forced)
    min_digits = {"id": 14, "card": 12, "credit": 0}[kind]
    saw = False
    results: set[Found] = set()
    for text in texts:
        for run in _runs(_clean(text), allowed):
            if len(run) < min(lengths) or sum(c.isdigit() for c in run) < min_digits:
                continue
            windows = (
                [run]
                if len(run) in lengths
                else [run[i : i + n] for n in lengths for i in range(len(run) - n + 1)]
            )
            for window in windows:
                saw = True
                found = _resolve(window, valid, forced, swaps)
                if found is not None:
                    results.add(found)
        if results:
            break  # the first row (in reading order) that holds a valid number wins
    values = {f.value for f in results}
    if len(values) != 1:  # none, or ambiguous windows: do not guess
        return Search(None, saw)
    return Search(min(results, key=lambda f: f.corrected), saw)
