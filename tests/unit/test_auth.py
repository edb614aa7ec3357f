from datetime import UTC, datetime, timedelta

import pytest

from lending.auth import Role, SessionIssuer, require, sandbox_subject
from lending.errors import Forbidden, Unauthorized
from tests.fakes import FakeMac

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_issued_token_verifies_to_the_same_principal() -> None:
    issuer = SessionIssuer(FakeMac())
    token = issuer.issue("U1", Role.BANK, NOW, funder_id="bank-a")
    who = issuer.verify(token, NOW + timedelta(minutes=5))
    assert (who.subject, who.role, who.funder_id) == ("U1", Role.BANK, "bank-a")


def test_tampered_claims_are_rejected() -> None:
    issuer = SessionIssuer(FakeMac())
    token = issuer.issue("U1", Role.APPLICANT, NOW)
    claims, mac = token.split(".")
    forged = issuer.issue("U1", Role.ADMIN, NOW).split(".")[0]
    with pytest.raises(Unauthorized):
        issuer.verify(f"{forged}.{mac}", NOW)
    with pytest.raises(Unauthorized):
        issuer.verify(claims, NOW)
    with pytest.raises(Unauthorized):
        issuer.verify("not-a-token.at-all", NOW)


def test_expired_token_is_rejected() -> None:
    issuer = SessionIssuer(FakeMac(), ttl=timedelta(minutes=10))
    token = issuer.issue("U1", Role.APPLICANT, NOW)
    with pytest.raises(Unauthorized, match="expired"):
        issuer.verify(token, NOW + timedelta(minutes=11))


def test_roles_are_enforced() -> None:
    issuer = SessionIssuer(FakeMac())
    who = issuer.verify(issuer.issue("U1", Role.APPLICANT, NOW), NOW)
    require(who, Role.APPLICANT)
    with pytest.raises(Forbidden):
        require(who, Role.REVIEWER)


def test_sandbox_subject_is_stable_and_opaque() -> None:
    assert sandbox_subject("abc") == sandbox_subject("abc")
    assert sandbox_subject("abc") != sandbox_subject("abd")
    assert "abc" not in sandbox_subject("abc")


class CountingMac(FakeMac):
    def __init__(self) -> None:
        self.verified = 0

    def verify(self, message: bytes, mac: bytes) -> bool:
        self.verified += 1
        return super().verify(message, mac)


def test_a_token_is_checked_by_the_key_once_and_still_expires() -> None:
    mac = CountingMac()
    issuer = SessionIssuer(mac, ttl=timedelta(minutes=10))
    token = issuer.issue("U1", Role.APPLICANT, NOW)
    for minutes in range(5):  # a page polling its application
        assert issuer.verify(token, NOW + timedelta(minutes=minutes)).subject == "U1"
    assert mac.verified == 1
    with pytest.raises(Unauthorized, match="expired"):
        issuer.verify(token, NOW + timedelta(minutes=11))


def test_a_refused_token_is_checked_again_every_time() -> None:
    mac = CountingMac()
    issuer = SessionIssuer(mac)
    claims = issuer.issue("U1", Role.APPLICANT, NOW).split(".")[0]
    forged = f"{claims}.{issuer.issue('U2', Role.APPLICANT, NOW).split('.')[1]}"
    for _ in range(3):
        with pytest.raises(Unauthorized):
            issuer.verify(forged, NOW)
    assert mac.verified == 3
