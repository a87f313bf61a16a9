"""The review policy: a TOML file checked against a schema before any work.

Every key has a type and a range; list-valued keys must be lists of names;
unknown keys are refused with a suggestion (a misspelt key would be no check);
feature names must exist in either version. Every mistake raises
:class:`PolicyError` with one line saying which key is wrong and how to fix it.
"""

from __future__ import annotations

import math

from ..errors import DataError

__all__ = ["DEFAULT_POLICY", "PolicyError", "load_policy", "validate_policy", "check_policy_features"]

#: Defaults. ``max_flagged`` unset (None) means 0 with a retrain band (training data given) and no gate
#: without one, since a band over row sampling alone flags plain retrains; set it to gate either way.
#: ``min_effect`` is a fraction of the largest old importance. ``max_deletion_vs_random`` is off unless set.
DEFAULT_POLICY = {"method": "shap", "k": 10, "min_ndcg_at_k": 0.9, "min_top_k_overlap": 0.6,
                  "min_rank_correlation": None, "max_flagged": None,
                  "min_effect": 0.1, "forbid_sign_flip": [], "max_rank_change": {},
                  "max_local_accuracy_gap": 1e-6, "max_deletion_vs_random": None}


class PolicyError(DataError):
    """The policy file is not valid: one line naming the key, what was wrong and what is expected."""


def _number(key, value, lo=None, hi=None, integer=False):
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or (not integer and not math.isfinite(value)):
        raise PolicyError(f"policy key {key!r} must be {kind}, got {value!r} ({type(value).__name__}).")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise PolicyError(f"policy key {key!r} must be {span}, got {value!r}.")
    return value


def _names(key, value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"policy key {key!r} must be a list of feature names, e.g. {key} = [\"age\"], "
                          f"got {value!r}.")
    return list(value)


def _limits(key, value):
    if not isinstance(value, dict):
        raise PolicyError(f"policy key {key!r} must be a table of feature = ranks, e.g. [{key}] then "
                          f"income = 2, got {value!r}.")
    return {str(f): _number(f"{key}.{f}", v, 0, integer=True) for f, v in value.items()}


def _method(key, value):
    from .._utils.validation import suggest
    from ..methods.base import method_names

    known = method_names()
    if not isinstance(value, str) or value not in known:
        hint = suggest(value, known) if isinstance(value, str) else ""
        raise PolicyError(f"policy key {key!r} must be a method name, got {value!r}.{hint} "
                          f"Methods: {', '.join(known)}.")
    return value


_SCHEMA = {
    "method": _method,
    "k": lambda key, v: _number(key, v, 1, integer=True),
    "min_ndcg_at_k": lambda key, v: _number(key, v, 0, 1),
    "min_top_k_overlap": lambda key, v: _number(key, v, 0, 1),
    "min_rank_correlation": lambda key, v: None if v is None else _number(key, v, -1, 1),
    "max_flagged": lambda key, v: None if v is None else _number(key, v, 0, integer=True),
    "min_effect": lambda key, v: _number(key, v, 0, 1),
    "forbid_sign_flip": _names,
    "max_rank_change": _limits,
    "max_local_accuracy_gap": lambda key, v: None if v is None else _number(key, v, 0),
    "max_deletion_vs_random": lambda key, v: None if v is None else _number(key, v, 0),
}


def validate_policy(given: dict, *, source: str = "the policy") -> dict:
    """The defaults updated with ``given``, every key checked (raises :class:`PolicyError`)."""
    from .._utils.validation import suggest

    if not isinstance(given, dict):
        raise PolicyError(f"{source} must be a table of keys, got {type(given).__name__}.")
    policy = dict(DEFAULT_POLICY)
    for key, value in given.items():
        if key not in _SCHEMA:
            raise PolicyError(f"unknown policy key {key!r} in {source}.{suggest(str(key), list(_SCHEMA))} "
                              f"Keys: {', '.join(_SCHEMA)}.")
        policy[key] = _SCHEMA[key](key, value)
    return policy


def load_policy(path=None) -> dict:
    """The policy from a TOML file over the defaults, validated (raises :class:`PolicyError`)."""
    import tomllib

    if path is None:
        return validate_policy({})
    try:
        with open(path, "rb") as fh:
            given = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path} is not valid TOML: {exc}") from exc
    return validate_policy(given, source=str(path))


def check_policy_features(policy: dict, old_names, new_names) -> None:
    """Every feature the policy names exists in either version (a typo would be a silent pass)."""
    from .._utils.validation import suggest

    known = list(dict.fromkeys([*old_names, *new_names]))
    for key in ("forbid_sign_flip", "max_rank_change"):
        for feature in policy[key]:
            if feature not in known:
                shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
                raise PolicyError(f"policy key {key!r} names feature {feature!r}, which neither version has."
                                  f"{suggest(feature, known)} Features: {shown}.")
