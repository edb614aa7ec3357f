"""Loans, their repayment schedules and ledgers."""
