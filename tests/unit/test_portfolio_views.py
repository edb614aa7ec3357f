"""Finance's portfolio pages on fakes: due by day, overdue by bucket, the five-tier mix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lending.auth import Principal, Role
from lending.errors import Forbidden, InvalidRequest
from lending.servicing.account import LoanStatus
from lending.servicing.delinquency import Tier, bucket
from lending.servicing.digest import DueRow
from lending.servicing.nightly import SHARDS, LoanState, NightReport, night_report, shard_of
from lending.servicing.portfolio_views import MAX_DUE_DAYS, PortfolioViews

DAY = date(2026, 12, 1)
FINANCE = Principal(subject="F1", role=Role.FINANCE, expires_at=datetime(2099, 1, 1, tzinfo=UTC))


def state(loan_id: str, dpd: int, principal: int, tier: Tier | None = None) -> LoanState:
    return LoanState(
        loan_id=loan_id,
        funder_id="bank-a",
        product_id="consumer-flex",
        as_of=DAY,
        ledger_seq=3,
        status=LoanStatus.OVERDUE if dpd else LoanStatus.CURRENT,
        days_past_due=dpd,
        bucket=bucket(dpd),
        tier=tier or (Tier.SPECIAL_MENTION if dpd else Tier.NORMAL),
        principal_outstanding_fen=principal,
        due_now_fen=principal // 10,
        credit_fen=0 if dpd else 500,
    )


@dataclass
class Watch:
    states: list[LoanState]
    asked: list[int] = field(default_factory=list)

    def watched(self, shard: int) -> list[LoanState]:
        self.asked.append(shard)
        return [s for s in self.states if shard_of(s.loan_id) == shard]


@dataclass
class Due:
    rows: list[DueRow]

    def due(self, first: date, last: date) -> list[DueRow]:
        return [r for r in self.rows if first <= r.due_date <= last]


@dataclass
class Nights:
    reports: dict[date, NightReport]

    def last(self) -> date | None:
        return max(self.reports, default=None)

    def report(self, day: date) -> NightReport | None:
        return self.reports.get(day)


STATES = [
    state("L1", 5, 10_000_00),
    state("L2", 40, 20_000_00),
    state("L3", 95, 30_000_00, Tier.SUBSTANDARD),
    state("L4", 12, 5_000_00),
    state("L5", 0, 7_000_00),  # holding a credit: watched, not overdue
]


def views(states: list[LoanState] = STATES, rows: list[DueRow] | None = None) -> PortfolioViews:
    report = night_report(DAY, states, 200_000_00)
    return PortfolioViews(Watch(states), Due(rows or []), Nights({DAY: report}))


def test_overdue_loans_by_bucket_longest_first_from_every_shard() -> None:
    pages = views()
    shown = pages.overdue(FINANCE)
    assert pages.watch.asked == list(range(SHARDS))  # type: ignore[attr-defined]
    by = {b["bucket"]: b for b in shown["buckets"]}
    assert list(by) == ["M1", "M2", "M3", "M3+"]
    assert [r["loan_id"] for r in by["M1"]["rows"]] == ["L4", "L1"]
    assert by["M1"]["principal_fen"] == 15_000_00 and by["M1"]["loans"] == 2
    assert by["M2"]["loans"] == 1 and by["M3"]["loans"] == 0
    assert by["M3+"]["rows"][0]["tier"] == "次级"
    assert shown["as_of"] == DAY.isoformat()
    assert all(r["loan_id"] != "L5" for b in shown["buckets"] for r in b["rows"])


def test_the_five_tiers_add_up_to_the_outstanding_and_give_the_npl_ratio() -> None:
    mix = views().mix(FINANCE)
    tiers = {t["tier"]: t for t in mix["tiers"]}
    assert list(tiers) == ["正常", "关注", "次级", "可疑", "损失"]
    assert sum(t["principal_fen"] for t in mix["tiers"]) == mix["outstanding_fen"] == 200_000_00
    assert tiers["次级"]["principal_fen"] == 30_000_00 and tiers["次级"]["npl"]
    assert tiers["正常"]["loans"] is None  # the night counts watched loans only
    assert Decimal(mix["npl_ratio"]) == Decimal("0.15")
    empty = PortfolioViews(Watch([]), Due([]), Nights({})).mix(FINANCE)
    assert empty["day"] is None and empty["npl_ratio"] is None


def test_due_by_day_within_a_week() -> None:
    rows = [
        DueRow("L1", 2, "bank-a", "consumer-flex", DAY, 1_000_00),
        DueRow("L2", 1, "bank-b", "consumer-flex", DAY, 2_500_00),
        DueRow("L3", 4, "bank-a", "consumer-flex", date(2026, 12, 3), 700_00),
    ]
    due = views(rows=rows).due_between(FINANCE, DAY, date(2026, 12, 3))
    assert [d["count"] for d in due["days"]] == [2, 0, 1]
    assert due["days"][0]["amount_fen"] == 3_500_00
    with pytest.raises(InvalidRequest):
        views().due_between(FINANCE, DAY, date(2026, 12, 1 + MAX_DUE_DAYS))
    with pytest.raises(InvalidRequest):
        views().due_between(FINANCE, DAY, date(2026, 11, 30))


def test_only_finance_and_admins() -> None:
    reviewer = FINANCE.model_copy(update={"role": Role.REVIEWER})
    for call in (
        lambda: views().overdue(reviewer),
        lambda: views().mix(reviewer),
        lambda: views().due_between(reviewer, DAY, DAY),
    ):
        with pytest.raises(Forbidden):
            call()
