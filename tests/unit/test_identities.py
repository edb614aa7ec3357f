from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from lending.identity import (
    birth_date_of,
    is_valid_credit_code,
    is_valid_resident_id,
    luhn_valid,
    region_of,
    sex_of,
)
from lending.sandbox import make_identity

TODAY = date(2025, 6, 1)


def test_deterministic_per_seed() -> None:
    assert make_identity(7) == make_identity(7)
    assert make_identity(7) != make_identity(8)


@settings(max_examples=60)
@given(st.integers(0, 10**6), st.booleans())
def test_identity_is_consistent(seed: int, expired: bool) -> None:
    ident = make_identity(seed, expired_id=expired, today=TODAY)
    assert is_valid_resident_id(ident.id_number, today=TODAY)
    assert birth_date_of(ident.id_number) == ident.birth_date
    assert sex_of(ident.id_number) == ident.sex
    region = region_of(ident.id_number)
    assert region is not None
    assert ident.address.startswith(region.full_name)
    assert region.prefecture in ident.id_issuer or region.county in ident.id_issuer
    assert (ident.id_valid_to < TODAY) is expired
    assert ident.id_valid_to.year - ident.id_valid_from.year in (10, 20)
    assert luhn_valid(ident.bank_card_number)
    assert len(ident.bank_card_number) in (16, 19)
    assert ident.bank_card_number[:4] in {"6222", "6212", "6228", "6217", "6216", "6225"}
    assert is_valid_credit_code(ident.credit_code)
    assert len(ident.phone) == 11 and ident.phone.startswith("1")
    assert ident.ethnicity == "汉"
    assert 2 <= len(ident.name) <= 3
