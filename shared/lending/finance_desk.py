"""Finance's console: the funders' positions, the mornings that have a digest, and the
funders' daily settlement files, downloaded through short-lived presigned GETs.

Nothing here lists a bucket: the digest of a day and a funder's file of a day have known
keys (`reports/finance/<day>/digest.json`, `funders/<id>/repayments/<day>.csv`), so a
window of days is probed key by key (a HEAD each, bounded by MAX_WINDOW_DAYS), which
needs s3:GetObject on those prefixes only, never s3:ListBucket on the whole bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from lending.auth import Principal, Role, require
from lending.errors import InvalidRequest, NotFound
from lending.funding.model import Funder
from lending.servicing.digest import is_working_day
from lending.servicing.finance_reports import digest_key
from lending.servicing.funder_file import funder_file_name

MAX_WINDOW_DAYS = 62
DEFAULT_WINDOW_DAYS = 31
# A settlement file's download link is good for this long after finance asked for it.
FILE_URL_SECONDS = 300


class FunderBook(Protocol):
    def standing(self, funder_id: str) -> tuple[Funder, int] | None:
        """The funder and the principal it has had back, in all."""


class FileShelf(Protocol):
    def exists(self, key: str) -> bool: ...

    def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str: ...


_FUNDER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def check_funder_id(funder_id: str) -> str:
    if _FUNDER_ID.fullmatch(funder_id) is None:
        raise InvalidRequest("not a funder id", "invalid_funder_id")
    return funder_id


def window(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """[first, last], by default the last DEFAULT_WINDOW_DAYS days to today; at most
    MAX_WINDOW_DAYS days, never reversed."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if first > last:
        raise InvalidRequest("from is after to", "invalid_window")
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise InvalidRequest(f"at most {MAX_WINDOW_DAYS} days at a time", "invalid_window")
    return first, last


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass
class FinanceDesk:
    funders: FunderBook
    funder_ids: list[str]
    files: FileShelf

    def positions(self, who: Principal) -> list[dict[str, Any]]:
        """Each funder's quota, quota in use, principal outstanding and repaid."""
        require(who, Role.FINANCE, Role.ADMIN)
        out = []
        for funder_id in self.funder_ids:
            standing = self.funders.standing(funder_id)
            if standing is None:
                continue
            f, repaid_fen = standing
            out.append(
                {
                    "funder_id": f.id,
                    "name": f.name,
                    "kind": f.kind,
                    "products": f.products,
                    "quota_fen": f.quota_fen,
                    "used_fen": f.used_fen,
                    "available_fen": f.quota_fen - f.used_fen,
                    "outstanding_fen": f.lent_fen,
                    "repaid_fen": repaid_fen,
                    # All principal the funder's booked loans were lent: outstanding + repaid.
                    "lent_fen": f.lent_fen + repaid_fen,
                    "cost_of_funds_bps": f.cost_of_funds_bps,
                }
            )
        return out

    def digest_days(self, who: Principal, first: date, last: date) -> list[date]:
        """The working days in [first, last] whose morning digest exists, newest first."""
        require(who, Role.FINANCE, Role.ADMIN)
        days = [d for d in _days(first, last) if is_working_day(d)]
        return [d for d in reversed(days) if self.files.exists(digest_key(d, "json"))]

    def _funder(self, funder_id: str) -> str:
        if funder_id not in self.funder_ids:
            raise NotFound("no such funder")
        return funder_id

    def settlement_days(
        self, who: Principal, funder_id: str, first: date, last: date
    ) -> list[date]:
        """The days in [first, last] with a repayment file for the funder, newest first."""
        require(who, Role.FINANCE, Role.ADMIN)
        self._funder(funder_id)
        return [
            d
            for d in reversed(_days(first, last))
            if self.files.exists(funder_file_name(funder_id, d))
        ]

    def settlement_link(self, who: Principal, funder_id: str, day: date) -> dict[str, Any]:
        """A presigned GET of the funder's file of `day`, downloaded as an attachment."""
        require(who, Role.FINANCE, Role.ADMIN)
        key = funder_file_name(self._funder(funder_id), day)
        if not self.files.exists(key):
            raise NotFound(f"no settlement file of {day.isoformat()} for {funder_id}")
        filename = f"{funder_id}-repayments-{day.isoformat()}.csv"
        return {
            "funder_id": funder_id,
            "day": day.isoformat(),
            "filename": filename,
            "url": self.files.presign_download(
                key, FILE_URL_SECONDS, content_type="text/csv; charset=utf-8", filename=filename
            ),
            "expires_in": FILE_URL_SECONDS,
        }
