"""After the loan: the ledger, payments, overdue interest, delinquency (no AWS here)."""
