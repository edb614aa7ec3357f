"""The applicant's declared details, sealed under the platform's key and bound to the
application by encryption context: the one place they are encrypted and opened."""

from __future__ import annotations

import base64

from lending.applications.model import ApplicantDetails, Application
from lending.ports import Cipher


def applicant_context(application_id: str) -> dict[str, str]:
    return {"application_id": application_id, "purpose": "applicant"}


def seal_applicant(cipher: Cipher, application_id: str, details: ApplicantDetails) -> str:
    blob = cipher.encrypt(details.model_dump_json().encode(), applicant_context(application_id))
    return base64.b64encode(blob).decode()


def open_applicant(cipher: Cipher, app: Application) -> ApplicantDetails:
    clear = cipher.decrypt(base64.b64decode(app.applicant_blob), applicant_context(app.id))
    return ApplicantDetails.model_validate_json(clear)


# -- masked for staff: what a reviewer needs, never the whole value -----------------------


def mask_name(name: str) -> str:
    """张三 -> 张*, 张小明 -> 张*明, 欧阳小明 -> 欧**明 (first and last character kept)."""
    chars = list(name)
    if len(chars) <= 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_id_number(id_number: str) -> str:
    """110105199001011234 -> 110***********1234 (region prefix and last four)."""
    if len(id_number) < 8:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def card_last_four(card_number: str) -> str:
    return card_number[-4:]


def mask_address(address: str, keep: int = 6) -> str:
    """The province and city a reviewer may need (the first characters), not the street."""
    return address[:keep] + "****" if len(address) > keep else "****"
