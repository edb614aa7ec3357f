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
