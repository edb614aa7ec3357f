"""Offer and SignContract: make the offer, then render, hash, sign and store the contract.

Only the applicant's recorded answer counts: the contract is signed only if it accepted,
whatever resumed the wait.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lending.applications.model import ApplicantDetails, Application, ContractRecord, Status
from lending.applications.ports import DocumentStore
from lending.applications.privacy import open_applicant
from lending.contracts import ContractTerms, contract_digest, render_contract
from lending.errors import Conflict
from lending.finance import get_product
from lending.identity.checks import mask_id_number, mask_name
from lending.loans.model import OVERDUE_ANNUAL_RATE
from lending.origination.base import Step
from lending.origination.booking import offer_schedule
from lending.origination.states import ContractSigned, Waiting
from lending.ports import Cipher, Signer

LENDER_NAME = "示例小额贷款有限公司 (Example Microcredit Co., Ltd.)"
PRIVACY_CONTACT = "privacy@lender.example"


def contract_terms(app: Application, applicant: ApplicantDetails, now: datetime) -> ContractTerms:
    """What the contract of `app`'s offer says, issued at `now`: one source for the signed
    PDF and for the preview the borrower reads before accepting."""
    if app.offer is None:
        raise Conflict("no offer to sign", "no_offer")
    product = get_product(app.product_id)
    return ContractTerms(
        contract_number="C" + app.id[1:],
        lender_name=LENDER_NAME,
        borrower_name_masked=mask_name(applicant.name),
        borrower_id_masked=mask_id_number(applicant.id_number),
        product_name_zh=product.name_zh,
        product_name_en=product.name_en,
        schedule=offer_schedule(app.offer, now.date()),
        apr=Decimal(app.offer.apr),
        total_fees_fen=app.offer.total_repayment_fen
        - app.offer.amount_fen
        - app.offer.total_interest_fen,
        overdue_annual_rate=OVERDUE_ANNUAL_RATE,
        privacy_contact=PRIVACY_CONTACT,
        issued_at=now,
    )


@dataclass
class OfferStep(Step):
    def offer(self, application_id: str, token: str) -> Waiting:
        app = self._load(application_id)
        if app.offer is None:
            raise Conflict("no offer to make", "no_offer")
        app.tokens["offer"] = token
        app.tokens.pop("review", None)
        app.status = Status.OFFERED
        self._save(app, "offered", amount_fen=app.offer.amount_fen, rate=app.offer.annual_rate)
        return Waiting(application_id=application_id)


@dataclass
class ContractSigning(Step):
    documents: DocumentStore
    cipher: Cipher
    signer: Signer

    def sign_contract(self, application_id: str) -> ContractSigned:
        app = self._load(application_id)
        if app.contract is not None:
            return ContractSigned(sha256=app.contract.sha256_hex)
        if app.offer is None:
            raise Conflict("no offer to sign", "no_offer")
        if app.offer_answer is None or not app.offer_answer.accepted:
            raise Conflict("the applicant has not accepted the offer", "not_accepted")
        now = self.clock.now()
        terms = contract_terms(app, open_applicant(self.cipher, app), now)
        pdf = render_contract(terms)
        digest = contract_digest(pdf)
        signature = self.signer.sign_digest(digest)
        key = f"contracts/{app.id}/contract.pdf"
        self.documents.put(key, pdf, "application/pdf")
        app.contract = ContractRecord(
            key=key,
            sha256_hex=digest.hex(),
            signature_b64=base64.b64encode(signature).decode(),
            signing_key_id=self.signer.key_id,
            algorithm="RSASSA_PKCS1_V1_5_SHA_256",
            signed_at=now,
        )
        app.status = Status.SIGNED
        app.tokens.pop("offer", None)
        self._save(app, "contract_signed", sha256=digest.hex())
        return ContractSigned(sha256=digest.hex())
