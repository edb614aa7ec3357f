"""The finance digest: what the finance team reads at 08:30 China time on each working day.

The adapter reads rows from the ledger and the funders' table; everything here is pure
(integer fen, no AWS, no clock). The digest has these sections:

* due today and due tomorrow (calendar days): the instalments falling due and what is still
  unpaid of them, by funder and by product;
* collected: the payments of the collection window, by channel and by component; and the
  failed debits, by failure code. The window is yesterday, or, on the first working day
  after a weekend or a holiday, every day since the last working day (`collection_window`),
  so that no day's money goes unreported;
* overdue loans by bucket (M1, M2, M3, M3+);
* the five tiers (五级分类) and the NPL ratio. The adapter gives the totals of the loans
  not in 正常; 正常's principal is what is left of all outstanding principal (the funders'
  `outstanding_fen` summed), so the tiers always add up to what the funders report; its
  loan count is not known here (None);
* the expected inflow of the next 7 days (today..today+6), per day;
* each funder's quota, used, outstanding and available (quota − used);
* the credits (overpayments) held for borrowers.

`digest_csv` and `digest_email` render it; neither carries personal data (no names, ID
numbers or phone numbers: the rows carry none to begin with).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from lending.finance.schedule import format_yuan
from lending.servicing.delinquency import Tier, npl_ratio

Channel = Literal["auto_debit", "borrower"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
CHANNEL_ZH: dict[str, str] = {"auto_debit": "自动扣款", "borrower": "主动还款"}
BUCKETS = ("M1", "M2", "M3", "M3+")
COMPONENTS = ("principal", "interest", "overdue_interest", "fee", "credit")
INFLOW_DAYS = 7

# -- working days ------------------------------------------------------------------------
# China's public holidays and the weekend days worked in exchange (调休). The State Council
# publishes each year's arrangement around November of the year before: add the next year
# then (and replace the provisional 2027 below), or `is_working_day` falls back to Mon–Fri.


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# 2026: the State Council's notice of November 2025.
_HOLIDAYS_2026 = (
    _span(date(2026, 1, 1), date(2026, 1, 3))  # 元旦
    | _span(date(2026, 2, 15), date(2026, 2, 23))  # 春节
    | _span(date(2026, 4, 4), date(2026, 4, 6))  # 清明节
    | _span(date(2026, 5, 1), date(2026, 5, 5))  # 劳动节
    | _span(date(2026, 6, 19), date(2026, 6, 21))  # 端午节
    | _span(date(2026, 9, 25), date(2026, 9, 27))  # 中秋节
    | _span(date(2026, 10, 1), date(2026, 10, 7))  # 国庆节
)
_WORKED_WEEKENDS_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}
# 2027, PROVISIONAL until the State Council's notice: the statutory days (全国年节及纪念日
# 放假办法, 2024 revision) and, for those on a weekend, a day off on the next weekdays as
# that law requires; no worked weekends are known yet.
_HOLIDAYS_2027 = (
    {date(2027, 1, 1)}  # 元旦
    | _span(date(2027, 2, 5), date(2027, 2, 10))  # 春节: 除夕..初三, + 2 in lieu of Sat/Sun
    | {date(2027, 4, 5)}  # 清明节
    | _span(date(2027, 5, 1), date(2027, 5, 4))  # 劳动节: 1-2 May, + 2 in lieu
    | {date(2027, 6, 9)}  # 端午节
    | {date(2027, 9, 15)}  # 中秋节
    | _span(date(2027, 10, 1), date(2027, 10, 5))  # 国庆节: 1-3 Oct, + 2 in lieu
)
_WORKED_WEEKENDS_2027: set[date] = set()

CN_HOLIDAYS: frozenset[date] = frozenset(_HOLIDAYS_2026 | _HOLIDAYS_2027)
CN_WORKED_WEEKENDS: frozenset[date] = frozenset(_WORKED_WEEKENDS_2026 | _WORKED_WEEKENDS_2027)
CN_CALENDAR_YEARS: frozenset[int] = frozenset({2026, 2027})  # the years the sets above cover


def is_working_day(day: date) -> bool:
    """A working day in China: Mon–Fri, less the public holidays, plus the 调休 weekends."""
    if day in CN_WORKED_WEEKENDS:
        return True
    return day.weekday() < 5 and day not in CN_HOLIDAYS


def previous_working_day(day: date) -> date:
    before = day - timedelta(days=1)
    while not is_working_day(before):
        before -= timedelta(days=1)
    return before


def collection_window(today: date) -> tuple[date, date]:
    """The days whose payments the digest of `today` reports: those after the previous
    working day's digest covered its own yesterday, through yesterday."""
    return previous_working_day(today), today - timedelta(days=1)


