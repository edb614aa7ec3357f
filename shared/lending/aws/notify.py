"""The SMS reminder channel, through Amazon SNS (WeChat's is `wechat.py`).

The phone number is opened from the application's sealed details only to hand it to SNS,
and never logged nor stored elsewhere; the text carries the amount and the due date only.
"""

from __future__ import annotations

from typing import Any, Protocol

from lending.applications.model import Application
from lending.applications.privacy import open_applicant
from lending.loans.model import Loan
from lending.ports import Cipher
from lending.servicing.reminders import Reminder


class Applications(Protocol):  # the part of the application repository it reads
    def get(self, application_id: str) -> Application | None: ...


class SnsSms:
    name = "sms"

    def __init__(self, sns: Any, applications: Applications, cipher: Cipher) -> None:
        self._sns = sns
        self._applications = applications
        self._cipher = cipher

    def deliver(self, loan: Loan, reminder: Reminder) -> bool:
        app = self._applications.get(loan.application_id)
        if app is None:
            raise LookupError(f"loan {loan.id}: its application is missing")
        phone = open_applicant(self._cipher, app).phone
        self._sns.publish(
            PhoneNumber=f"+86{phone}",
            Message=reminder.text,
            MessageAttributes={
                # Transactional: delivered at once and outside marketing limits.
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            },
        )
        return True
