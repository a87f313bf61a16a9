"""Cost: what a method spent per explained row (its own time and model rows, not the metrics')."""

from __future__ import annotations

__all__ = ["seconds_per_row", "evals_per_row"]


def seconds_per_row(e, sc=None) -> float:
    """Wall time of the method per explained row."""
    return float(e.seconds / len(e))


def evals_per_row(e, sc=None) -> float:
    """Model rows the method evaluated per explained row."""
    return float(e.n_model_evals / len(e))