# -- input rows ----------------------------------------------------------------------------


def _fen(owner: object, *names: str) -> None:
    # A float (or a bool, an int subclass) would silently break exact sums.
    for name in names:
        value = getattr(owner, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


@dataclass(frozen=True, slots=True)
class DueRow:
    """An instalment falling due, and what is still unpaid of it (all components)."""

    loan_id: str
    instalment: int
    funder_id: str
    product_id: str
    due_date: date
    amount_fen: int

    def __post_init__(self) -> None:
        _fen(self, "amount_fen")


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """Money collected on a loan, split as the allocation applied it; `credit_fen` is the
    part held as an overpayment credit for the borrower."""

    day: date
    loan_id: str
    funder_id: str
    product_id: str
    channel: Channel
    reference: str  # the payment channel's serial
    principal_fen: int
    interest_fen: int
    overdue_interest_fen: int
    fee_fen: int
    credit_fen: int

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        _fen(self, *(f"{c}_fen" for c in COMPONENTS))

    @property
    def total_fen(self) -> int:
        return sum(self.component_fen(c) for c in COMPONENTS)

    def component_fen(self, component: str) -> int:
        return int(getattr(self, f"{component}_fen"))


@dataclass(frozen=True, slots=True)
class FailedDebit:
    day: date
    loan_id: str
    order_id: str
    amount_fen: int
    failure_code: str

    def __post_init__(self) -> None:
        _fen(self, "amount_fen")


@dataclass(frozen=True, slots=True)
class BucketTotal:
    bucket: str  # M1, M2, M3 or M3+
    loans: int
    principal_fen: int

    def __post_init__(self) -> None:
        if self.bucket not in BUCKETS:
            raise ValueError(f"bucket must be one of {BUCKETS}, got {self.bucket!r}")
        _fen(self, "loans", "principal_fen")


@dataclass(frozen=True, slots=True)
class TierTotal:
    """The loans of one tier other than 正常 (正常 is what is left; see the module doc)."""

    tier: Tier
    loans: int
    principal_fen: int

    def __post_init__(self) -> None:
        if self.tier is Tier.NORMAL:
            raise ValueError("正常 is derived from the funders' outstanding, not given")
        _fen(self, "loans", "principal_fen")


@dataclass(frozen=True, slots=True)
class FunderPosition:
    funder_id: str
    quota_fen: int
    used_fen: int
    outstanding_fen: int  # principal outstanding on the funder's loans

    def __post_init__(self) -> None:
        _fen(self, "quota_fen", "used_fen", "outstanding_fen")


# -- the digest ----------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Line(_Section):
    key: str
    count: int
    amount_fen: int


class DueDay(_Section):
    day: date
    count: int  # instalments
    amount_fen: int
    by_funder: list[Line]
    by_product: list[Line]


class Collection(_Section):
    channel: str  # auto_debit, borrower, or "all"
    count: int  # payments
    amount_fen: int  # all the components, the credit held included
    principal_fen: int
    interest_fen: int
    overdue_interest_fen: int
    fee_fen: int
    credit_fen: int


class Collected(_Section):
    first_day: date
    last_day: date
    total: Collection
    by_channel: list[Collection]


class FailedDebits(_Section):
    first_day: date
    last_day: date
    count: int
    amount_fen: int
    by_code: list[Line]


class BucketLine(_Section):
    bucket: str
    loans: int
    principal_fen: int


class Overdue(_Section):
    loans: int
    principal_fen: int
    by_bucket: list[BucketLine]


class TierLine(_Section):
    tier: str  # NORMAL, SPECIAL_MENTION, ...
    label: str  # 正常, 关注, ...
    loans: int | None  # None for 正常: not counted here
    principal_fen: int


class Tiers(_Section):
    outstanding_fen: int
    non_performing_fen: int
    npl_ratio: str  # 4 decimals, e.g. "0.0123"
    by_tier: list[TierLine]


class InflowDay(_Section):
    day: date
    count: int
    amount_fen: int


class Inflow(_Section):
    count: int
    amount_fen: int
    by_day: list[InflowDay]


class FunderLine(_Section):
    funder_id: str
    quota_fen: int
    used_fen: int
    outstanding_fen: int
    available_fen: int


class Digest(_Section):
    today: date
    due_today: DueDay
    due_tomorrow: DueDay
    collected: Collected
    failed_debits: FailedDebits
    overdue: Overdue
    tiers: Tiers
    inflow: Inflow
    funders: list[FunderLine]
    credits_held_fen: int


def _lines(pairs: Iterable[tuple[str, int]]) -> list[Line]:
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, int] = defaultdict(int)
    for key, amount in pairs:
        counts[key] += 1
        amounts[key] += amount
    return [Line(key=k, count=counts[k], amount_fen=amounts[k]) for k in sorted(counts)]


