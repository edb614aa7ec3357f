"""Loan contracts: deterministic PDF rendering and the digest that the e-signature signs."""

from lending.contracts.render import (
    ContractTerms,
    contract_digest,
    contract_document,
    render_contract,
)

__all__ = ["ContractTerms", "contract_digest", "contract_document", "render_contract"]
