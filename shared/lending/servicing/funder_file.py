"""A funder's daily repayment file: one CSV per funder and business day.

What the funder reconciles against its own books: each payment on its loans that day, with
our loan id, its own reference for the loan (the payout reference), the channel's serial,
and the split into principal, interest, overdue interest and fee. The part of a payment
held as a credit for the borrower is not the funder's money (yet), so it is left out, and a
payment held wholly as a credit has no row. Amounts are yuan with 2 decimals, exact from
fen; the last row totals the others. The file is ASCII-only unless a reference is not, and
has no BOM: it is read by the funder's systems first.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import date

from lending.servicing.digest import PaymentRow, csv_text, plain_yuan

FUNDER_FILE_HEADER = (
    "business_day",
    "loan_id",
    "funder_loan_ref",
    "channel_serial",
    "channel",
    "principal_yuan",
    "interest_yuan",
    "overdue_interest_yuan",
    "fee_yuan",
    "total_yuan",
)
TOTAL_LABEL = "TOTAL"  # in the business_day column of the last row
_FUNDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # safe as one S3 key segment


def funder_file_name(funder_id: str, day: date) -> str:
    """The S3 key of the file, e.g. funders/bank-a/repayments/2026-03-02.csv."""
    if not _FUNDER_ID.fullmatch(funder_id):
        raise ValueError(f"funder id {funder_id!r} is not a safe key segment")
    return f"funders/{funder_id}/repayments/{day.isoformat()}.csv"


def _shares(p: PaymentRow) -> tuple[int, int, int, int]:
    return p.principal_fen, p.interest_fen, p.overdue_interest_fen, p.fee_fen


def funder_rows(funder_id: str, day: date, payments: Iterable[PaymentRow]) -> list[PaymentRow]:
    """The funder's payments of the day that repaid it something, by loan id and serial."""
    mine = [
        p for p in payments if p.funder_id == funder_id and p.day == day and sum(_shares(p)) > 0
    ]
    return sorted(mine, key=lambda p: (p.loan_id, p.reference))


def funder_file_csv(
    funder_id: str, day: date, payments: Iterable[PaymentRow], references: Mapping[str, str]
) -> str:
    """The file's text (encode as UTF-8). `payments` may hold other funders' and other days'
    rows: only this funder's of `day` are written. `references` maps our loan id to the
    funder's reference for it; a loan without one is an error (the funder cannot match it)."""
    rows = funder_rows(funder_id, day, payments)
    missing = sorted({p.loan_id for p in rows if not references.get(p.loan_id)})
    if missing:
        raise ValueError(f"no funder reference for loans {', '.join(missing)}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FUNDER_FILE_HEADER)
    totals = [0, 0, 0, 0]
    for p in rows:
        shares = _shares(p)
        totals = [t + s for t, s in zip(totals, shares, strict=True)]
        writer.writerow(
            (
                p.day.isoformat(),
                csv_text(p.loan_id),
                csv_text(references[p.loan_id]),
                csv_text(p.reference),
                p.channel,
                *(plain_yuan(s) for s in shares),
                plain_yuan(sum(shares)),
            )
        )
    writer.writerow(
        (TOTAL_LABEL, "", "", "", "", *(plain_yuan(t) for t in totals), plain_yuan(sum(totals)))
    )
    return out.getvalue()
