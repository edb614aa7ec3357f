"""Manual reviews that wait too long are escalated by the scheduled sweep (clock-driven)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from infra.localcloud import LocalCloud
from infra.localcloud.miniprogram import Applicant, Reviewer

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
SWEEPER = {"ReviewSweeperFunction"}


@pytest.fixture
def rewind(cloud: LocalCloud) -> Iterator[None]:
    """Put the shared cloud's clock back afterwards: other tests' sessions must not expire.
    Only the sweeper fires meanwhile: a night fired now would fire again, under the same
    execution name, when the servicing tests reach that hour."""
    before = cloud.clock.now()
    yield
    cloud.clock.advance(before - cloud.clock.now())


def test_a_review_waiting_past_the_limit_is_escalated_once(
    rewind: None,
    cloud: LocalCloud,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
) -> None:
    applicant = applicants()
    cast(applicant, "review", pick=3)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.submit()
    assert applicant.wait_for("in_review", timeout=90)["status"] == "in_review"
    reviewer = Reviewer(cloud.api_url, code="escalation-reviewer")

    def case() -> dict[str, object]:
        reviewer.sign_in()  # sessions expire as the clock moves on
        return next(c for c in reviewer.queue() if c["application_id"] == applicant.application_id)

    assert [f.logical_id for f in cloud.tick(timedelta(hours=1), SWEEPER)] == [
        "ReviewSweeperFunction"
    ]
    assert case()["escalated"] is False
    swept = [f.logical_id for f in cloud.tick(timedelta(hours=4), SWEEPER)]
    assert swept and set(swept) == SWEEPER
    assert case()["escalated"] is True
    cloud.tick(timedelta(hours=1), SWEEPER)  # a later sweep leaves it alone
    applicant.sign_in()
    events = [e["type"] for e in applicant.status()["events"]]
    assert events.count("review_escalated") == 1
    # The escalated case is still decided by a reviewer and carries on.
    reply = reviewer.decide(
        applicant.application_id,
        "decline",
        [{"code": "M02", "message": "senior reviewer: not affordable"}],
    )
    assert reply.status == 202
    assert applicant.wait_for(timeout=60)["status"] == "declined"
