"""The servicing jobs on the local cloud: scheduled by its clock, a Map over index pages,
killed midway and resumed without doing anything twice.

A small portfolio is booked straight into the tables, falling due over the next days; a
quarter of its borrowers cannot pay. The clock runs on through the nights (00:30) and the
mornings (09:00 reminders); the payment channel answers every debit.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from infra.localcloud import portfolio
from infra.localcloud.cloud import FINANCE_MAILBOX, REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import login
from lending.aws import wiring
from lending.loans.model import Loan
from lending.servicing import nightly
from lending.servicing.account import CHINA, LoanAccount, LoanStatus, account_of, business_day
from lending.servicing.digest import is_working_day
from lending.servicing.funder_file import funder_file_name
from lending.servicing.ledger import EntryKind, check
from lending.servicing.nightly import Job, debit_order_id
from lending.servicing.reminders import text as reminder_text

COUNT = 24
DAYS = 13


class Portfolio:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        today = business_day(cloud.clock.now())
        # Disbursed about a month ago, over 4 days: the first instalments fall due in 4 to
        # 8 days (so T-3 and T-1 reminders come first).
        first = today - timedelta(days=26)
        self.loans = portfolio.seed(COUNT, first, spread_days=4, seed=11)
        self.broke = {loan.id for loan in self.loans[::4]}
        assert cloud.channel is not None
        cloud.channel.broke |= self.broke
        self.phones = {
            loan.id: details.phone
            for loan, details in portfolio.synthetic_loans(COUNT, first, spread_days=4, seed=11)
        }
        self.start = today
        # Two borrowers tapped 允许 twice in the mini-program: their first two reminders
        # go by WeChat subscription message, the others by SMS (one of them cannot pay).
        self.wechat = {self.loans[1].id, self.loans[4].id}
        assert cloud.wechat is not None and self.loans[4].id in self.broke
        for loan in self.loans:
            if loan.id in self.wechat:
                cloud.wechat.subscribe(loan.applicant_id, times=2)

    def account(self, loan: Loan) -> LoanAccount:
        return LoanAccount.restore(account_of(loan), wiring.ledger().entries(loan.id))

    def live_day(self) -> None:
        """The clock on to the next 01:00 (the night fires at 00:30), the channel's answers
        in, then on to 23:00 (the reminders fire at 09:00)."""
        now = self.cloud.clock.now().astimezone(CHINA)
        next_one = datetime.combine(now.date() + timedelta(days=1), time(1, 0), CHINA)
        self.cloud.tick(next_one - now)
        assert self.cloud.channel is not None
        self.cloud.channel.drain()
        self.cloud.tick(timedelta(hours=22))


@pytest.fixture(scope="module")
def book(cloud: LocalCloud) -> Iterator[Portfolio]:
    yield Portfolio(cloud)


def night_runs(cloud: LocalCloud) -> list[dict[str, Any]]:
    arn = cloud.deployment.state_machines["ServicingNightStateMachine"]
    runs: list[dict[str, Any]] = cloud.sfn().list_executions(stateMachineArn=arn)["executions"]
    return runs


def assert_each_thing_happened_once(book: Portfolio) -> None:
    for loan in book.loans:
        account = book.account(loan)
        assert check(account.balances()) == [], loan.id
        posted = Counter(
            e.postings[1].instalment for e in account.entries if e.kind is EntryKind.INSTALMENT_DUE
        )
        assert all(n == 1 for n in posted.values()), (loan.id, posted)
        accrued = Counter(e.on for e in account.entries if e.kind is EntryKind.OVERDUE_INTEREST)
        assert all(n == 1 for n in accrued.values()), (loan.id, accrued)
    sent = Counter((phone, text) for phone, text in book.cloud.sms_outbox())
    assert all(n == 1 for n in sent.values()), "a reminder went out twice"


def test_nights_and_mornings_service_the_portfolio_by_the_clock(
    book: Portfolio, cloud: LocalCloud
) -> None:
    before = len(night_runs(cloud))
    for _ in range(DAYS):
        book.live_day()
    runs = night_runs(cloud)
    assert len(runs) - before == DAYS and {r["status"] for r in runs} == {"SUCCEEDED"}
    assert cloud.schedule_errors == []
    today = business_day(cloud.clock.now())
    states, orders = wiring.loan_states(), wiring.payment_orders()
    for loan in book.loans:
        first_due = loan.instalments[0].due_date
        state = states.get(loan.id)
        assert state is not None
        debits = orders.debits(loan.id)
        if loan.id in book.broke:
            # Debited on the due date and 3 retry days, then left to collection.
            assert sorted(o.id for o in debits) == [
                debit_order_id(loan.id, first_due + timedelta(days=n)) for n in range(4)
            ]
            assert {o.status for o in debits} == {"failed"}
            assert state.status is LoanStatus.OVERDUE and state.watched
            assert state.days_past_due == (today - first_due).days
            assert state.bucket == "M1" and state.tier.label_zh == "关注"
        else:
            assert [o.status for o in debits] == ["succeeded"]
            assert book.account(loan).status(today) is LoanStatus.CURRENT
            assert not state.watched
    assert_each_thing_happened_once(book)


def test_reminders_name_the_amount_and_day_and_nothing_personal(
    book: Portfolio, cloud: LocalCloud
) -> None:
    outbox = cloud.sms_outbox()
    ours = {f"+86{phone}" for phone in book.phones.values()}
    texts = [text for phone, text in outbox if phone in ours]
    assert any("【还款提醒】" in t for t in texts) and any("【逾期提醒】" in t for t in texts)
    for loan in book.loans:
        mine = [text for phone, text in outbox if phone == f"+86{book.phones[loan.id]}"]
        due = loan.instalments[0].due_date
        # (a borrower who pays on the due date had only T-3 and T-1: by WeChat, if allowed)
        assert any(f"{due.month}月{due.day}日" in t for t in mine) or loan.id in book.wechat
        overdue = [t for t in mine if "【逾期提醒】" in t]
        # T+1, T+3 and T+7 for those who could not pay (within the days run), none else.
        if loan.id in book.broke:
            days = (business_day(cloud.clock.now()) - due).days
            assert len(overdue) == sum(1 for n in (1, 3, 7) if n <= days)
        else:
            assert overdue == []
        for text in mine:
            assert loan.applicant_id not in text and "身份证" not in text
        # The borrower's messages page reads the log: each SMS, in the words it was sent.
        logged = []
        for sent in wiring.sent_reminders().sent(loan.id):
            assert sent.amount_fen is not None and sent.due_date is not None
            logged.append(reminder_text(sent.kind, sent.amount_fen, sent.due_date))
        assert set(mine) <= set(logged)
        by_wechat = [m for m in cloud.wechat_outbox() if m.openid == loan.applicant_id]
        if loan.id not in book.wechat:
            assert by_wechat == []
            continue
        # T-3 and T-1 by WeChat (as many as allowed), then SMS: each kind went once.
        assert [m.data["thing1"] for m in by_wechat] == ["本期账单3天后到期", "本期账单明天到期"]
        assert not any("3天后" in t or "明天" in t for t in mine)
        for message in by_wechat:
            assert message.data["date3"] == f"{due.year}年{due.month}月{due.day}日"
            assert (
                message.data["amount2"] == f"{Decimal(loan.instalments[0].total_fen) / 100:.2f}元"
            )
            assert message.page == f"pages/loan/index?loan_id={loan.id}"


def test_the_night_reports_buckets_and_the_npl_ratio(book: Portfolio, cloud: LocalCloud) -> None:
    nights = wiring.nights()
    last = nights.last()
    assert last == business_day(cloud.clock.now())
    report = nights.report(last)
    assert report is not None
    assert report.buckets["M1"].loans >= len(book.broke)
    assert report.outstanding_fen > 0 and report.npl_ratio == 0  # nobody is 90 days late yet


def test_a_night_killed_midway_resumes_and_does_nothing_twice(
    book: Portfolio, cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's function dies after servicing part of its page (before the checkpoint);
    first Step Functions retries it, then the whole execution fails and is run again."""
    real = nightly.Servicing.night
    calls = {"n": 0}
    dead = {"after": 5, "always": True}

    def dying(self: nightly.Servicing, loan_id: str, day: date) -> nightly.NightOutcome:
        calls["n"] += 1
        if dead["always"] and calls["n"] > dead["after"]:
            raise RuntimeError("the function was killed")
        return real(self, loan_id, day)

    monkeypatch.setattr(nightly.Servicing, "night", dying)
    day = business_day(cloud.clock.now()) + timedelta(days=1)
    cloud.clock.advance(timedelta(days=1))
    sfn = cloud.sfn()
    arn = cloud.deployment.state_machines["ServicingNightStateMachine"]
    payload = json.dumps({"job": Job.NIGHT.value, "day": day.isoformat()})
    first = sfn.start_execution(stateMachineArn=arn, name=f"killed-{day}", input=payload)
    assert wait(sfn, first["executionArn"]) == "FAILED"
    assert calls["n"] > dead["after"]
    dead["always"] = False  # the fault is gone: run the night again
    again = sfn.start_execution(stateMachineArn=arn, name=f"rerun-{day}", input=payload)
    assert wait(sfn, again["executionArn"]) == "SUCCEEDED"
    assert cloud.channel is not None
    cloud.channel.drain()
    assert_each_thing_happened_once(book)
    for loan in book.loans:
        if loan.id in book.broke:
            state = wiring.loan_states().get(loan.id)
            assert state is not None and state.as_of == day


