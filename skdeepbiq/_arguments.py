"""Argument types shared by the command line's parsers (``skdeepbiq`` and
its ``reproduce`` command)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def batch_size(text: str) -> int | str:
    """``--batch-size``: "auto" or a positive integer."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a positive integer, got {text!r}"
        ) from None
