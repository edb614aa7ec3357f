"""Funders (partner banks, trusts, consumer-finance companies) and fund requests."""
