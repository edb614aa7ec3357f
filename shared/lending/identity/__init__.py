"""Identity numbers: checksums, region codes, normalising and masking."""

from lending.identity.checks import (
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
    org_code_check_char,
    region_of,
    sex_of,
)
from lending.identity.regions import Region, lookup_region

__all__ = [
    "Region",
    "birth_date_of",
    "credit_code_check_char",
    "id_check_digit",
    "is_valid_credit_code",
    "is_valid_resident_id",
    "lookup_region",
    "luhn_check_digit",
    "luhn_valid",
    "mask_card",
    "mask_id_number",
    "mask_name",
    "normalise",
    "org_code_check_char",
    "region_of",
    "sex_of",
]
