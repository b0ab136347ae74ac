"""Moved to :mod:`skdeepbiq.cli._options`; kept while reproduce.py imports it."""

from .cli._options import batch_size, positive_int

__all__ = ["batch_size", "positive_int"]
