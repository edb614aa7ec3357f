"""What a Chinese lender accepts as a person's name, an address or a company name.

Each check returns the cleaned value or raises ValueError with a message that never
echoes the input (pydantic turns it into a 422 naming the field). Rules:

* a name is 2-20 Chinese characters; minority names join their parts with the
  middle dot (买买提·艾力), whose look-alikes (•, ・, ．, ‧) are folded to U+00B7;
* an address or company name is printable text only: no control or format
  characters (NUL, zero-width, bidi overrides), no emoji or other symbols, no
  private-use or unassigned code points; runs of spaces, tabs and line breaks fold
  to one space;
* surrounding whitespace is dropped before any length is counted, so a value of
  spaces is empty, and empty is refused.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator

from lending.identity.checks import luhn_valid, normalise

MIDDLE_DOT: Final = "\u00b7"
_DOT_LOOKALIKES: Final = str.maketrans(dict.fromkeys("\u2022\u30fb\uff0e\u2027\u2219", MIDDLE_DOT))
# CJK Unified Ideographs with Extension A and B-F (rare characters in real names), and 〇.
_HAN: Final = "\u3007\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef"
_NAME: Final = re.compile(f"[{_HAN}]+(?:{MIDDLE_DOT}[{_HAN}]+)*")
# Letters, marks, digits, punctuation and the plain space; everything else is refused.
_PRINTABLE_CATEGORIES: Final = frozenset(
    {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd", "Nl", "No"}
    | {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs"}
)
# Spaces, tabs and line breaks a pasted address may carry fold to one space; every other
# control character (Python's \s also takes \x1c-\x1f, \x0b, \x85) is refused.
_SPACES: Final = re.compile("[ \t\n\r\u00a0\u3000]+")

NAME_MIN, NAME_MAX = 2, 20


def person_name(value: str) -> str:
    # Chinese names have no spaces: "张 三" is 张三.
    name = _SPACES.sub("", unicodedata.normalize("NFC", value)).translate(_DOT_LOOKALIKES)
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise ValueError(f"a name has {NAME_MIN} to {NAME_MAX} characters")
    if not _NAME.fullmatch(name):
        raise ValueError(
            "a name is written in Chinese characters, parts of a minority name joined by ·"
        )
    return name


def printable_text(value: str, *, min_length: int, max_length: int) -> str:
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip(" ")
    if any(unicodedata.category(c) not in _PRINTABLE_CATEGORIES for c in text):
        raise ValueError("only printable text: no control characters, emoji or symbols")
    if not min_length <= len(text) <= max_length:
        raise ValueError(f"between {min_length} and {max_length} characters")
    return text


def address(value: str) -> str:
    return printable_text(value, min_length=4, max_length=120)


def company_name(value: str) -> str:
    return printable_text(value, min_length=2, max_length=80)


def card_number(value: str) -> str:
    if not luhn_valid(value):
        raise ValueError("the card number's check digit is wrong")
    return value


def _half_width(value: object) -> object:
    """Numbers typed on a Chinese keyboard come full-width or with spaces: fold them."""
    return normalise(value) if isinstance(value, str) else value


PersonName = Annotated[str, AfterValidator(person_name)]
Address = Annotated[str, AfterValidator(address)]
CompanyName = Annotated[str, AfterValidator(company_name)]
# Checked for shape by the model's pattern after folding, then for the check digit.
Number = Annotated[str, BeforeValidator(_half_width)]
CardNumber = Annotated[str, BeforeValidator(_half_width), AfterValidator(card_number)]