def wait(sfn: Any, arn: str) -> str:
    import time as clock

    for _ in range(1200):
        status = str(sfn.describe_execution(executionArn=arn)["status"])
        if status != "RUNNING":
            return status
        clock.sleep(0.05)
    raise TimeoutError(arn)


def test_each_funders_outstanding_moves_with_its_loans(book: Portfolio) -> None:
    for funder_id in portfolio.FUNDERS:
        funder = wiring.funders().get(funder_id)
        assert funder is not None
        ours = sum(
            book.account(loan).balances().principal_outstanding
            for loan in book.loans
            if loan.funder_id == funder_id
        )
        assert funder.lent_fen >= ours > 0  # the session's other loans are its too


def working_mornings(book: Portfolio, cloud: LocalCloud) -> list[date]:
    """The mornings the clock ran through (the schedule fired the job on them)."""
    days = [book.start + timedelta(days=n) for n in range(1, DAYS + 1)]
    return [d for d in days if is_working_day(d)]


def test_finance_gets_the_digest_every_working_morning(book: Portfolio, cloud: LocalCloud) -> None:
    token = login(cloud.api_url, "finance-1", role="finance")
    mornings = working_mornings(book, cloud)
    assert mornings
    paid = {loan.id for loan in book.loans} - book.broke
    collected = failed = 0
    for day in mornings:
        reply = call("GET", f"{cloud.api_url}/v1/finance/digests/{day}", token=token)
        assert reply.status == 200, reply.body
        digest = reply.body
        assert digest["today"] == day.isoformat()
        collected += _channel_count(digest, "auto_debit")
        failed += digest["failed_debits"]["count"]
    assert collected >= len(paid)  # every good loan's debit, reported once
    assert failed >= len(book.broke) * 4  # due date and 3 retries, each reported
    last = call("GET", f"{cloud.api_url}/v1/finance/digests/{mornings[-1]}", token=token).body
    overdue = {b["bucket"]: b for b in last["overdue"]["by_bucket"]}
    assert overdue["M1"]["loans"] >= len(book.broke)
    # The same digest was emailed, its CSV attached.
    mails = [m for _, to, m in cloud.emails() if FINANCE_MAILBOX in to]
    assert len(mails) >= len(mornings)
    attachment = next(mails[-1].iter_attachments())
    assert attachment.get_filename() == f"finance-digest-{mornings[-1]}.csv"
    body = mails[-1].get_body(preferencelist=("plain",))
    assert body is not None and "不良率" in body.get_content()


