"""Adapters: the only code in the package that touches boto3 or the environment."""
