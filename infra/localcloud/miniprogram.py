"""What the WeChat mini-program does, over HTTP on loopback: the demo and e2e tests use it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from infra.localcloud.http import Reply, call, post_form
from infra.localcloud.wechat import FakeWeChat
from lending.documents.kinds import DocumentKind
from lending.sandbox.identities import SyntheticIdentity

TERMINAL = {"disbursed", "declined", "withdrawn", "failed"}
CONSUMER_DOCS = (DocumentKind.ID_FRONT, DocumentKind.ID_BACK, DocumentKind.BANK_CARD)
BUSINESS_DOCS = (*CONSUMER_DOCS, DocumentKind.BUSINESS_LICENCE)


class ApiError(RuntimeError):
    def __init__(self, reply: Reply) -> None:
        super().__init__(f"HTTP {reply.status}: {reply.body}")
        self.reply = reply


def session(
    api_url: str, code: str, role: str = "applicant", funder_id: str | None = None
) -> dict[str, Any]:
    """The sandbox login's answer: the token and the subject (a mini-program user's openid)."""
    body: dict[str, Any] = {"code": code, "role": role}
    if funder_id:
        body["funder_id"] = funder_id
    reply = call("POST", f"{api_url}/v1/sessions", body)
    if reply.status != 201:
        raise ApiError(reply)
    return dict(reply.body)


def login(api_url: str, code: str, role: str = "applicant", funder_id: str | None = None) -> str:
    return str(session(api_url, code, role, funder_id)["token"])


@dataclass
class Applicant:
    """One applicant with their identity, documents and session."""

    api_url: str
    identity: SyntheticIdentity
    product_id: str = "consumer-flex"
    amount_fen: int = 30_000_00
    term_months: int = 12
    repayment_method: str = "equal_instalment"
    purpose: str = "electronics"
    monthly_income_fen: int = 15_000_00
    monthly_debt_fen: int = 1_000_00
    noise: str = "clean"
    # What the applicant types in may differ from their documents (the mismatch path).
    declared_name: str | None = None
    token: str = ""
    openid: str = ""
    application_id: str = ""
    replies: list[Reply] = field(default_factory=list)

    @property
    def business(self) -> bool:
        return self.product_id.startswith("business")

    def sign_in(self) -> None:
        answer = session(self.api_url, self.sandbox_code())
        self.token, self.openid = str(answer["token"]), str(answer["subject"])

    def allow_reminders(self, wechat: FakeWeChat, times: int = 1) -> None:
        """wx.requestSubscribeMessage for the reminder template, and the tap on 允许 (with
        "always keep this choice" unticked: one message per tap, as WeChat counts)."""
        wechat.subscribe(self.openid, wechat.template_id, times)

    def _call(self, method: str, path: str, body: Any = None) -> Reply:
        reply = call(method, f"{self.api_url}{path}", body, token=self.token)
        self.replies.append(reply)
        return reply

    def application_body(self) -> dict[str, Any]:
        who = self.identity
        applicant: dict[str, Any] = {
            "name": self.declared_name or who.name,
            "id_number": who.id_number,
            "phone": who.phone,
            "address": who.address,
            "bank_card_number": who.bank_card_number,
            "monthly_income_fen": self.monthly_income_fen,
            "monthly_debt_fen": self.monthly_debt_fen,
        }
        if self.business:
            applicant["company_name"] = who.company_name
            applicant["credit_code"] = who.credit_code
        return {
            "product_id": self.product_id,
            "amount_fen": self.amount_fen,
            "term_months": self.term_months,
            "repayment_method": self.repayment_method,
            "purpose": self.purpose,
            "applicant": applicant,
            "consent": {"personal_information": True, "credit_inquiry": True},
        }

    def apply(self) -> Reply:
        reply = self._call("POST", "/v1/applications", self.application_body())
        if reply.status != 201:
            raise ApiError(reply)
        self.application_id = str(reply.body["id"])
        return reply

    def upload_documents(self, seed: int = 0) -> None:
        from lending.sandbox.documents import render_document

        for kind in BUSINESS_DOCS if self.business else CONSUMER_DOCS:
            image = render_document(kind, self.identity, noise=self.noise, seed=seed)  # type: ignore[arg-type]
            self.upload(kind.value, image, "image/jpeg")

    def upload(self, kind: str, data: bytes, content_type: str) -> int:
        reply = self._call(
            "POST",
            f"/v1/applications/{self.application_id}/documents",
            {"kind": kind, "content_type": content_type, "size": len(data)},
        )
        if reply.status != 201:
            raise ApiError(reply)
        status = post_form(reply.body["url"], reply.body["fields"], data, content_type)
        if status not in (200, 201, 204):
            raise RuntimeError(f"upload of {kind} refused by storage: HTTP {status}")
        return status

    def submit(self) -> Reply:
        return self._call("POST", f"/v1/applications/{self.application_id}/submit")

    def status(self) -> dict[str, Any]:
        reply = self._call("GET", f"/v1/applications/{self.application_id}")
        if reply.status != 200:
            raise ApiError(reply)
        body: dict[str, Any] = reply.body
        return body

    def wait_for(
        self,
        *statuses: str,
        timeout: float = 60.0,
        poll_seconds: float = 0.05,
        backoff: float = 1.0,
        max_poll_seconds: float = 30.0,
    ) -> dict[str, Any]:
        """Poll like the mini-program's progress page until a status (or a terminal one):
        `poll_seconds` after a change of status, `backoff` times longer each time it is
        the same, at most `max_poll_seconds`."""
        deadline = time.monotonic() + timeout
        wanted = set(statuses) | TERMINAL
        delay, last = poll_seconds, None
        while True:
            view = self.status()
            if view["status"] in wanted:
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.application_id} stuck in {view['status']}")
            same = view["status"] == last
            delay = min(max_poll_seconds, delay * backoff) if same else poll_seconds
            last = view["status"]
            time.sleep(delay)

    def wait_for_event(self, event_type: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until the application's history has an event of this type."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.status()
            if event_type in [e["type"] for e in view["events"]]:
                return view
            if view["status"] in TERMINAL or time.monotonic() > deadline:
                raise TimeoutError(f"{self.application_id}: no {event_type} ({view['status']})")
            time.sleep(0.05)

    def answer_offer(self, accept: bool) -> Reply:
        return self._call(
            "POST",
            f"/v1/applications/{self.application_id}/offer",
            {"accept": accept, "contract_read": accept},
        )

    # -- after the loan -------------------------------------------------------------------

    def loan(self, loan_id: str) -> dict[str, Any]:
        """The borrower's loan and its statement of today (`GET /v1/loans/{id}`)."""
        reply = self._call("GET", f"/v1/loans/{loan_id}")
        if reply.status != 200:
            raise ApiError(reply)
        body: dict[str, Any] = reply.body
        return body

    def loans(self) -> list[dict[str, Any]]:
        """The borrower's own loans (`GET /v1/loans`)."""
        reply = self._call("GET", "/v1/loans")
        if reply.status != 200:
            raise ApiError(reply)
        loans: list[dict[str, Any]] = reply.body["loans"]
        return loans

    def sandbox_code(self) -> str:
        """The login code this applicant signs in with (the H5 app keeps one per browser)."""
        return f"wx-{self.identity.id_number[-8:]}-{self.product_id}"

    def repay(
        self, loan_id: str, amount_fen: int | None = None, settle: bool = False
    ) -> dict[str, Any]:
        """Pay an amount from the bound card, or settle in full: the order, still pending."""
        request: dict[str, Any] = {"settle": True} if settle else {"amount_fen": amount_fen}
        reply = self._call("POST", f"/v1/loans/{loan_id}/repayments", request)
        if reply.status != 202:
            raise ApiError(reply)
        body: dict[str, Any] = reply.body
        return body

    def repayment(self, loan_id: str, order_id: str) -> dict[str, Any]:
        reply = self._call("GET", f"/v1/loans/{loan_id}/repayments/{order_id}")
        if reply.status != 200:
            raise ApiError(reply)
        body: dict[str, Any] = reply.body
        return body

    def wait_for_repayment(
        self, loan_id: str, order_id: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll the order until the payment channel has answered it."""
        deadline = time.monotonic() + timeout
        while True:
            order = self.repayment(loan_id, order_id)
            if order["status"] != "pending":
                return order
            if time.monotonic() > deadline:
                raise TimeoutError(f"repayment {order_id} still pending")
            time.sleep(0.05)

    def with_identity(self, identity: SyntheticIdentity) -> Applicant:
        return replace(self, identity=identity, token="", application_id="", replies=[])


@dataclass
class Reviewer:
    api_url: str
    code: str = "reviewer-1"
    token: str = ""

    def sign_in(self) -> None:
        self.token = login(self.api_url, self.code, role="reviewer")

    def queue(self) -> list[dict[str, Any]]:
        reply = call("GET", f"{self.api_url}/v1/reviews", token=self.token)
        if reply.status != 200:
            raise ApiError(reply)
        cases: list[dict[str, Any]] = reply.body["cases"]
        return cases

    def case(self, application_id: str) -> Reply:
        """The case page's data (`GET /v1/reviews/{id}`): masked fields, images, scores."""
        return call("GET", f"{self.api_url}/v1/reviews/{application_id}", token=self.token)

    def decide(self, application_id: str, decision: str, reasons: list[dict[str, str]]) -> Reply:
        return call(
            "POST",
            f"{self.api_url}/v1/reviews/{application_id}",
            {"decision": decision, "reasons": reasons},
            token=self.token,
        )
