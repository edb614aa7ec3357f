"""The finance digest: groupings, the NPL ratio, working days, the CSV and the email."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.servicing.delinquency import Tier, npl_ratio
from lending.servicing.digest import (
    BOM,
    CN_CALENDAR_YEARS,
    CN_HOLIDAYS,
    CN_WORKED_WEEKENDS,
    DIGEST_CSV_HEADER,
    BucketTotal,
    Digest,
    DueRow,
    FailedDebit,
    FunderPosition,
    PaymentRow,
    TierTotal,
    build_digest,
    collection_window,
    digest_csv,
    digest_email,
    is_working_day,
    plain_yuan,
    previous_working_day,
)

TODAY = date(2026, 3, 3)  # a Tuesday
YESTERDAY = TODAY - timedelta(days=1)


def due(loan: str, funder: str, product: str, day: date, fen: int) -> DueRow:
    return DueRow(loan, 1, funder, product, day, fen)


def paid(
    loan: str,
    channel: str,
    ref: str,
    parts: tuple[int, int, int, int, int],
    *,
    funder: str = "bank-a",
    day: date = YESTERDAY,
) -> PaymentRow:
    return PaymentRow(day, loan, funder, "consumer-flex", channel, ref, *parts)  # type: ignore[arg-type]


DUE_ROWS = [
    due("L1", "bank-a", "consumer-flex", TODAY, 100_00),
    due("L2", "bank-a", "consumer-instalment", TODAY, 250_50),
    due("L3", "trust-b", "consumer-flex", TODAY, 10_01),
    due("L4", "trust-b", "consumer-flex", TODAY + timedelta(days=1), 77_77),
    due("L5", "bank-a", "business-tax", TODAY + timedelta(days=6), 1_000_00),
]
PAYMENTS = [
    paid("L7", "auto_debit", "C1", (90_00, 10_00, 0, 0, 0)),
    paid("L8", "auto_debit", "C2", (50_00, 5_00, 1_23, 2_00, 0)),
    paid("L9", "borrower", "C3", (300_00, 0, 0, 0, 15_55), funder="trust-b"),
]
FAILED = [
    FailedDebit(YESTERDAY, "L10", "P10.a", 120_00, "insufficient_funds"),
    FailedDebit(YESTERDAY, "L11", "P11.a", 30_00, "insufficient_funds"),
    FailedDebit(YESTERDAY, "L12", "P12.a", 45_67, "card_frozen"),
]
BUCKETS = [
    BucketTotal("M1", 3, 3_000_00),
    BucketTotal("M3+", 1, 5_000_00),
    BucketTotal("M1", 1, 500_00),  # totals given twice are added
]
TIERS = [
    TierTotal(Tier.SPECIAL_MENTION, 4, 3_500_00),
    TierTotal(Tier.SUBSTANDARD, 1, 5_000_00),
    TierTotal(Tier.LOSS, 1, 1_000_00),
]
FUNDERS = [
    FunderPosition("trust-b", 20_000_000_00, 300_000_00, 290_000_00),
    FunderPosition("bank-a", 50_000_000_00, 1_000_000_00, 910_000_00),
]


def digest(**changes: Any) -> Digest:
    args: dict[str, Any] = {
        "due": DUE_ROWS,
        "payments": PAYMENTS,
        "failed_debits": FAILED,
        "buckets": BUCKETS,
        "tiers": TIERS,
        "funders": FUNDERS,
        "credits_held_fen": 12_34,
    }
    return build_digest(TODAY, **{**args, **changes})


def lines(section: Any) -> dict[str, tuple[int, int]]:
    return {line.key: (line.count, line.amount_fen) for line in section}


# -- sections --------------------------------------------------------------------------------


def test_due_today_and_tomorrow_by_funder_and_product() -> None:
    d = digest()
    assert (d.due_today.day, d.due_today.count, d.due_today.amount_fen) == (TODAY, 3, 360_51)
    assert lines(d.due_today.by_funder) == {"bank-a": (2, 350_50), "trust-b": (1, 10_01)}
    assert lines(d.due_today.by_product) == {
        "consumer-flex": (2, 110_01),
        "consumer-instalment": (1, 250_50),
    }
    assert d.due_tomorrow.day == TODAY + timedelta(days=1)
    assert (d.due_tomorrow.count, d.due_tomorrow.amount_fen) == (1, 77_77)
    assert lines(d.due_tomorrow.by_funder) == {"trust-b": (1, 77_77)}


def test_inflow_covers_seven_days_zeros_included() -> None:
    inflow = digest().inflow
    assert [i.day for i in inflow.by_day] == [TODAY + timedelta(days=n) for n in range(7)]
    assert [i.amount_fen for i in inflow.by_day] == [360_51, 77_77, 0, 0, 0, 0, 1_000_00]
    assert (inflow.count, inflow.amount_fen) == (5, 1_438_28)


def test_collected_by_channel_and_component() -> None:
    c = digest().collected
    assert (c.first_day, c.last_day) == (YESTERDAY, YESTERDAY)
    by = {col.channel: col for col in c.by_channel}
    assert list(by) == ["auto_debit", "borrower"]
    auto = by["auto_debit"]
    assert (auto.count, auto.amount_fen) == (2, 158_23)
    assert (auto.principal_fen, auto.interest_fen) == (140_00, 15_00)
    assert (auto.overdue_interest_fen, auto.fee_fen, auto.credit_fen) == (1_23, 2_00, 0)
    # The credit held is money collected too.
    assert (by["borrower"].amount_fen, by["borrower"].credit_fen) == (315_55, 15_55)
    assert (c.total.count, c.total.amount_fen) == (3, 473_78)


def test_a_channel_without_payments_shows_zero() -> None:
    c = digest(payments=PAYMENTS[:2]).collected
    borrower = c.by_channel[1]
    assert (borrower.channel, borrower.count, borrower.amount_fen) == ("borrower", 0, 0)


def test_failed_debits_by_code() -> None:
    f = digest().failed_debits
    assert (f.count, f.amount_fen) == (3, 195_67)
    assert lines(f.by_code) == {"card_frozen": (1, 45_67), "insufficient_funds": (2, 150_00)}


def test_overdue_by_bucket_all_four_shown() -> None:
    o = digest().overdue
    assert [(b.bucket, b.loans, b.principal_fen) for b in o.by_bucket] == [
        ("M1", 4, 3_500_00),
        ("M2", 0, 0),
        ("M3", 0, 0),
        ("M3+", 1, 5_000_00),
    ]
    assert (o.loans, o.principal_fen) == (5, 8_500_00)
    with pytest.raises(ValueError, match="bucket"):
        BucketTotal("M0", 1, 1)


def test_normal_is_what_is_left_and_the_npl_ratio() -> None:
    t = digest().tiers
    outstanding = 290_000_00 + 910_000_00
    assert t.outstanding_fen == outstanding
    by = {line.tier: line for line in t.by_tier}
    assert [line.label for line in t.by_tier] == ["正常", "关注", "次级", "可疑", "损失"]
    assert by["NORMAL"].loans is None
    assert by["NORMAL"].principal_fen == outstanding - 9_500_00
    assert sum(line.principal_fen for line in t.by_tier) == outstanding
    assert by["DOUBTFUL"].principal_fen == 0 and by["DOUBTFUL"].loans == 0
    assert t.non_performing_fen == 6_000_00
    # 6,000 / 1,200,000 = 0.005 exactly.
    assert t.npl_ratio == "0.0050"
    expected = npl_ratio((Tier[line.tier], line.principal_fen) for line in t.by_tier)
    assert Decimal(t.npl_ratio) == expected.quantize(Decimal("0.0001"))


def test_npl_ratio_rounds_to_four_decimals() -> None:
    t = digest(
        tiers=[TierTotal(Tier.SUBSTANDARD, 1, 1_23)],
        funders=[FunderPosition("bank-a", 100_00, 100_00, 100_00)],
    ).tiers
    assert t.npl_ratio == "0.0123"
    t = digest(
        tiers=[TierTotal(Tier.DOUBTFUL, 1, 1)],
        funders=[FunderPosition("bank-a", 3, 3, 3)],
    ).tiers
    assert t.npl_ratio == "0.3333"


def test_nothing_outstanding_gives_a_zero_ratio() -> None:
    t = digest(tiers=[], funders=[]).tiers
    assert (t.outstanding_fen, t.npl_ratio) == (0, "0.0000")


def test_tiers_cannot_exceed_the_outstanding_nor_name_normal() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        digest(funders=[FunderPosition("bank-a", 1, 1, 9_499_99)])
    with pytest.raises(ValueError, match="正常"):
        TierTotal(Tier.NORMAL, 1, 1)


def test_funders_positions_and_credits_held() -> None:
    d = digest()
    assert [(f.funder_id, f.available_fen) for f in d.funders] == [
        ("bank-a", 49_000_000_00),
        ("trust-b", 19_700_000_00),
    ]
    assert d.credits_held_fen == 12_34
    with pytest.raises(ValueError, match="twice"):
        digest(funders=[*FUNDERS, FUNDERS[0]])


def test_rows_outside_their_window_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        digest(due=[due("L1", "bank-a", "p", TODAY + timedelta(days=7), 1)])
    with pytest.raises(ValueError, match="outside"):
        digest(due=[due("L1", "bank-a", "p", YESTERDAY, 1)])
    with pytest.raises(ValueError, match="outside"):
        digest(payments=[paid("L1", "borrower", "C9", (1, 0, 0, 0, 0), day=TODAY)])
    with pytest.raises(ValueError, match="outside"):
        digest(failed_debits=[FailedDebit(TODAY - timedelta(days=2), "L1", "P1", 1, "x")])


@pytest.mark.parametrize("bad", [1.5, True, -1, Decimal(1)])
def test_money_is_integer_fen_only(bad: object) -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        DueRow("L1", 1, "bank-a", "p", TODAY, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fee_fen"):
        PaymentRow(YESTERDAY, "L1", "f", "p", "borrower", "C", 0, 0, 0, bad, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel"):
        PaymentRow(YESTERDAY, "L1", "f", "p", "cash", "C", 0, 0, 0, 0, 0)  # type: ignore[arg-type]


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_json_has_int_fen_iso_dates_and_no_float() -> None:
    d = digest()
    data = json.loads(d.model_dump_json())
    assert not any(isinstance(v, float) for v in _leaves(data))
    assert data["today"] == "2026-03-03"
    assert data["due_tomorrow"]["day"] == "2026-03-04"
    assert data["tiers"]["npl_ratio"] == "0.0050"
    assert data["collected"]["total"]["amount_fen"] == 473_78
    assert Digest.model_validate_json(d.model_dump_json()) == d


# -- CSV ------------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, str]]:
    raw = text.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel's cue for UTF-8
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames or ()) == DIGEST_CSV_HEADER
    return list(reader)


def fen(yuan: str) -> int:
    assert re.fullmatch(r"-?\d+\.\d{2}", yuan), yuan  # exact 2 decimals, no float artefacts
    return int(Decimal(yuan) * 100)


def pick(rows: list[dict[str, str]], section: str, key: str, sub: str = "") -> dict[str, str]:
    (row,) = [r for r in rows if (r["section"], r["key"], r["subkey"]) == (section, key, sub)]
    return row


def test_csv_parses_back_and_sums_exactly() -> None:
    text = digest_csv(digest())
    assert text.startswith(BOM)
    rows = parse_csv(text)
    assert pick(rows, "digest", "today")["value"] == "2026-03-03"

    total = pick(rows, "due_today", "total")
    assert (total["count"], total["amount_yuan"], total["value"]) == ("3", "360.51", "2026-03-03")
    for group in ("funder", "product"):
        part = [r for r in rows if r["section"] == "due_today" and r["key"] == group]
        assert sum(fen(r["amount_yuan"]) for r in part) == fen(total["amount_yuan"])
        assert sum(int(r["count"]) for r in part) == 3

    for key in ("total", "auto_debit", "borrower"):
        parts = [pick(rows, "collected", key, c) for c in ("principal", "interest")]
        parts += [pick(rows, "collected", key, c) for c in ("overdue_interest", "fee", "credit")]
        whole = pick(rows, "collected", key)
        assert sum(fen(r["amount_yuan"]) for r in parts) == fen(whole["amount_yuan"])
    assert pick(rows, "collected", "total")["amount_yuan"] == "473.78"

    assert pick(rows, "failed_debits", "code", "insufficient_funds")["amount_yuan"] == "150.00"
    assert pick(rows, "overdue", "M3+")["count"] == "1"

    tiers = [r for r in rows if r["section"] == "tiers" and r["subkey"]]
    assert [r["key"] for r in tiers] == ["正常", "关注", "次级", "可疑", "损失"]
    assert tiers[0]["count"] == ""  # 正常's loans are not counted here
    assert sum(fen(r["amount_yuan"]) for r in tiers) == fen(
        pick(rows, "tiers", "total")["amount_yuan"]
    )
    assert pick(rows, "tiers", "npl_ratio")["value"] == "0.0050"

    inflow = [r for r in rows if r["section"] == "inflow" and r["key"] != "total"]
    assert len(inflow) == 7
    assert sum(fen(r["amount_yuan"]) for r in inflow) == fen(
        pick(rows, "inflow", "total")["amount_yuan"]
    )
    assert pick(rows, "funders", "bank-a", "available")["amount_yuan"] == "49000000.00"
    assert pick(rows, "credits_held", "total")["amount_yuan"] == "12.34"


def test_csv_text_from_outside_is_not_a_formula() -> None:
    failed = [FailedDebit(YESTERDAY, "L1", "P1", 1_00, '=HYPERLINK("x")')]
    rows = parse_csv(digest_csv(digest(failed_debits=failed)))
    (row,) = [r for r in rows if r["section"] == "failed_debits" and r["key"] == "code"]
    assert row["subkey"] == '\'=HYPERLINK("x")'


def test_plain_yuan_is_exact() -> None:
    assert plain_yuan(0) == "0.00"
    assert plain_yuan(5) == "0.05"
    assert plain_yuan(-5) == "-0.05"
    assert plain_yuan(123_456) == "1234.56"
    assert plain_yuan(10**17 + 1) == "1000000000000000.01"  # past a float's precision


components = st.tuples(*(st.integers(0, 10**12) for _ in range(5)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["auto_debit", "borrower"]), components), max_size=20),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 10**12)), max_size=20),
)
def test_csv_totals_equal_the_rows_in_fen(
    pays: list[tuple[str, tuple[int, int, int, int, int]]], dues: list[tuple[int, int]]
) -> None:
    payments = [paid(f"L{i}", ch, f"C{i}", parts) for i, (ch, parts) in enumerate(pays)]
    due_rows = [
        due(f"L{i}", "bank-a", "p", TODAY + timedelta(days=n), amount)
        for i, (n, amount) in enumerate(dues)
    ]
    rows = parse_csv(digest_csv(digest(payments=payments, due=due_rows)))
    assert fen(pick(rows, "collected", "total")["amount_yuan"]) == sum(
        p.total_fen for p in payments
    )
    channels = [pick(rows, "collected", ch) for ch in ("auto_debit", "borrower")]
    assert sum(fen(r["amount_yuan"]) for r in channels) == sum(p.total_fen for p in payments)
    inflow = [r for r in rows if r["section"] == "inflow" and r["key"] != "total"]
    assert sum(fen(r["amount_yuan"]) for r in inflow) == sum(r.amount_fen for r in due_rows)


# -- email ----------------------------------------------------------------------------------


def test_email_carries_the_key_figures() -> None:
    subject, body = digest_email(digest())
    assert "2026-03-03" in subject and "360.51元" in subject and "0.50%" in subject
    assert "今日到期（3月3日）：3笔，360.51元" in body
    assert "明日到期（3月4日）：1笔，77.77元" in body
    assert "昨日回收：3笔，473.78元" in body
    assert "自动扣款2笔，158.23元" in body and "主动还款1笔，315.55元" in body
    assert "扣款失败：3笔，195.67元" in body
    assert "insufficient_funds：2笔，150.00元" in body
    assert "M1：4笔，本金3,500.00元" in body and "M3+：1笔，本金5,000.00元" in body
    assert "不良率：0.50%" in body
    assert "bank-a：额度50,000,000.00元，已用1,000,000.00元" in body
    assert "可用49,000,000.00元" in body
    assert "溢缴款余额：12.34元" in body


def test_email_has_no_personal_data() -> None:
    subject, body = digest_email(digest())
    for text in (subject, body):
        assert not re.search(r"\d{15,}", text.replace(",", ""))  # no ID or card number
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text.replace(",", ""))  # no mobile


def test_after_a_holiday_the_digest_covers_every_day_since() -> None:
    today = date(2026, 10, 8)  # the first working day after 国庆节
    first, last = collection_window(today)
    assert (first, last) == (date(2026, 9, 30), date(2026, 10, 7))
    payments = [
        paid("L1", "borrower", "C1", (1_00, 0, 0, 0, 0), day=date(2026, 10, 1)),
        paid("L2", "borrower", "C2", (2_00, 0, 0, 0, 0), day=date(2026, 9, 30)),
    ]
    d = build_digest(
        today,
        due=[],
        payments=payments,
        failed_debits=[],
        buckets=[],
        tiers=[],
        funders=[],
        credits_held_fen=0,
        collected_from=first,
    )
    assert (d.collected.first_day, d.collected.total.amount_fen) == (first, 3_00)
    _, body = digest_email(d)
    assert "9月30日至10月7日回收：2笔，3.00元" in body
    with pytest.raises(ValueError, match="after yesterday"):
        build_digest(
            today,
            due=[],
            payments=[],
            failed_debits=[],
            buckets=[],
            tiers=[],
            funders=[],
            credits_held_fen=0,
            collected_from=today,
        )


# -- working days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 3), True),  # a Tuesday
        (date(2026, 3, 7), False),  # a Saturday
        (date(2026, 3, 8), False),  # a Sunday
        (date(2026, 1, 1), False),  # 元旦
        (date(2026, 1, 4), True),  # a Sunday worked (调休)
        (date(2026, 2, 14), True),  # a Saturday worked before 春节
        (date(2026, 2, 17), False),  # 春节
        (date(2026, 2, 23), False),  # a Monday of the 春节 break
        (date(2026, 2, 28), True),  # a Saturday worked after 春节
        (date(2026, 4, 6), False),  # 清明节, Monday
        (date(2026, 5, 5), False),
        (date(2026, 5, 9), True),  # a Saturday worked after 劳动节
        (date(2026, 6, 19), False),  # 端午节
        (date(2026, 9, 20), True),  # a Sunday worked before 国庆节
        (date(2026, 9, 25), False),  # 中秋节
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),  # a Saturday worked after 国庆节
        (date(2027, 2, 8), False),  # 春节 2027 (provisional)
        (date(2027, 10, 1), False),
        (date(2028, 3, 1), True),  # beyond the calendar: Mon–Fri
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_the_holiday_calendar_is_consistent() -> None:
    assert not CN_HOLIDAYS & CN_WORKED_WEEKENDS
    assert all(d.weekday() >= 5 for d in CN_WORKED_WEEKENDS)
    assert {d.year for d in CN_HOLIDAYS} == set(CN_CALENDAR_YEARS) == {2026, 2027}
    # 2026: 33 days off (3 + 9 + 3 + 5 + 3 + 3 + 7), 6 weekend days worked.
    assert sum(1 for d in CN_HOLIDAYS if d.year == 2026) == 33
    assert sum(1 for d in CN_WORKED_WEEKENDS if d.year == 2026) == 6


def test_previous_working_day_and_the_collection_window() -> None:
    assert previous_working_day(date(2026, 3, 3)) == date(2026, 3, 2)
    assert collection_window(date(2026, 3, 3)) == (date(2026, 3, 2), date(2026, 3, 2))
    # Monday: Friday, Saturday and Sunday.
    assert collection_window(date(2026, 3, 9)) == (date(2026, 3, 6), date(2026, 3, 8))
    # After 春节 the last working day was the Saturday worked before it.
    assert previous_working_day(date(2026, 2, 24)) == date(2026, 2, 14)