def _channel_count(digest: dict[str, Any], channel: str) -> int:
    for line in digest["collected"]["by_channel"]:
        if line["channel"] == channel:
            return int(line["count"])
    raise AssertionError(f"no {channel} line in {digest['collected']}")


def test_the_digest_is_for_finance_and_for_real_days(book: Portfolio, cloud: LocalCloud) -> None:
    day = working_mornings(book, cloud)[0]
    applicant = login(cloud.api_url, "someone-else")
    assert call("GET", f"{cloud.api_url}/v1/finance/digests/{day}", token=applicant).status == 403
    finance = login(cloud.api_url, "finance-2", role="finance")
    assert (
        call("GET", f"{cloud.api_url}/v1/finance/digests/31-12-2026", token=finance).status == 400
    )
    assert (
        call("GET", f"{cloud.api_url}/v1/finance/digests/2001-01-01", token=finance).status == 404
    )


def test_each_funder_gets_a_daily_repayment_file(book: Portfolio, cloud: LocalCloud) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = wiring.config().documents_bucket
    serials: dict[str, list[str]] = {}
    for n in range(DAYS):
        day = book.start + timedelta(days=n)
        for funder_id in portfolio.FUNDERS:
            body = s3.get_object(Bucket=bucket, Key=funder_file_name(funder_id, day))["Body"]
            rows = list(csv.DictReader(io.StringIO(body.read().decode("utf-8"))))
            assert rows[-1]["business_day"] == "TOTAL"
            for row in rows[:-1]:
                serials.setdefault(row["loan_id"], []).append(row["channel_serial"])
                assert row["business_day"] == day.isoformat()
    for loan in book.loans:
        if loan.id not in book.broke:
            assert len(serials.get(loan.id, [])) == 1, loan.id  # its one debit, once
        else:
            assert loan.id not in serials


def test_finance_may_classify_a_loan_worse_never_better(book: Portfolio, cloud: LocalCloud) -> None:
    loan_id = sorted(book.broke)[0]
    url = f"{cloud.api_url}/v1/loans/{loan_id}/classification"
    finance = login(cloud.api_url, "finance-3", role="finance")
    worse = call("POST", url, {"tier": "可疑", "reason": "borrower unreachable"}, token=finance)
    assert worse.status == 200 and worse.body["tier"] == "可疑"
    state = wiring.loan_states().get(loan_id)
    assert state is not None and state.tier.label_zh == "可疑" and state.watched
    # A night keeps the judgement; 正常 withdraws it, and the floor (关注) is in force.
    undone = call("POST", url, {"tier": "正常", "reason": "reached, plan agreed"}, token=finance)
    assert undone.status == 200 and undone.body["tier"] == "关注"
    history = [tier for _, tier, _ in wiring.loan_states().tier_history(loan_id)]
    assert history[-2:] == [4, 2]
    assert call("POST", url, {"tier": "bad", "reason": "x"}, token=finance).status == 422
    borrower = login(cloud.api_url, "someone-else")
    assert call("POST", url, {"tier": "损失", "reason": "x"}, token=borrower).status in (403, 404)
