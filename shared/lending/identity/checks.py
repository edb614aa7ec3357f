"""Checksums and masking for Chinese identity numbers.

* GB 11643-1999 citizen identity number (18 chars, ISO 7064 MOD 11-2 check digit).
* GB 32100-2015 unified social credit code (18 chars, mod-31 check character).
* Luhn (ISO/IEC 7812) for bank card numbers.

Functions never echo the number they reject: callers may log the exception text.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final, Literal

from lending.identity.regions import Region, lookup_region

# --- GB 11643-1999 ---------------------------------------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_ID_SHAPE: Final = re.compile(r"\d{17}[\dX]")


def id_check_digit(first17: str) -> str:
    """Check digit ('0'-'9' or 'X') for the first 17 digits of a resident ID."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _birth_or_none(id_no: str) -> date | None:
    try:
        return date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(s: str, *, today: date | None = None) -> bool:
    """Shape, check digit, known region and a real birth date not after `today`.

    `today` defaults to the system date; pass it explicitly for reproducible checks.
    """
    if not _ID_SHAPE.fullmatch(s):
        return False
    if id_check_digit(s[:17]) != s[17]:
        return False
    if lookup_region(s[:6]) is None:
        return False
    born = _birth_or_none(s)
    return born is not None and born <= (today or date.today())


def birth_date_of(id_no: str) -> date:
    born = _birth_or_none(id_no) if _ID_SHAPE.fullmatch(id_no) else None
    if born is None:
        raise ValueError("not a resident ID number with a valid birth date")
    return born


def sex_of(id_no: str) -> Literal["M", "F"]:
    """GB 11643: the 17th digit (sequence code) is odd for men, even for women."""
    if not _ID_SHAPE.fullmatch(id_no):
        raise ValueError("not a resident ID number")
    return "M" if int(id_no[16]) % 2 else "F"


def region_of(id_no: str) -> Region | None:
    return lookup_region(id_no[:6]) if _ID_SHAPE.fullmatch(id_no) else None


# --- GB 32100-2015 ---------------------------------------------------------------

CREDIT_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_CC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CC_SHAPE: Final = re.compile(f"[{CREDIT_ALPHABET}]{{18}}")


def credit_code_check_char(first17: str) -> str:
    if len(first17) != 17 or any(c not in CREDIT_ALPHABET for c in first17):
        raise ValueError("expected 17 characters of the credit-code alphabet")
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CC_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(s: str) -> bool:
    return bool(_CC_SHAPE.fullmatch(s)) and credit_code_check_char(s[:17]) == s[17]


_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check_char(first8: str) -> str:
    """GB 11714 organisation-code check character (chars 9-17 of a credit code)."""
    if len(first8) != 8 or any(c not in CREDIT_ALPHABET for c in first8):
        raise ValueError("expected 8 characters of the credit-code alphabet")
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


# --- Luhn -------------------------------------------------------------------------


def _luhn_sum(digits: str, *, double_first: bool) -> int:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if (i % 2 == 0) == double_first:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def luhn_valid(number: str) -> bool:
    if len(number) < 2 or not number.isascii() or not number.isdigit():
        return False
    return _luhn_sum(number, double_first=False) % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit to append to `partial` so that the result passes Luhn."""
    if not partial or not partial.isascii() or not partial.isdigit():
        raise ValueError("expected ASCII digits")
    return str((10 - _luhn_sum(partial, double_first=True) % 10) % 10)


# --- Normalising and masking ------------------------------------------------------

_SPACES: Final = re.compile(r"\s+")


def normalise(s: str) -> str:
    """Full-width → half-width, no whitespace, upper case (so a trailing 'x' is 'X')."""
    half = "".join(
        " " if c == "\u3000" else chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c
        for c in s
    )
    return _SPACES.sub("", half).upper()


def mask_id_number(id_no: str) -> str:
    """First 6 (region) and last 4 kept: 110105********002X."""
    if len(id_no) <= 10:
        return "*" * len(id_no)
    return id_no[:6] + "*" * (len(id_no) - 10) + id_no[-4:]


def mask_card(number: str) -> str:
    """Only the last 4 digits survive."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def mask_name(name: str) -> str:
    """Keep the surname character only: 张三丰 → 张**."""
    return name[:1] + "*" * (len(name) - 1) if name else name
