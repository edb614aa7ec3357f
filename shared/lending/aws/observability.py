"""One Powertools Logger / Tracer / Metrics for the whole package.

Never log personal data: log ids, codes and counts only.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="lending")
tracer = Tracer(service="lending")
metrics = Metrics(namespace="Lending", service="lending")