def _due_day(day: date, rows: Sequence[DueRow]) -> DueDay:
    of_day = [r for r in rows if r.due_date == day]
    return DueDay(
        day=day,
        count=len(of_day),
        amount_fen=sum(r.amount_fen for r in of_day),
        by_funder=_lines((r.funder_id, r.amount_fen) for r in of_day),
        by_product=_lines((r.product_id, r.amount_fen) for r in of_day),
    )


def _collection(channel: str, rows: Sequence[PaymentRow]) -> Collection:
    parts = {f"{c}_fen": sum(r.component_fen(c) for r in rows) for c in COMPONENTS}
    return Collection(channel=channel, count=len(rows), amount_fen=sum(parts.values()), **parts)


def _in(day: date, first: date, last: date, what: str) -> None:
    if not first <= day <= last:
        raise ValueError(f"{what} dated {day} is outside {first}..{last}")


def npl_ratio_text(ratio: Decimal) -> str:
    return str(ratio.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def build_digest(
    today: date,
    *,
    due: Iterable[DueRow],
    payments: Iterable[PaymentRow],
    failed_debits: Iterable[FailedDebit],
    buckets: Iterable[BucketTotal],
    tiers: Iterable[TierTotal],
    funders: Iterable[FunderPosition],
    credits_held_fen: int,
    collected_from: date | None = None,
) -> Digest:
    """The digest of `today`. `due` holds the instalments due today..today+6; `payments`
    and `failed_debits` those of `collected_from` (yesterday unless given) through
    yesterday. A row outside its window is an adapter bug: ValueError, not a wrong total."""
    if isinstance(credits_held_fen, bool) or not isinstance(credits_held_fen, int):
        raise ValueError(f"credits_held_fen must be an int (fen), got {credits_held_fen!r}")
    yesterday = today - timedelta(days=1)
    first = collected_from or yesterday
    if first > yesterday:
        raise ValueError(f"collected_from {first} is after yesterday {yesterday}")
    horizon = [today + timedelta(days=n) for n in range(INFLOW_DAYS)]

    due_rows = list(due)
    for r in due_rows:
        _in(r.due_date, horizon[0], horizon[-1], f"instalment {r.loan_id}#{r.instalment}")
    paid = list(payments)
    for p in paid:
        _in(p.day, first, yesterday, f"payment {p.reference}")
    failed = list(failed_debits)
    for f in failed:
        _in(f.day, first, yesterday, f"failed debit {f.order_id}")

    by_bucket: dict[str, tuple[int, int]] = dict.fromkeys(BUCKETS, (0, 0))
    for b in buckets:
        loans, principal = by_bucket[b.bucket]
        by_bucket[b.bucket] = (loans + b.loans, principal + b.principal_fen)

    positions = sorted(funders, key=lambda f: f.funder_id)
    if len({f.funder_id for f in positions}) != len(positions):
        raise ValueError("a funder appears twice in the positions")

    return Digest(
        today=today,
        due_today=_due_day(horizon[0], due_rows),
        due_tomorrow=_due_day(horizon[1], due_rows),
        collected=Collected(
            first_day=first,
            last_day=yesterday,
            total=_collection("all", paid),
            by_channel=[_collection(c, [p for p in paid if p.channel == c]) for c in CHANNELS],
        ),
        failed_debits=FailedDebits(
            first_day=first,
            last_day=yesterday,
            count=len(failed),
            amount_fen=sum(f.amount_fen for f in failed),
            by_code=_lines((f.failure_code, f.amount_fen) for f in failed),
        ),
        overdue=Overdue(
            loans=sum(n for n, _ in by_bucket.values()),
            principal_fen=sum(p for _, p in by_bucket.values()),
            by_bucket=[
                BucketLine(bucket=b, loans=n, principal_fen=p) for b, (n, p) in by_bucket.items()
            ],
        ),
        tiers=_tiers(tiers, sum(f.outstanding_fen for f in positions)),
        inflow=Inflow(
            count=len(due_rows),
            amount_fen=sum(r.amount_fen for r in due_rows),
            by_day=[
                InflowDay(
                    day=d,
                    count=sum(1 for r in due_rows if r.due_date == d),
                    amount_fen=sum(r.amount_fen for r in due_rows if r.due_date == d),
                )
                for d in horizon
            ],
        ),
        funders=[
            FunderLine(
                funder_id=f.funder_id,
                quota_fen=f.quota_fen,
                used_fen=f.used_fen,
                outstanding_fen=f.outstanding_fen,
                available_fen=f.quota_fen - f.used_fen,
            )
            for f in positions
        ],
        credits_held_fen=credits_held_fen,
    )


def _tiers(totals: Iterable[TierTotal], outstanding_fen: int) -> Tiers:
    loans: dict[Tier, int] = defaultdict(int)
    principal: dict[Tier, int] = defaultdict(int)
    for t in totals:
        loans[t.tier] += t.loans
        principal[t.tier] += t.principal_fen
    normal = outstanding_fen - sum(principal.values())
    if normal < 0:
        # The loans' principal cannot exceed what the funders have outstanding.
        raise ValueError(
            f"the tiers' principal exceeds the funders' outstanding ({outstanding_fen} fen)"
        )
    principal[Tier.NORMAL] = normal
    ratio = npl_ratio((tier, principal[tier]) for tier in Tier)
    return Tiers(
        outstanding_fen=outstanding_fen,
        non_performing_fen=sum(principal[t] for t in Tier if t.non_performing),
        npl_ratio=npl_ratio_text(ratio),
        by_tier=[
            TierLine(
                tier=t.name,
                label=t.label_zh,
                loans=None if t is Tier.NORMAL else loans[t],
                principal_fen=principal[t],
            )
            for t in Tier
        ],
    )


# -- rendering ----------------------------------------------------------------------------


def plain_yuan(fen: int) -> str:
    """Fen as yuan with 2 decimals and no separators (machine-readable), exact: 123456 ->
    '1234.56', -5 -> '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def csv_text(value: str) -> str:
    """A text cell Excel will not run as a formula (codes and references come from outside)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


DIGEST_CSV_HEADER = ("section", "key", "subkey", "count", "amount_yuan", "value")
BOM = "\ufeff"  # so that Excel reads the CSV (encoded as UTF-8) as UTF-8, Chinese included


def _period(first: date, last: date) -> str:
    return last.isoformat() if first == last else f"{first.isoformat()}/{last.isoformat()}"


def digest_rows(d: Digest) -> list[tuple[str, str, str, str, str, str]]:
    """The digest as CSV rows (section, key, subkey, count, amount in yuan, value). `count`
    is instalments, payments or loans as the section counts; `value` holds what is not
    money: the day or period of a section, and the NPL ratio (its amount: the NPL principal)."""
    rows: list[tuple[str, str, str, str, str, str]] = [
        ("digest", "today", "", "", "", d.today.isoformat())
    ]

    def add(
        section: str, key: str, sub: str, count: int | None, fen: int, *, value: str = ""
    ) -> None:
        rows.append(
            (
                section,
                csv_text(key),
                csv_text(sub),
                "" if count is None else str(count),
                plain_yuan(fen),
                value,
            )
        )

    for name, day in (("due_today", d.due_today), ("due_tomorrow", d.due_tomorrow)):
        add(name, "total", "", day.count, day.amount_fen, value=day.day.isoformat())
        for line in day.by_funder:
            add(name, "funder", line.key, line.count, line.amount_fen)
        for line in day.by_product:
            add(name, "product", line.key, line.count, line.amount_fen)

    c = d.collected
    for col in (c.total, *c.by_channel):
        key = "total" if col.channel == "all" else col.channel
        value = _period(c.first_day, c.last_day) if col.channel == "all" else ""
        add("collected", key, "", col.count, col.amount_fen, value=value)
        for comp in COMPONENTS:
            add("collected", key, comp, None, getattr(col, f"{comp}_fen"))

    f = d.failed_debits
    add("failed_debits", "total", "", f.count, f.amount_fen, value=_period(f.first_day, f.last_day))
    for line in f.by_code:
        add("failed_debits", "code", line.key, line.count, line.amount_fen)

    add("overdue", "total", "", d.overdue.loans, d.overdue.principal_fen)
    for b in d.overdue.by_bucket:
        add("overdue", b.bucket, "", b.loans, b.principal_fen)

    t = d.tiers
    add("tiers", "total", "", None, t.outstanding_fen)
    for tier in t.by_tier:
        add("tiers", tier.label, tier.tier, tier.loans, tier.principal_fen)
    add("tiers", "npl_ratio", "", None, t.non_performing_fen, value=t.npl_ratio)

    add("inflow", "total", "", d.inflow.count, d.inflow.amount_fen)
    for i in d.inflow.by_day:
        add("inflow", i.day.isoformat(), "", i.count, i.amount_fen)

    for fl in d.funders:
        for sub in ("quota", "used", "outstanding", "available"):
            add("funders", fl.funder_id, sub, None, getattr(fl, f"{sub}_fen"))

    add("credits_held", "total", "", None, d.credits_held_fen)
    return rows


def digest_csv(d: Digest) -> str:
    """One CSV, starting with a BOM: write it encoded as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DIGEST_CSV_HEADER)
    writer.writerows(digest_rows(d))
    return BOM + out.getvalue()


_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _amount(count: int, fen: int) -> str:
    return f"{count}笔，{format_yuan(fen)}元"


def npl_percent(ratio_text: str) -> str:
    """ "0.0123" -> "1.23%" (exact: the ratio has 4 decimals)."""
    return f"{Decimal(ratio_text) * 100:.2f}%"


def digest_email(d: Digest) -> tuple[str, str]:
    """(subject, plain-text body) in Chinese; the key figures, no personal data."""
    c, f, t = d.collected, d.failed_debits, d.tiers
    npl = npl_percent(t.npl_ratio)
    subject = (
        f"财务日报 {d.today.isoformat()}：今日到期{format_yuan(d.due_today.amount_fen)}元，"
        f"不良率{npl}"
    )
    when = "昨日" if c.first_day == c.last_day else f"{_md(c.first_day)}至{_md(c.last_day)}"
    channels = "；".join(
        f"{CHANNEL_ZH[col.channel]}{_amount(col.count, col.amount_fen)}" for col in c.by_channel
    )
    lines = [
        f"财务日报（{d.today.isoformat()} {_WEEKDAYS[d.today.weekday()]}）",
        "",
        f"今日到期（{_md(d.due_today.day)}）：{_amount(d.due_today.count, d.due_today.amount_fen)}",
        f"明日到期（{_md(d.due_tomorrow.day)}）："
        f"{_amount(d.due_tomorrow.count, d.due_tomorrow.amount_fen)}",
        f"未来7天预计回收：{_amount(d.inflow.count, d.inflow.amount_fen)}",
        "",
        f"{when}回收：{_amount(c.total.count, c.total.amount_fen)}（{channels}）",
        f"  其中本金{format_yuan(c.total.principal_fen)}元，"
        f"利息{format_yuan(c.total.interest_fen)}元，"
        f"罚息{format_yuan(c.total.overdue_interest_fen)}元，费用{format_yuan(c.total.fee_fen)}元，"
        f"转溢缴款{format_yuan(c.total.credit_fen)}元",
        f"扣款失败：{_amount(f.count, f.amount_fen)}",
        *(f"  {line.key}：{_amount(line.count, line.amount_fen)}" for line in f.by_code),
        "",
        f"逾期：{d.overdue.loans}笔，本金{format_yuan(d.overdue.principal_fen)}元",
        *(
            f"  {b.bucket}：{b.loans}笔，本金{format_yuan(b.principal_fen)}元"
            for b in d.overdue.by_bucket
        ),
        "五级分类（本金）："
        + "，".join(f"{x.label}{format_yuan(x.principal_fen)}元" for x in t.by_tier),
        f"不良率：{npl}（不良本金{format_yuan(t.non_performing_fen)}元 / "
        f"在贷本金{format_yuan(t.outstanding_fen)}元）",
        "",
        "资金方额度：",
        *(
            f"  {x.funder_id}：额度{format_yuan(x.quota_fen)}元，已用{format_yuan(x.used_fen)}元，"
            f"在贷{format_yuan(x.outstanding_fen)}元，可用{format_yuan(x.available_fen)}元"
            for x in d.funders
        ),
        f"溢缴款余额：{format_yuan(d.credits_held_fen)}元",
        "",
        "明细见附件 CSV（金额单位：元）。",
    ]
    return subject, "\n".join(lines) + "\n"
