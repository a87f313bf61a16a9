"""Model reviews: what changed between two versions (diff) and whether a change may ship (gate)."""

from .diff import ReportDiff, diff
from .gate import DEFAULT_POLICY, check, load_policy
from .policy import PolicyError

__all__ = ["diff", "ReportDiff", "check", "load_policy", "DEFAULT_POLICY", "PolicyError"]
