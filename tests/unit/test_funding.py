from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import get_args

import pytest

from lending.api.schemas import Purpose
from lending.funding.model import (
    Funder,
    FundRequestBody,
    NoFunderAvailable,
    application_of,
    candidates,
    fund_request_id,
    reserve_funder,
    sign_fund_request,
    verify_fund_request,
)
from lending.scoring.profile import PURPOSE_TO_MODEL
from tests.fakes import FakeFunders, FakeSigner


def funder(
    fid: str, cost: int, quota: int, used: int = 0, products: tuple[str, ...] = ("p",)
) -> Funder:
    return Funder(
        id=fid,
        name=fid,
        kind="bank",
        products=list(products),
        quota_fen=quota,
        used_fen=used,
        cost_of_funds_bps=cost,
    )


def test_cheapest_fitting_funder_first() -> None:
    found = candidates(
        [
            funder("dear", 500, 10_000),
            funder("cheap", 300, 10_000),
            funder("full", 100, 10_000, 9_999),
            funder("other", 50, 10_000, products=("q",)),
        ],
        "p",
        5_000,
    )
    assert [f.id for f in found] == ["cheap", "dear"]


def test_reservation_is_idempotent_and_never_overdraws() -> None:
    repo = FakeFunders({"a": funder("a", 300, 10_000), "b": funder("b", 400, 10_000)})
    assert reserve_funder(repo, "A1", "p", 8_000) == "a"
    assert reserve_funder(repo, "A1", "p", 8_000) == "a"  # a retried step
    assert repo.funders["a"].used_fen == 8_000
    assert reserve_funder(repo, "A2", "p", 8_000) == "b"  # a is too full now
    with pytest.raises(NoFunderAvailable):
        reserve_funder(repo, "A3", "p", 8_000)


def test_a_funder_that_refused_is_not_asked_again() -> None:
    repo = FakeFunders({"a": funder("a", 300, 10_000), "b": funder("b", 400, 10_000)})
    assert reserve_funder(repo, "A1", "p", 8_000) == "a"
    assert repo.release("A1") and not repo.release("A1")
    assert reserve_funder(repo, "A1", "p", 8_000, refused_by={"a"}) == "b"
    assert reserve_funder(repo, "A1", "p", 8_000, refused_by={"a"}) == "b"  # retried
    assert (repo.funders["a"].used_fen, repo.funders["b"].used_fen) == (0, 8_000)
    assert repo.release("A1")
    with pytest.raises(NoFunderAvailable):
        reserve_funder(repo, "A1", "p", 8_000, refused_by={"a", "b"})


def test_each_funder_asked_gets_its_own_request_id() -> None:
    ids = [fund_request_id("A2026abc", attempt) for attempt in range(3)]
    assert ids == ["F2026abc", "F2026abc.1", "F2026abc.2"]
    assert {application_of(i) for i in ids} == {"A2026abc"}


def test_fund_requests_verify_with_the_public_key_alone() -> None:
    signer = FakeSigner()
    body = FundRequestBody(
        fund_request_id="F1",
        application_id="A1",
        funder_id="bank-a",
        amount_fen=30_000_00,
        term_months=12,
        annual_rate="0.0890",
        repayment_method="equal_instalment",
        payee_name="张三",
        payee_account="6222020000000000000",
        contract_sha256=hashlib.sha256(b"pdf").hexdigest(),
        requested_at=datetime.now(UTC),
    )
    message = sign_fund_request(body, signer)
    assert message["body"]["schema"] == "fund-request/v1"
    assert verify_fund_request(message, signer.public_key_pem())
    tampered = {**message, "body": {**message["body"], "amount_fen": 30_000_01}}
    assert not verify_fund_request(tampered, signer.public_key_pem())
    assert not verify_fund_request({"body": {}}, signer.public_key_pem())
    assert not verify_fund_request(message, FakeSigner().public_key_pem())


def test_api_purposes_match_the_model_vocabulary() -> None:
    assert set(get_args(Purpose)) == set(PURPOSE_TO_MODEL)
