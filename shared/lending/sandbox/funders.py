"""The partner funders of the sandbox and the local cloud (one FIFO queue each in the template)."""

from __future__ import annotations

from lending.funding.model import Funder

SANDBOX_FUNDERS: tuple[Funder, ...] = (
    Funder(
        id="bank-a",
        name="合作银行A (Partner Bank A)",
        kind="bank",
        products=["consumer-flex", "consumer-instalment", "business-operating", "business-tax"],
        quota_fen=50_000_000_00,
        cost_of_funds_bps=380,
    ),
    Funder(
        id="trust-b",
        name="信托B (Trust B)",
        kind="trust",
        products=["consumer-flex", "business-operating"],
        quota_fen=20_000_000_00,
        cost_of_funds_bps=450,
    ),
)
