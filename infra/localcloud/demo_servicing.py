"""`make demo`, after the loan: the cast borrowers live through their loans' months.

The demo's booked loans are each given a repayment behaviour, round-robin: on time (the
bound card's auto-debit succeeds), late (the card fails until some days after the first
due date, when the borrower pays what is due), partly (a few days before the first due
date the borrower pays part of it; the auto-debit takes the rest), early (after the first
instalment, settled in full) and never (the card always fails). Then the local cloud's
clock runs day by day through the servicing jobs (the night at 00:30, finance's morning
at 08:30, the reminders at 09:00) until a loan that is never paid is more than 90 days
overdue (次级, so the NPL ratio shows). Every borrower action goes through the API as the
borrower, and is waited for until the payment channel has answered it.

At the end: each loan's outcome and statement, the reminders it got, finance's digests,
and the checks (ledgers balance and agree with the statements, each funder's quota in use
is the principal outstanding on its loans, the never-paid loan is non-performing, the
on-time loans had no overdue reminder, no scheduled job failed).
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from infra.localcloud.cloud import FINANCE_MAILBOX, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant, login
from lending.aws import wiring
from lending.finance.schedule import format_yuan
from lending.loans.model import Loan
from lending.servicing.account import CHINA, LoanAccount, LoanStatus, account_of, business_day
from lending.servicing.delinquency import Tier
from lending.servicing.digest import is_working_day
from lending.servicing.ledger import CHARGES, Component, EntryKind, check

BEHAVIOURS = ("on_time", "late", "partly", "early", "never")
LATE_BY_DAYS = 10  # the late borrower pays this many days after the first due date
PARTLY_DAYS_BEFORE = 5  # the partial payment, this many days before the first due date
PARTLY_SHARE_PERCENT = 40  # of the first instalment
EARLY_DAYS_AFTER = 5  # the early borrower settles this many days after the first due date
WECHAT_BEHAVIOURS = ("on_time", "never")  # these borrowers allow WeChat reminders
SUBSTANDARD_AFTER_DAYS = 91  # more than 90 days overdue: at least 次级 (NPL)
PROGRESS_EVERY_DAYS = 10
NIGHT_DONE, BORROWERS_ACT, DAY_ENDS = clock_time(1, 0), clock_time(10, 0), clock_time(23, 0)
FINANCE_MORNING = clock_time(8, 30)  # template.yaml: FinanceMorningFunction's schedule
SERVICING_MACHINES = ("ServicingNightStateMachine", "ServicingRemindersStateMachine")


@dataclass
class Borrower:
    """One booked loan of the demo, its borrower and what they do."""

    label: str  # the demo's case
    behaviour: str
    applicant: Applicant
    loan: Loan
    first_due: date
    actions: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False  # their one action is behind them

    @property
    def loan_id(self) -> str:
        return self.loan.id

    @property
    def phone(self) -> str:
        """As SNS got it (never printed)."""
        return f"+86{self.applicant.identity.phone}"

    def account(self) -> LoanAccount:
        return LoanAccount.restore(account_of(self.loan), wiring.ledger().entries(self.loan_id))

    def view(self) -> dict[str, Any]:
        """`GET /v1/loans/{id}` as the borrower (a session each time: months pass)."""
        self.applicant.sign_in()
        return self.applicant.loan(self.loan_id)

    def pay(self, day: date, what: str, amount_fen: int | None = None) -> dict[str, Any]:
        """Through the API as the borrower, waited for until the channel has answered."""
        self.applicant.sign_in()
        settle = amount_fen is None
        order = self.applicant.repay(self.loan_id, amount_fen=amount_fen, settle=settle)
        answered = self.applicant.wait_for_repayment(self.loan_id, order["id"])
        action = {
            "day": day.isoformat(),
            "action": what,
            "amount_fen": int(order["amount_fen"]),
            "status": answered["status"],
        }
        self.actions.append(action)
        return action


def cast_borrowers(booked: Sequence[tuple[str, Applicant, str]]) -> list[Borrower]:
    """(case, applicant, loan id) of each booked loan -> its borrower, behaviours
    round-robin (the last one never pays if the round did not reach "never")."""
    borrowers = []
    for n, (label, applicant, loan_id) in enumerate(booked):
        loan = wiring.loans().get(loan_id)
        if loan is None:
            raise RuntimeError(f"{label}: loan {loan_id} is not booked")
        applicant.sign_in()
        statement = applicant.loan(loan_id)["statement"]
        first_due = date.fromisoformat(statement["instalments"][0]["due_date"])
        behaviour = BEHAVIOURS[n % len(BEHAVIOURS)]
        borrowers.append(Borrower(label, behaviour, applicant, loan, first_due))
    if borrowers and not any(b.behaviour == "never" for b in borrowers):
        borrowers[-1].behaviour = "never"
    return borrowers


class Months:
    """The clock through the loans' months, and the borrowers' actions on their days."""

    def __init__(self, cloud: LocalCloud, borrowers: list[Borrower]) -> None:
        assert cloud.channel is not None
        self.cloud = cloud
        self.channel = cloud.channel
        self.borrowers = borrowers
        for b in borrowers:
            if b.behaviour in ("late", "never"):
                self.channel.broke.add(b.loan_id)  # every debit of the card fails
            if b.behaviour in WECHAT_BEHAVIOURS and cloud.wechat is not None:
                # Tapped 允许 three times when the mini-program asked: three reminders by
                # WeChat, the rest by SMS.
                b.applicant.allow_reminders(cloud.wechat, times=3)

    def today(self) -> date:
        return business_day(self.cloud.clock.now())

    def _tick_to(self, moment: datetime) -> None:
        now = self.cloud.clock.now()
        if moment > now:
            self.cloud.tick(moment - now)

    def live_day(self) -> date:
        """On to the next 01:00 (the night fires at 00:30), the channel's answers in; on to
        10:00 (finance at 08:30, the reminders at 09:00); the borrowers act; on to 23:00."""
        now = self.cloud.clock.now().astimezone(CHINA)
        day = now.date() if now.time() < clock_time(0, 30) else now.date() + timedelta(days=1)
        self._tick_to(datetime.combine(day, NIGHT_DONE, CHINA))
        self.channel.drain()
        self._tick_to(datetime.combine(day, BORROWERS_ACT, CHINA))
        for b in self.borrowers:
            self.act(b, day)
        self._tick_to(datetime.combine(day, DAY_ENDS, CHINA))
        # The local cloud disables Powertools' metrics, which then keeps every value the
        # in-process functions add and prints them all at 100 a metric: nothing to publish.
        # (Imported here: imported before the local cloud set the functions' environment,
        # the package's Powertools logger would log at INFO.)
        from lending.aws.observability import metrics

        metrics.clear_metrics()
        return day

    def act(self, b: Borrower, day: date) -> None:
        if b.done:
            return
        if b.behaviour == "late" and day >= b.first_due + timedelta(days=LATE_BY_DAYS):
            self.channel.broke.discard(b.loan_id)  # money on the card again
            due = int(b.view()["statement"]["due_now_fen"])
            if due > 0:
                b.pay(day, "pays what is due", due)
            b.done = True
        elif b.behaviour == "partly" and day >= b.first_due - timedelta(days=PARTLY_DAYS_BEFORE):
            first = b.view()["statement"]["instalments"][0]
            amount = (first["principal_fen"] + first["interest_fen"]) * PARTLY_SHARE_PERCENT // 100
            b.pay(day, f"pays {PARTLY_SHARE_PERCENT}% of the first instalment", amount)
            b.done = True
        elif b.behaviour == "early" and day >= b.first_due + timedelta(days=EARLY_DAYS_AFTER):
            first = b.view()["statement"]["instalments"][0]
            if first["status"] == "paid":  # after the first instalment
                b.pay(day, "settles in full")
                b.done = True

    def summary(self, day: date) -> dict[str, Any]:
        """The portfolio of the demo's loans on `day`, with the latest night's NPL ratio."""
        statuses = Counter(b.account().status(day).value for b in self.borrowers)
        nights = wiring.nights()
        last = nights.last()
        report = nights.report(last) if last else None
        return {
            "day": day.isoformat(),
            "current": statuses.get(LoanStatus.CURRENT.value, 0),
            "overdue": statuses.get(LoanStatus.OVERDUE.value, 0),
            "settled": statuses.get(LoanStatus.SETTLED.value, 0),
            "night": last.isoformat() if last else None,
            "npl_ratio": str(report.npl_ratio) if report else None,
        }


def run(
    cloud: LocalCloud,
    booked: Sequence[tuple[str, Applicant, str]],
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The servicing phase of the demo; returns its report (with "failed": the checks
    that did not hold)."""
    started = time.perf_counter()
    began = cloud.clock.now()
    borrowers = cast_borrowers(booked)
    if not borrowers:
        return {"failed": ["no loan was booked: nothing to service"]}
    months = Months(cloud, borrowers)
    start = months.today()
    never = [b for b in borrowers if b.behaviour == "never"]
    end = max(b.first_due for b in never) + timedelta(days=SUBSTANDARD_AFTER_DAYS)
    out(
        f"\nservicing: {len(borrowers)} loans, {start} to {end} "
        f"({(end - start).days} days; first due dates "
        f"{min(b.first_due for b in borrowers)} .. {max(b.first_due for b in borrowers)})"
    )
    days = 0
    day = start
    lap = time.perf_counter()
    while day < end:
        day = months.live_day()
        days += 1
        if days % PROGRESS_EVERY_DAYS == 0 or day >= end:
            s = months.summary(day)
            npl = "-" if s["npl_ratio"] is None else f"{float(s['npl_ratio']):.2%}"
            out(
                f"  day {days:3d} {day}  current {s['current']:2d}  overdue {s['overdue']:2d}  "
                f"settled {s['settled']:2d}  NPL {npl:>6}  "
                f"({time.perf_counter() - lap:.1f} s, {time.perf_counter() - started:.0f} s in all)"
            )
            lap = time.perf_counter()
    seconds = time.perf_counter() - started
    report = finish(cloud, months, began)
    report.update(
        {
            "start_day": start.isoformat(),
            "end_day": day.isoformat(),
            "days_run": days,
            "seconds": round(time.perf_counter() - started, 1),  # the checks included
            "days_seconds": round(seconds, 1),
            "seconds_per_day": round(seconds / max(1, days), 2),
        }
    )
    print_outcome(report, out)
    out(
        f"servicing: {days} days in {seconds:.1f} s ({seconds / max(1, days):.2f} s a day), "
        f"{report['seconds']:.1f} s with the checks"
    )
    return report


