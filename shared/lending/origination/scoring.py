"""Score: anti-fraud rules, the admission model, credit line, price and the decision.

A source that stayed down never becomes a silent default: the case goes to a person
(V03), unless a hard decline (fraud, court lists) stands whatever it would have said.
The model version, the points, the bins and the challengers' shadow PDs are recorded
with the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lending.applications.model import (
    ApplicantDetails,
    Application,
    Decision,
    Offer,
    Reason,
    ShadowScore,
    Status,
)
from lending.applications.privacy import open_applicant
from lending.finance import disclose, get_product
from lending.identity.checks import birth_date_of
from lending.origination.base import Step
from lending.origination.collection import open_report
from lending.origination.states import Scored, SourceResult
from lending.ports import Cipher
from lending.scoring.credit_line import credit_line
from lending.scoring.decision import DecisionPolicy, decide
from lending.scoring.pricing import price
from lending.scoring.profile import Application as ScoringApplication
from lending.scoring.profile import clean_and_merge, features_for_model
from lending.scoring.registry import ShadowModel, shadow_scores
from lending.scoring.scorecard import Scorecard
from lending.scoring.sources import DataSourcesNotContracted

# Duplicate applications by the same ID number beyond this count are an anti-fraud hit.
MAX_APPLICATIONS_PER_ID = 5
# Declines that stand whatever a missing source would have said (fraud, court lists).
HARD_DECLINES = frozenset({"D01", "D02"})


@dataclass
class Scoring(Step):
    cipher: Cipher
    # None: no model may score here (a deployment without contracted data sources).
    scorecard: Scorecard | None
    challengers: Sequence[ShadowModel] = field(default_factory=tuple)

    def score(self, application_id: str, results: Sequence[SourceResult]) -> Scored:
        app = self._load(application_id)
        if app.decision is not None:
            return Scored(decision=app.decision.outcome)
        if self.scorecard is None:
            raise DataSourcesNotContracted(
                "scoring refuses to run: no contracted data sources are configured "
                "(Sandbox=false), and it never scores on sandbox data"
            )
        model = self.scorecard
        unavailable = sorted(r.source for r in results if r.status != "ok")
        reports = [
            open_report(self.cipher, app.id, name, sealed)
            for name, sealed in sorted(self.repo.source_reports(app.id).items())
            if name not in unavailable
        ]
        profile = clean_and_merge(reports, app.product_type, unavailable)
        applicant = open_applicant(self.cipher, app)
        product = get_product(app.product_id)
        features = features_for_model(
            profile,
            ScoringApplication(
                requested_amount_fen=app.amount_fen,
                term_months=app.term_months,
                purpose=app.purpose,
                monthly_income_fen=applicant.monthly_income_fen,
                existing_monthly_debt_fen=applicant.monthly_debt_fen,
            ),
        )
        result = model.score(features)
        pricing = price(result.probability_of_default)
        rate = min(max(pricing.annual_rate, product.min_annual_rate), product.max_annual_rate)
        line = credit_line(
            monthly_income_fen=applicant.monthly_income_fen,
            existing_monthly_debt_fen=applicant.monthly_debt_fen,
            probability_of_default=result.probability_of_default,
            term_months=app.term_months,
            product_max_fen=product.max_amount_fen,
            annual_rate=rate,
        )
        decision = decide(
            result,
            self._anti_fraud(
                app,
                product.eligibility.min_age,
                product.eligibility.max_age,
                applicant,
                profile.fields,
            ),
            profile.coverage,
            app.amount_fen,
            line,
            policy=DecisionPolicy.from_artefact(model.cutoffs),
            judicial_blacklisted=profile.judicial_blacklisted,
        )
        outcome = decision.outcome
        reasons = [Reason(code=r.code, message=r.message) for r in decision.reasons]
        if unavailable and not any(r.code in HARD_DECLINES for r in reasons):
            outcome = "review"
            reasons.insert(
                0, Reason(code="V03", message="data source unavailable: " + ", ".join(unavailable))
            )
        now = self.clock.now()
        app.decision = Decision(
            outcome=outcome,
            probability_of_default=round(result.probability_of_default, 6),
            points=result.points,
            credit_line_fen=line.amount_fen,
            coverage=round(profile.coverage, 4),
            model_version=model.version,
            reasons=reasons,
            decided_at=now,
            shadow=[
                ShadowScore(
                    model_version=s.model_version, probability_of_default=s.probability_of_default
                )
                for s in shadow_scores(self.challengers, features)
            ],
            bins=result.bins,
        )
        app.sources = {r.source: r.status for r in results}
        offer_amount = min(app.amount_fen, max(line.amount_fen, decision.approved_amount_fen))
        if outcome != "decline":
            app.offer = _offer(app, offer_amount or app.amount_fen, rate, pricing.grade)
            if app.offer is None and outcome == "approve":
                outcome = "review"
                app.decision.outcome = "review"
        app.decided_at = now
        app.status = Status.SCORING
        self._save(
            app,
            "scored",
            outcome=outcome,
            model_version=model.version,
            points=result.points,
            reasons=[r.code for r in reasons],
        )
        return Scored(decision=outcome)

    def _anti_fraud(
        self,
        app: Application,
        min_age: int,
        max_age: int,
        applicant: ApplicantDetails,
        fields: Mapping[str, Any],
    ) -> list[str]:
        hits: list[str] = []
        if self.repo.count_by_id_hash(app.id_hash) > MAX_APPLICATIONS_PER_ID:
            hits.append("too many applications with the same ID number")
        born = birth_date_of(applicant.id_number)
        today = self.clock.now().date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if not min_age <= age <= max_age:
            hits.append(f"age outside the product's {min_age}-{max_age} range")
        if fields.get("company_status") == "吊销":
            hits.append("business licence revoked")
        return hits


def _offer(app: Application, amount_fen: int, rate: Decimal, grade: str) -> Offer | None:
    try:
        d = disclose(app.product_id, amount_fen, app.term_months, app.repayment_method, rate)
    except ValueError:
        return None
    return Offer(
        amount_fen=amount_fen,
        term_months=app.term_months,
        repayment_method=app.repayment_method,
        annual_rate=str(rate),
        apr=str(d.apr),
        first_payment_fen=d.first_payment_fen,
        total_interest_fen=d.total_interest_fen,
        total_repayment_fen=d.total_repayment_fen,
        grade=grade,
    )
