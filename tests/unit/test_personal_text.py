"""Names, addresses and company names as a Chinese lender accepts them."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.identity.text import address, company_name, person_name


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("林娟丽", "林娟丽"),
        (" 张 三 ", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),  # a bullet typed for the middle dot
        ("阿卜杜热合曼・买买提", "阿卜杜热合曼·买买提"),
        ("𠮷野", "𠮷野"),  # a rare character outside the basic plane
    ],
)
def test_real_names_are_accepted_and_folded(typed: str, stored: str) -> None:
    assert person_name(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "张",
        "张\x00三",
        "张三😀",
        "Zhang San",
        "·张三",
        "张三·",
        "张··三",
        "张" * 21,
        "张3",
    ],
)
def test_other_names_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        person_name(typed)


def test_addresses_keep_printable_text_and_fold_spaces() -> None:
    assert (
        address("  北京市朝阳区   建国路88号 (SOHO) 3-1201 ")
        == "北京市朝阳区 建国路88号 (SOHO) 3-1201"
    )
    assert (
        company_name("深圳汇通服装有限公司（南山分公司）") == "深圳汇通服装有限公司（南山分公司）"
    )


@given(
    st.text(min_size=4, max_size=40),
    st.characters(categories=["Cc", "Cf", "Co", "So", "Sk", "Sm", "Zl", "Zp"]).filter(
        lambda c: c not in "\t\n\r"  # folded to a space, as pasted addresses carry them
    ),
)
def test_no_control_format_or_symbol_character_is_ever_stored(text: str, bad: str) -> None:
    with pytest.raises(ValueError):
        address("北京市" + text + bad + "路")
    with pytest.raises(ValueError):
        address(bad + "北京市" + text)


@given(st.text(max_size=130))
def test_whatever_is_accepted_is_printable_and_bounded(text: str) -> None:
    try:
        cleaned = address(text)
    except ValueError:
        return
    assert 4 <= len(cleaned) <= 120
    assert cleaned == cleaned.strip()
    assert all(unicodedata.category(c)[0] in "LMNPZ" for c in cleaned)