# -- the outcome -------------------------------------------------------------------------

_OVERDUE = re.compile(r"已逾期(\d+)天")
_AHEAD = re.compile(r"(\d+)天后")


def reminder_kind(text: str) -> str:
    """The kind of a reminder, from its SMS text or its WeChat message's headline (t-3,
    t-1, t0, t+1, t+3, t+7)."""
    if m := _OVERDUE.search(text):
        return f"t+{m.group(1)}"
    if "明天" in text:
        return "t-1"
    if m := _AHEAD.search(text):
        return f"t-{m.group(1)}"
    if "今日" in text:
        return "t0"
    return "other"


def loan_outcome(b: Borrower, day: date, sms: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The loan as its borrower sees it (the API's statement) beside its ledger; and the
    ledger's problems: invariants broken, or a statement that disagrees with it."""
    view = b.view()
    stmt = view["statement"]
    account = b.account()
    balances = account.balances()
    state = wiring.loan_states().get(b.loan_id)
    problems = [f"ledger: {p}" for p in check(balances)]
    expected = {
        "principal_outstanding_fen": balances.principal_outstanding,
        "due_now_fen": balances.due_now,
        "credit_fen": balances.credit_fen,
        "status": account.status(day).value,
        "days_past_due": account.days_past_due(day),
    }
    problems += [
        f"statement {k} {stmt.get(k)} but the ledger says {v}"
        for k, v in expected.items()
        if stmt.get(k) != v
    ]
    posted = set(balances.instalments)
    planned_principal = 0
    for row in stmt["instalments"]:
        n = row["number"]
        if n in posted:
            for c in (
                Component.PRINCIPAL,
                Component.INTEREST,
                Component.OVERDUE_INTEREST,
                Component.FEE,
            ):
                if row[f"{c.value}_fen"] != balances.get(n, c):
                    problems.append(f"statement #{n} {c.value} disagrees with the ledger")
        else:
            planned_principal += row["principal_fen"]
    if planned_principal != balances.principal_not_due:
        problems.append(
            f"the plan's principal {planned_principal} is not the principal not yet due "
            f"{balances.principal_not_due}"
        )
    kinds = Counter(reminder_kind(t) for t in sms)
    paid: Counter[int] = Counter()
    for entry in account.entries:
        if entry.kind is EntryKind.REPAYMENT:
            for p in entry.postings:
                if p.instalment is not None:
                    paid[p.instalment] -= p.amount_fen
    debits = sorted(wiring.payment_orders().debits(b.loan_id), key=lambda o: o.created_at)
    outcome = {
        "case": b.label,
        "loan_id": b.loan_id,
        "behaviour": b.behaviour,
        "product_id": b.loan.product_id,
        "funder_id": b.loan.funder_id,
        "principal_fen": b.loan.principal_fen,
        "term_months": b.loan.term_months,
        "repayment_method": b.loan.repayment_method,
        "first_due": b.first_due.isoformat(),
        "status": stmt["status"],
        "days_past_due": stmt["days_past_due"],
        "bucket": stmt["bucket"],
        "tier": state.tier.label_zh if state else None,
        "tier_level": int(state.tier) if state else None,
        "principal_outstanding_fen": stmt["principal_outstanding_fen"],
        "due_now_fen": stmt["due_now_fen"],
        "credit_fen": stmt["credit_fen"],
        "actions": b.actions,
        "reminders": dict(sorted(kinds.items())),
        "debits": dict(Counter(o.status for o in debits)),
        "debit_days": [
            {"day": business_day(o.created_at).isoformat(), "status": o.status} for o in debits
        ],
        # The statement (what is still owed of each instalment) and, from the ledger, what
        # was paid of it.
        "instalments": [{**row, "paid_fen": paid[row["number"]]} for row in stmt["instalments"]],
        "charges_paid_fen": -sum(
            p.amount_fen
            for e in account.entries
            if e.kind is EntryKind.REPAYMENT
            for p in e.postings
            if p.component in CHARGES
        ),
        "ledger_entries": len(account.entries),
        "ledger_problems": problems,
    }
    return outcome, problems


def behaved(b: Borrower, outcome: dict[str, Any]) -> list[tuple[str, str]]:
    """(check, what is wrong) with the loan's outcome, given how its borrower behaved."""
    failed: list[tuple[str, str]] = []
    if any(a["status"] != "succeeded" for a in b.actions):
        failed.append(("borrower_payments_succeeded", f"a repayment failed: {b.actions}"))
    if b.behaviour in ("late", "partly", "early") and not b.done:
        failed.append(("borrower_payments_succeeded", f"the {b.behaviour} borrower never acted"))
    if b.behaviour == "never" and (outcome["tier_level"] or 0) < Tier.SUBSTANDARD:
        failed.append(("never_paid_is_non_performing", f"classified {outcome['tier']}"))
    if b.behaviour == "on_time":
        check = "on_time_current_without_overdue_reminders"
        if outcome["status"] != LoanStatus.CURRENT.value:
            failed.append((check, f"paid on time but {outcome['status']}"))
        if any(k.startswith("t+") for k in outcome["reminders"]):
            failed.append((check, f"paid on time but got {outcome['reminders']}"))
    expected = {
        "early": LoanStatus.SETTLED,
        "late": LoanStatus.CURRENT,
        "partly": LoanStatus.CURRENT,
    }
    if b.behaviour in expected and outcome["status"] != expected[b.behaviour].value:
        failed.append(("loans_end_as_cast", f"{b.behaviour}, but {outcome['status']} at the end"))
    return failed


def digest_figures(cloud: LocalCloud, day: date) -> dict[str, Any]:
    """The key figures of finance's digest of `day`, as finance reads it from the API."""
    token = login(cloud.api_url, "finance-1", role="finance")
    reply = call("GET", f"{cloud.api_url}/v1/finance/digests/{day}", token=token)
    if reply.status != 200:
        return {"day": day.isoformat(), "error": f"HTTP {reply.status}: {reply.body}"}
    d = reply.body
    return {
        "day": d["today"],
        "due_today": {"count": d["due_today"]["count"], "amount_fen": d["due_today"]["amount_fen"]},
        "collected": {
            "first_day": d["collected"]["first_day"],
            "last_day": d["collected"]["last_day"],
            "count": d["collected"]["total"]["count"],
            "amount_fen": d["collected"]["total"]["amount_fen"],
            "by_channel": {
                c["channel"]: {"count": c["count"], "amount_fen": c["amount_fen"]}
                for c in d["collected"]["by_channel"]
            },
        },
        "failed_debits": {
            "count": d["failed_debits"]["count"],
            "amount_fen": d["failed_debits"]["amount_fen"],
        },
        "overdue": {
            "loans": d["overdue"]["loans"],
            "principal_fen": d["overdue"]["principal_fen"],
            "by_bucket": {
                b["bucket"]: {"loans": b["loans"], "principal_fen": b["principal_fen"]}
                for b in d["overdue"]["by_bucket"]
            },
        },
        "tiers": {
            "outstanding_fen": d["tiers"]["outstanding_fen"],
            "non_performing_fen": d["tiers"]["non_performing_fen"],
            "npl_ratio": d["tiers"]["npl_ratio"],
            "by_tier": {
                t["label"]: {"loans": t["loans"], "principal_fen": t["principal_fen"]}
                for t in d["tiers"]["by_tier"]
            },
        },
        "inflow_next_7_days": {
            "count": d["inflow"]["count"],
            "amount_fen": d["inflow"]["amount_fen"],
        },
        "funders": {
            f["funder_id"]: {
                "used_fen": f["used_fen"],
                "outstanding_fen": f["outstanding_fen"],
                "available_fen": f["available_fen"],
            }
            for f in d["funders"]
        },
        "credits_held_fen": d["credits_held_fen"],
    }


def executions(cloud: LocalCloud, logical_id: str) -> list[dict[str, Any]]:
    sfn = cloud.sfn()
    arn = cloud.deployment.state_machines[logical_id]
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sfn.list_executions(
            stateMachineArn=arn, maxResults=100, **({"nextToken": token} if token else {})
        )
        found += page["executions"]
        token = page.get("nextToken")
        if not token:
            return found


CHECKS = (
    "ledgers_balance",
    "statements_agree_with_ledgers",
    "funders_quota_in_use_is_principal_outstanding",
    "never_paid_is_non_performing",
    "on_time_current_without_overdue_reminders",
    "loans_end_as_cast",
    "borrower_payments_succeeded",
    "digest_every_working_morning",
    "no_scheduled_function_failed",
    "servicing_executions_succeeded",
)


def finish(cloud: LocalCloud, months: Months, began: datetime) -> dict[str, Any]:
    """The outcome of every loan, the reminders, finance's digests, the night's report,
    and the checks (each with what failed it)."""
    day = months.today()
    borrowers = months.borrowers
    outbox, wechat = cloud.sms_outbox(), cloud.wechat_outbox()
    failures: dict[str, list[str]] = {c: [] for c in CHECKS}
    loans = []
    for b in borrowers:
        sms = [text for phone, text in outbox if phone == b.phone]
        by_wechat = [m.data["thing1"] for m in wechat if m.openid == b.applicant.openid]
        outcome, problems = loan_outcome(b, day, sms + by_wechat)
        outcome["by_wechat"] = len(by_wechat)
        loans.append(outcome)
        for problem in problems:
            ledger = problem.startswith("ledger:")
            check = "ledgers_balance" if ledger else "statements_agree_with_ledgers"
            failures[check].append(f"{b.label} ({b.loan_id}): {problem}")
        for check, problem in behaved(b, outcome):
            failures[check].append(f"{b.label} ({b.loan_id}): {problem}")
    funders = funder_positions(cloud, borrowers, loans, failures)
    for logical_id, at, error in cloud.schedule_errors:
        failures["no_scheduled_function_failed"].append(
            f"{logical_id} at {at.isoformat()}: {error[:300]}"
        )
    runs = {m: Counter(e["status"] for e in executions(cloud, m)) for m in SERVICING_MACHINES}
    for machine, statuses in runs.items():
        if set(statuses) - {"SUCCEEDED"}:
            failures["servicing_executions_succeeded"].append(f"{machine}: {dict(statuses)}")
    # Finance's digest: emailed every working morning (08:30) the clock went through.
    mails = [m for _, to, m in cloud.emails() if FINANCE_MAILBOX in to]
    sent = sorted(d for d in (_digest_day(m) for m in mails) if d is not None)
    ended = cloud.clock.now()
    mornings = [
        began.astimezone(CHINA).date() + timedelta(days=n)
        for n in range((ended.astimezone(CHINA).date() - began.astimezone(CHINA).date()).days + 1)
    ]
    expected = [
        d
        for d in mornings
        if began < datetime.combine(d, FINANCE_MORNING, CHINA) <= ended and is_working_day(d)
    ]
    in_window = [d for d in sent if datetime.combine(d, FINANCE_MORNING, CHINA) > began]
    if in_window != expected:
        missing = sorted(set(expected) - set(sent))
        failures["digest_every_working_morning"].append(
            f"{len(expected)} working mornings, {len(sent)} digests emailed; missing {missing}"
        )
    last_digest = max(sent, default=None) or _last_working_day(day)
    # The morning after the first due date: what the auto-debits collected and failed.
    after_first_due = _next_working_day(min(b.first_due for b in borrowers) + timedelta(days=1))
    ours = {b.phone for b in borrowers}
    openids = {b.applicant.openid for b in borrowers}
    ours_by_wechat = [m.data["thing1"] for m in wechat if m.openid in openids]
    nights = wiring.nights()
    last_night = nights.last()
    night = nights.report(last_night) if last_night else None
    failed = [f"{check}: {f}" for check, found in failures.items() for f in found]
    return {
        "loans": loans,
        "behaviours": dict(Counter(b.behaviour for b in borrowers)),
        "reminders_by_kind": dict(
            sorted(
                Counter(
                    reminder_kind(t) for t in [t for p, t in outbox if p in ours] + ours_by_wechat
                ).items()
            )
        ),
        "sms_sent": sum(p in ours for p, _ in outbox),
        "wechat_sent": len(ours_by_wechat),
        "digests": {
            "emails": len(mails),
            "working_mornings": len(expected),
            "after_first_due": digest_figures(cloud, after_first_due),
            "last": digest_figures(cloud, last_digest),
        },
        "final_night": {
            "day": last_night.isoformat() if last_night else None,
            "npl_ratio": str(night.npl_ratio) if night else None,
            "outstanding_fen": night.outstanding_fen if night else None,
            "buckets": {k: v.model_dump() for k, v in night.buckets.items()} if night else None,
            "tiers": {k: v.model_dump() for k, v in night.tiers.items()} if night else None,
        },
        "npl_ratio": str(night.npl_ratio) if night else None,
        "funders": funders,
        "executions": {m: dict(s) for m, s in runs.items()},
        "schedule_errors": len(cloud.schedule_errors),
        "checks": {c: {"passed": not found, "failures": found} for c, found in failures.items()},
        "failed": failed,
    }


def funder_positions(
    cloud: LocalCloud,
    borrowers: list[Borrower],
    loans: list[dict[str, Any]],
    failures: dict[str, list[str]],
) -> dict[str, dict[str, int]]:
    """Each funder's quota in use is the principal outstanding on its loans (the demo's
    funders hold the demo's loans alone), and so is what it has lent."""
    funders: dict[str, dict[str, int]] = {}
    for funder_id in sorted({b.loan.funder_id for b in borrowers} | set(cloud.banks)):
        funder = wiring.funders().get(funder_id)
        assert funder is not None
        outstanding = sum(
            o["principal_outstanding_fen"] for o in loans if o["funder_id"] == funder_id
        )
        funders[funder_id] = {
            "quota_fen": funder.quota_fen,
            "used_fen": funder.used_fen,
            "lent_fen": funder.lent_fen,
            "principal_outstanding_fen": outstanding,
        }
        if funder.used_fen != outstanding or funder.lent_fen != outstanding:
            failures["funders_quota_in_use_is_principal_outstanding"].append(
                f"{funder_id}: used {funder.used_fen}, lent {funder.lent_fen}, but its loans' "
                f"principal outstanding is {outstanding} fen"
            )
    return funders


def _digest_day(message: Any) -> date | None:
    for part in message.iter_attachments():
        m = re.fullmatch(r"finance-digest-(\d{4}-\d{2}-\d{2})\.csv", part.get_filename() or "")
        if m:
            return date.fromisoformat(m.group(1))
    return None


def _next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _last_working_day(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


# -- printing ----------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return format_yuan(fen)


def print_outcome(report: dict[str, Any], out: Callable[[str], None] = print) -> None:
    out("")
    for o in report["loans"]:
        out(
            f"{o['case'][:28]:28} {o['behaviour']:8} {o['loan_id']}  {o['funder_id']}  "
            f"{_yuan(o['principal_fen'])} yuan, {o['term_months']} months {o['repayment_method']}"
        )
        out(
            f"    {o['status']}, {o['days_past_due']} days past due, {o['bucket']}, "
            f"{o['tier']}; principal outstanding {_yuan(o['principal_outstanding_fen'])}, "
            f"due now {_yuan(o['due_now_fen'])}, credit {_yuan(o['credit_fen'])}"
        )
        for a in o["actions"]:
            out(f"    {a['day']} {a['action']}: {_yuan(a['amount_fen'])} yuan, {a['status']}")
        debits = ", ".join(f"{k} {v}" for k, v in sorted(o["debits"].items())) or "none"
        kinds = ", ".join(f"{k}×{v}" for k, v in o["reminders"].items()) or "none"
        out(f"    auto-debits: {debits}; reminders: {kinds} ({o['by_wechat']} by WeChat)")
        out(
            f"    {'#':>3} {'due date':10} {'status':14} {'principal':>10} {'interest':>9} "
            f"{'overdue int':>11} {'fee':>6} {'paid':>10}"
        )
        rows = o["instalments"]
        shown = _shown(rows, report["end_day"])
        for row in rows[:shown]:
            out(
                f"    {row['number']:3d} {row['due_date']:10} {row['status']:14} "
                f"{_yuan(row['principal_fen']):>10} {_yuan(row['interest_fen']):>9} "
                f"{_yuan(row['overdue_interest_fen']):>11} {_yuan(row['fee_fen']):>6} "
                f"{_yuan(row['paid_fen']):>10}"
            )
        rest = rows[shown:]
        if rest:
            out(
                f"    ... {len(rest)} more planned to {rest[-1]['due_date']}: principal "
                f"{_yuan(sum(r['principal_fen'] for r in rest))}, interest "
                f"{_yuan(sum(r['interest_fen'] for r in rest))}"
            )
        for problem in o["ledger_problems"]:
            out(f"    LEDGER: {problem}")
    out("")
    out(
        f"reminders by kind: {report['reminders_by_kind']} ({report['sms_sent']} SMS, "
        f"{report['wechat_sent']} WeChat subscription messages)"
    )
    digests = report["digests"]
    out(
        f"finance digests emailed: {digests['emails']} "
        f"({digests['working_mornings']} working mornings)"
    )
    print_digest("the morning after the first due date", digests["after_first_due"], out)
    print_digest("the last", digests["last"], out)
    npl = report["npl_ratio"]
    npl_text = "-" if npl is None else f"{float(npl):.2%}"
    out(f"final night {report['final_night']['day']}: NPL ratio {npl_text}")
    for funder_id, f in report["funders"].items():
        out(
            f"funder {funder_id}: quota used {_yuan(f['used_fen'])}, lent {_yuan(f['lent_fen'])}, "
            f"its loans' principal outstanding {_yuan(f['principal_outstanding_fen'])}"
        )
    out(f"servicing executions: {report['executions']}")
    out("servicing checks:")
    for name, result in report["checks"].items():
        out(f"    {'ok  ' if result['passed'] else 'FAIL'} {name}")
        for failure in result["failures"]:
            print(f"servicing check {name} failed: {failure}", file=sys.stderr)


def print_digest(title: str, d: dict[str, Any], out: Callable[[str], None]) -> None:
    out(f"  {title}, {d.get('day')}:")
    if "error" in d:
        out(f"    {d['error']}")
        return
    collected = d["collected"]
    channels = ", ".join(
        f"{k} {v['count']} ({_yuan(v['amount_fen'])})" for k, v in collected["by_channel"].items()
    )
    out(
        f"    collected {collected['first_day']}..{collected['last_day']}: "
        f"{collected['count']} payments, {_yuan(collected['amount_fen'])} yuan ({channels}); "
        f"failed debits {d['failed_debits']['count']} ({_yuan(d['failed_debits']['amount_fen'])})"
    )
    out(
        f"    due today {d['due_today']['count']} ({_yuan(d['due_today']['amount_fen'])}); "
        f"next 7 days {d['inflow_next_7_days']['count']} "
        f"({_yuan(d['inflow_next_7_days']['amount_fen'])})"
    )
    buckets = ", ".join(
        f"{k} {v['loans']} ({_yuan(v['principal_fen'])})"
        for k, v in d["overdue"]["by_bucket"].items()
    )
    tiers = ", ".join(
        f"{k} {v['loans'] if v['loans'] is not None else '-'} ({_yuan(v['principal_fen'])})"
        for k, v in d["tiers"]["by_tier"].items()
    )
    out(f"    overdue: {buckets}")
    out(
        f"    tiers: {tiers}; NPL ratio {d['tiers']['npl_ratio']} "
        f"(outstanding {_yuan(d['tiers']['outstanding_fen'])})"
    )


def _shown(rows: list[dict[str, Any]], day: str) -> int:
    """The instalments that fell due by `day`, and the next one."""
    return min(len(rows), sum(1 for r in rows if r["due_date"] <= day) + 1)
