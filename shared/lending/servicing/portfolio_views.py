"""Finance's portfolio pages: what falls due on given days, the overdue loans by bucket,
and the five-tier mix with the NPL ratio.

Each reads an index built for it (DESIGN §10), never the whole table: the due list the
sparse due-date index (one query per day and shard), the overdue list the sparse watch
index (one query per shard: only loans overdue, classified worse than 正常 or holding a
credit are in it), the mix last night's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from lending.auth import Principal, Role, require
from lending.errors import InvalidRequest
from lending.servicing.delinquency import Tier
from lending.servicing.finance_reports import DueInstalments, NightReports
from lending.servicing.nightly import SHARDS, Bucketed, LoanState

BUCKETS = ("M1", "M2", "M3", "M3+")
# A due list spans a week at most: 7 days x SHARDS queries of the due-date index.
MAX_DUE_DAYS = 7


class WatchedLoans(Protocol):
    def watched(self, shard: int) -> list[LoanState]: ...


@dataclass
class PortfolioViews:
    watch: WatchedLoans
    due: DueInstalments
    nights: NightReports

    def due_between(self, who: Principal, first: date, last: date) -> dict[str, Any]:
        """Instalments with something unpaid falling due on [first, last], by day."""
        require(who, Role.FINANCE, Role.ADMIN)
        if last < first or (last - first).days >= MAX_DUE_DAYS:
            raise InvalidRequest(
                f"a due list covers 1 to {MAX_DUE_DAYS} days, from <= to", "invalid_window"
            )
        rows = sorted(self.due.due(first, last), key=lambda r: (r.due_date, r.loan_id))
        days = []
        day = first
        while day <= last:
            of_day = [r for r in rows if r.due_date == day]
            days.append(
                {
                    "day": day.isoformat(),
                    "count": len(of_day),
                    "amount_fen": sum(r.amount_fen for r in of_day),
                    "instalments": [
                        {
                            "loan_id": r.loan_id,
                            "instalment": r.instalment,
                            "product_id": r.product_id,
                            "funder_id": r.funder_id,
                            "amount_fen": r.amount_fen,
                        }
                        for r in of_day
                    ],
                }
            )
            day += timedelta(days=1)
        return {"from": first.isoformat(), "to": last.isoformat(), "days": days}

    def overdue(self, who: Principal) -> dict[str, Any]:
        """The overdue loans by bucket (M1..M3+), longest overdue first, with totals."""
        require(who, Role.FINANCE, Role.ADMIN)
        states = [s for shard in range(SHARDS) for s in self.watch.watched(shard)]
        overdue = sorted(
            (s for s in states if s.days_past_due > 0),
            key=lambda s: (-s.days_past_due, s.loan_id),
        )
        as_of = max((s.as_of for s in overdue), default=None)
        buckets = []
        for name in BUCKETS:
            mine = [s for s in overdue if s.bucket == name]
            buckets.append(
                {
                    "bucket": name,
                    "loans": len(mine),
                    "principal_fen": sum(s.principal_outstanding_fen for s in mine),
                    "due_now_fen": sum(s.due_now_fen for s in mine),
                    "rows": [
                        {
                            "loan_id": s.loan_id,
                            "product_id": s.product_id,
                            "funder_id": s.funder_id,
                            "days_past_due": s.days_past_due,
                            "tier": s.tier.label_zh,
                            "judged": s.judged_tier is not None,
                            "principal_outstanding_fen": s.principal_outstanding_fen,
                            "due_now_fen": s.due_now_fen,
                        }
                        for s in mine
                    ],
                }
            )
        return {"as_of": as_of.isoformat() if as_of else None, "buckets": buckets}

    def mix(self, who: Principal) -> dict[str, Any]:
        """Last night's five-tier mix (principal; 正常 is the rest of the outstanding),
        the buckets and the NPL ratio (次级 + 可疑 + 损失 over all principal)."""
        require(who, Role.FINANCE, Role.ADMIN)
        last = self.nights.last()
        report = self.nights.report(last) if last else None
        if report is None:
            return {
                "day": None,
                "outstanding_fen": 0,
                "tiers": [],
                "buckets": [],
                "npl_ratio": None,
            }
        worse = sum(b.principal_fen for b in report.tiers.values())
        tiers = []
        for tier in Tier:
            held = report.tiers.get(tier.label_zh, Bucketed())
            normal = tier is Tier.NORMAL
            tiers.append(
                {
                    "tier": tier.label_zh,
                    "npl": tier.non_performing,
                    # The night counts the loans of the watched tiers only.
                    "loans": None if normal else held.loans,
                    "principal_fen": report.outstanding_fen - worse
                    if normal
                    else held.principal_fen,
                }
            )
        return {
            "day": report.day.isoformat(),
            "outstanding_fen": report.outstanding_fen,
            "tiers": tiers,
            "buckets": [
                {"bucket": name, **report.buckets[name].model_dump()}
                for name in BUCKETS
                if name in report.buckets
            ],
            "npl_ratio": str(report.npl_ratio),
            "watched_loans": report.watched_loans,
        }
