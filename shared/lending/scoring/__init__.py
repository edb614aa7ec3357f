"""Admission scoring: scorecard serving, pricing, credit line, decision policy.

Serving modules here are plain Python; only `train` imports scikit-learn/pandas/numpy.
"""
