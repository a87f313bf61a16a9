"""A CI gate on explanations: thresholds in a TOML policy, exit 0 (pass) or 1 (fail), a Markdown summary.

Policy keys (all optional; defaults are conservative)::

    method = "shap"
    k = 10
    min_ndcg_at_k = 0.9            # the new top-k must keep the old importances' order this well
    min_top_k_overlap = 0.6
    max_flagged = 3                # features whose importance moved beyond the noise band
    forbid_sign_flip = ["age"]     # named features whose contribution may not flip sign on any row
    max_local_accuracy_gap = 1e-6  # largest additivity gap of the new explanation
    max_deletion_vs_random = 0.9   # the new explanation must beat random attributions (from its scores)
    [max_rank_change]
    income = 2                     # a named feature may move at most this many ranks
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_POLICY", "load_policy", "check"]

DEFAULT_POLICY = {"method": "shap", "k": 10, "min_ndcg_at_k": 0.9, "min_top_k_overlap": 0.6, "max_flagged": 3,
                  "forbid_sign_flip": [], "max_rank_change": {}, "max_local_accuracy_gap": 1e-6,
                  "max_deletion_vs_random": None}


def load_policy(path=None) -> dict:
    """The policy from a TOML file over the defaults; unknown keys are refused (a misspelt key is no check)."""
    import tomllib

    from .._utils.validation import suggest
    from ..errors import DataError

    policy = dict(DEFAULT_POLICY)
    if path is None:
        return policy
    with open(path, "rb") as fh:
        try:
            given = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"{path} is not valid TOML: {exc}") from exc
    for key in given:
        if key not in DEFAULT_POLICY:
            raise DataError(f"unknown policy key {key!r} in {path}.{suggest(key, list(DEFAULT_POLICY))} "
                            f"Keys: {', '.join(DEFAULT_POLICY)}.")
    policy.update(given)
    return policy


def check(new, baseline, policy: dict) -> tuple[bool, list[tuple[str, bool, str]], "object"]:
    """Run the policy: (passed, [(check, ok, detail)], the diff)."""
    from .diff import _explanation, diff

    d = diff(baseline, new, method=policy["method"], k=int(policy["k"]))
    results = []

    def add(name, ok, detail):
        results.append((name, bool(ok), detail))

    m = d.metrics
    add(f"nDCG@{d.meta['k']} >= {policy['min_ndcg_at_k']}", m["ndcg_at_k"] >= policy["min_ndcg_at_k"],
        f"{m['ndcg_at_k']:.3f}")
    add(f"top-{d.meta['k']} overlap >= {policy['min_top_k_overlap']}",
        m["top_k_overlap"] >= policy["min_top_k_overlap"], f"{m['top_k_overlap']:.2f}")
    add(f"features beyond the noise band <= {policy['max_flagged']}", m["n_flagged"] <= policy["max_flagged"],
        f"{m['n_flagged']} ({', '.join(d.flagged) or 'none'})")
    flips = set(m.get("sign_flip_features", []))
    for feature in policy["forbid_sign_flip"]:
        add(f"no sign flip of {feature}", feature not in flips, "flipped" if feature in flips else "none")
    for feature, limit in policy["max_rank_change"].items():
        change = abs(int(d.features.loc[feature, "rank_change"])) if feature in d.features.index else None
        add(f"{feature} moves at most {limit} ranks", change is not None and change <= limit,
            "missing" if change is None else f"{change} ranks")
    e = _explanation(new, policy["method"], None)
    gap = _number(e.params.get("additivity_gap"))
    if policy["max_local_accuracy_gap"] is not None and np.isfinite(gap):
        add(f"local-accuracy gap <= {policy['max_local_accuracy_gap']:g}", gap <= policy["max_local_accuracy_gap"],
            f"{gap:.3g}")
    if policy["max_deletion_vs_random"] is not None:
        value = _score(new, policy["method"], "deletion_vs_random")
        add(f"deletion vs random <= {policy['max_deletion_vs_random']}",
            value is not None and value <= policy["max_deletion_vs_random"],
            "no score in the bundle" if value is None else f"{value:.3f}")
    return all(ok for _, ok, _ in results), results, d


def _score(source, method, metric):
    from ..report.bundle import load_report

    if not isinstance(source, (str, bytes)) and not hasattr(source, "__fspath__"):
        return None
    scores = load_report(source)["scores"]
    if scores is None:
        return None
    hit = scores[(scores["method"] == method) & (scores["metric"] == metric)]
    value = _number(hit["value"].iloc[0]) if len(hit) else np.nan
    return value if np.isfinite(value) else None


def _number(value) -> float:
    """A recorded number, or NaN when it is missing or not a number (a hand-edited bundle)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    return np.nan


def markdown(passed: bool, results, d) -> str:
    """A summary for a pull-request comment or $GITHUB_STEP_SUMMARY."""
    lines = [f"## explain check: {'PASS' if passed else 'FAIL'}", "", "| check | result | value |", "|---|---|---|"]
    lines += [f"| {name} | {'pass' if ok else '**fail**'} | {detail} |" for name, ok, detail in results]
    lines += ["", *[f"- {s}" for s in d.summary], ""]
    return "\n".join(lines)
