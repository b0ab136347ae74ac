"""The paper's protocols: its experiments, the runs over splits, the report.

What skdeepbiq.reproduce runs; built on the estimators and skdeepbiq.metrics.
"""
