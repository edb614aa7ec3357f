from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.identity import (
    birth_date_of,
    credit_code_check_char,
    id_check_digit,
    is_valid_credit_code,
    is_valid_resident_id,
    luhn_check_digit,
    luhn_valid,
    mask_card,
    mask_id_number,
    mask_name,
    normalise,
    region_of,
    sex_of,
)
from lending.identity.checks import CREDIT_ALPHABET
from lending.identity.regions import COUNTIES

TODAY = date(2025, 6, 1)


# GB 11643-1999's own worked examples.
@pytest.mark.parametrize("id_no", ["11010519491231002X", "440524188001010014"])
def test_standard_examples_are_valid(id_no: str) -> None:
    assert id_check_digit(id_no[:17]) == id_no[17]
    assert is_valid_resident_id(id_no, today=TODAY)


def test_fields_of_an_id_number() -> None:
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert sex_of("11010519491231002X") == "F"
    assert sex_of("440524188001010014") == "M"
    region = region_of("11010519491231002X")
    assert region is not None and region.full_name == "北京市朝阳区"


@pytest.mark.parametrize(
    "id_no",
    [
        "11010519491231002",  # too short
        "11010519491231002Y",  # bad check character
        "110105194912310021",  # wrong check digit
        "99010519491231002X",  # unknown region
        "110105194902300025",  # 30 February
        "１１０１０５１９４９１２３１００２Ｘ",  # full width: normalise first
    ],
)
def test_invalid_ids(id_no: str) -> None:
    assert not is_valid_resident_id(id_no, today=TODAY)


def test_future_birth_date_is_invalid() -> None:
    first17 = "11010520300101001"
    assert not is_valid_resident_id(first17 + id_check_digit(first17), today=TODAY)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(sorted(COUNTIES)))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=TODAY))
    seq = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


@given(resident_ids())
def test_generated_ids_are_valid(id_no: str) -> None:
    assert is_valid_resident_id(id_no, today=TODAY)


@given(resident_ids(), st.integers(0, 17), st.integers(1, 9))
def test_any_single_digit_change_fails(id_no: str, pos: int, delta: int) -> None:
    chars = list(id_no)
    if chars[pos] == "X":
        chars[pos] = str(delta)
    else:
        chars[pos] = str((int(chars[pos]) + delta) % 10)
    assert not is_valid_resident_id("".join(chars), today=TODAY)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216"])
def test_known_credit_codes(code: str) -> None:
    assert credit_code_check_char(code[:17]) == code[17]
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "91350100M0001O0Y43"])
def test_invalid_credit_codes(code: str) -> None:
    assert not is_valid_credit_code(code)


@given(
    st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17),
    st.integers(0, 16),
    st.integers(1, 30),
)
def test_any_single_credit_char_change_fails(first17: str, pos: int, delta: int) -> None:
    code = first17 + credit_code_check_char(first17)
    changed = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(code[pos]) + delta) % 31]
    assert not is_valid_credit_code(code[:pos] + changed + code[pos + 1 :])


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("")
    assert luhn_check_digit("7992739871") == "3"


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.data())
def test_luhn_check_digit_round_trip(partial: str, data: st.DataObject) -> None:
    number = partial + luhn_check_digit(partial)
    assert luhn_valid(number)
    pos = data.draw(st.integers(0, len(number) - 1))
    delta = data.draw(st.integers(1, 9))
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    assert not luhn_valid(changed)


def test_normalise_and_masks() -> None:
    assert normalise("１１０１０５ １９４９１２３１００２ｘ") == "11010519491231002X"
    assert normalise("张\u3000三") == "张三"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_card("6222020200112233445") == "*" * 15 + "3445"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"
