"""Loan applications: their lifecycle, events and the service the API and steps call."""
