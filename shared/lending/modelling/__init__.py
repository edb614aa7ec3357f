"""Offline model development: data sets, challengers, evaluation, reports, registry CLI.

Training-only (pandas, scikit-learn, matplotlib). Serving code never imports this package;
it reads the JSON artefacts this package exports (see lending.scoring.scorecard/trees).
"""
