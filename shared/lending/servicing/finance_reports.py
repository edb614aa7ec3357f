"""Finance's mornings: the digest on working days (CSV kept and emailed, the same figures
through the API) and every funder's repayment file for each day.

Run daily at 08:30 China time: each morning writes the funders' files of yesterday (a
funder reconciles every day, weekends included); on a working day it also builds the
digest of the collection window (the days since the last working day), from the night's
report (buckets, tiers, NPL ratio), the due-date index and the payments recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from lending.auth import Principal, Role, require
from lending.errors import NotFound
from lending.servicing.collections import Collections
from lending.servicing.delinquency import Tier
from lending.servicing.digest import (
    INFLOW_DAYS,
    BucketTotal,
    Digest,
    DueRow,
    FunderPosition,
    TierTotal,
    build_digest,
    collection_window,
    digest_csv,
    digest_email,
    is_working_day,
)
from lending.servicing.funder_file import funder_file_csv, funder_file_name
from lending.servicing.nightly import NightReport


class DueInstalments(Protocol):
    def due(self, first: date, last: date) -> list[DueRow]: ...


class NightReports(Protocol):
    def last(self) -> date | None: ...

    def report(self, day: date) -> NightReport | None: ...


class FunderPositions(Protocol):
    def positions(self) -> list[FunderPosition]: ...


class Delivery(Protocol):
    def put(self, key: str, body: str, content_type: str = ...) -> None: ...

    def get(self, key: str) -> str | None: ...

    def email(self, subject: str, body: str, attachment_name: str, attachment: str) -> None: ...


def digest_key(day: date, suffix: str) -> str:
    return f"reports/finance/{day.isoformat()}/digest.{suffix}"


@dataclass
class FinanceReports:
    due: DueInstalments
    collections: Collections
    nights: NightReports
    funders: FunderPositions
    delivery: Delivery

    def morning(self, today: date) -> Digest | None:
        """Yesterday's funder files; on a working day, the digest (None otherwise)."""
        self.funder_files(today - timedelta(days=1))
        if not is_working_day(today):
            return None
        return self.digest_of(today)

    def funder_files(self, day: date) -> list[str]:
        payments = self.collections.payments(day, day)
        references = {row.loan_id: reference for row, reference in payments}
        rows = [row for row, _ in payments]
        keys = []
        for position in self.funders.positions():
            key = funder_file_name(position.funder_id, day)
            self.delivery.put(key, funder_file_csv(position.funder_id, day, rows, references))
            keys.append(key)
        return keys

    def digest_of(self, today: date) -> Digest:
        first, last = collection_window(today)
        night = self._night(today)
        digest = build_digest(
            today,
            due=self.due.due(today, today + timedelta(days=INFLOW_DAYS - 1)),
            payments=[row for row, _ in self.collections.payments(first, last)],
            failed_debits=self.collections.failures(first, last),
            buckets=[
                BucketTotal(bucket=name, loans=b.loans, principal_fen=b.principal_fen)
                for name, b in (night.buckets.items() if night else ())
            ],
            tiers=[
                TierTotal(tier=tier, loans=b.loans, principal_fen=b.principal_fen)
                for tier in Tier
                if night and tier.label_zh in night.tiers
                for b in [night.tiers[tier.label_zh]]
            ],
            funders=self.funders.positions(),
            credits_held_fen=night.credits_held_fen if night else 0,
            collected_from=first,
        )
        csv = digest_csv(digest)
        self.delivery.put(digest_key(today, "csv"), csv)
        self.delivery.put(digest_key(today, "json"), digest.model_dump_json(), "application/json")
        subject, body = digest_email(digest)
        self.delivery.email(subject, body, f"finance-digest-{today.isoformat()}.csv", csv)
        return digest

    def _night(self, today: date) -> NightReport | None:
        """Last night's report, or the latest one if last night's job did not finish."""
        report = self.nights.report(today)
        if report is None and (last := self.nights.last()) is not None:
            report = self.nights.report(last)
        return report

    def digest(self, who: Principal, day: date) -> Digest:
        """A morning's digest, for finance."""
        require(who, Role.FINANCE, Role.ADMIN)
        stored = self.delivery.get(digest_key(day, "json"))
        if stored is None:
            raise NotFound(f"no digest for {day.isoformat()} (working mornings only)")
        return Digest.model_validate_json(stored)
