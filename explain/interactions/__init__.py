"""Exact Shapley interactions: how much of a model lives in pairs of features, per row and overall."""

from .api import interactions
from .result import Interactions

__all__ = ["interactions", "Interactions"]
