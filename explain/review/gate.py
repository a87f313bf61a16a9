"""A CI gate on explanations: thresholds in a TOML policy, exit 0 (pass) or 1 (fail), a Markdown summary.

Policy keys (all optional; see :mod:`explain.review.policy` for the schema)::

    method = "shap"
    k = 10
    min_ndcg_at_k = 0.9            # the new top-k must keep the old importances' order this well ...
    min_top_k_overlap = 0.6        # ... (with refits: or at least as well as the worst retrain does)
    min_rank_correlation = 0.8     # Spearman over the features both have (off unless set)
    max_flagged = 0                # features beyond the noise band; unset: 0 with a retrain band
                                   # (--train), no gate with a band over row sampling only
    min_effect = 0.1               # smallest flagged change, x the largest old importance
    forbid_sign_flip = ["age"]     # named features whose contribution may not flip sign on any row
    max_local_accuracy_gap = 1e-6  # largest additivity gap of the new explanation
    max_deletion_vs_random = 0.9   # the new explanation must beat random attributions (from its scores)
    [max_rank_change]
    income = 2                     # a named feature may move at most this many ranks

A feature named in ``forbid_sign_flip`` or ``max_rank_change`` that the new
model dropped fails the rule: dropping it is a change.
"""

from __future__ import annotations

import numpy as np

from .policy import DEFAULT_POLICY, PolicyError, check_policy_features, load_policy, validate_policy

__all__ = ["DEFAULT_POLICY", "PolicyError", "load_policy", "validate_policy", "check", "markdown"]


def _ranking_check(add, d, key, label, threshold):
    value = d.metrics[key]
    retrains = d.metrics.get(f"refit_{key}")
    floor = min(retrains) if retrains else None
    ok = value >= threshold or (floor is not None and value >= floor)
    detail = f"{value:.3f}" + ("" if floor is None else f" (retrains of the old model: >= {floor:.3f})")
    add(f"{label} >= {threshold}" + ("" if floor is None else " or within retrain noise"), ok, detail)


def check(new, baseline, policy: dict, **diff_options) -> tuple[bool, list[tuple[str, bool, str]], "object"]:
    """Run the policy: (passed, [(check, ok, detail)], the diff).

    ``diff_options`` (``refits``, ``old_model``, ``train``, ``seed_runs``, ``allow_different_outputs``,
    ``notes``, ``refit_how``, ``random_state``) go to :func:`explain.review.diff`. The policy is validated,
    and the features it names are checked against both versions, before any refit runs.
    """
    from .diff import _explanation, diff

    policy = validate_policy(policy)
    method = policy["method"]
    a, b = _explanation(baseline, method, None), _explanation(new, method, None)
    check_policy_features(policy, a.feature_names, b.feature_names)
    d = diff(baseline, new, method=method, k=int(policy["k"]), min_effect=policy["min_effect"], **diff_options)
    results = []

    def add(name, ok, detail):
        results.append((name, bool(ok), detail))

    k = d.meta["k"]
    _ranking_check(add, d, "ndcg_at_k", f"nDCG@{k}", policy["min_ndcg_at_k"])
    _ranking_check(add, d, "top_k_overlap", f"top-{k} overlap", policy["min_top_k_overlap"])
    if policy["min_rank_correlation"] is not None:
        _ranking_check(add, d, "rank_correlation", "rank correlation", policy["min_rank_correlation"])
    m = d.metrics
    flagged = f"{m['n_flagged']} ({', '.join(d.flagged) or 'none'})"
    limit = policy["max_flagged"] if policy["max_flagged"] is not None else \
        (0 if d.meta["band"] == "retrain" else None)
    if limit is not None:
        add(f"features beyond the {d.meta['band']} band <= {limit}", m["n_flagged"] <= limit, flagged)
    else:
        add("features beyond the noise band (not gated: the band covers row sampling only; pass --train)",
            True, flagged)
    flips = set(m.get("sign_flip_features", []))
    for feature in policy["forbid_sign_flip"]:
        if feature in d.removed:
            add(f"no sign flip of {feature}", False, "removed in the new model")
        elif feature in d.added:
            add(f"no sign flip of {feature}", False, "added in the new model (no old sign)")
        else:
            add(f"no sign flip of {feature}", feature not in flips, "flipped" if feature in flips else "none")
    for feature, limit in policy["max_rank_change"].items():
        if feature in d.features.index:
            change = abs(int(d.features.loc[feature, "rank_change"]))
            add(f"{feature} moves at most {limit} ranks", change <= limit, f"{change} ranks")
        else:
            where = "removed in" if feature in d.removed else "added in"
            add(f"{feature} moves at most {limit} ranks", False, f"{where} the new model")
    gap = _number(b.params.get("additivity_gap"))
    if policy["max_local_accuracy_gap"] is not None and np.isfinite(gap):
        add(f"local-accuracy gap <= {policy['max_local_accuracy_gap']:g}", gap <= policy["max_local_accuracy_gap"],
            f"{gap:.3g}")
    if policy["max_deletion_vs_random"] is not None:
        value = _score(new, method, "deletion_vs_random")
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
    output = d.meta["output_new"] if d.meta["output_old"] == d.meta["output_new"] else \
        f"{d.meta['output_old']} vs {d.meta['output_new']}"
    lines = [f"## explain check: {'PASS' if passed else 'FAIL'} ({d.meta['method']} in {output}, "
             f"{d.meta['band']} noise band)", "", "| check | result | value |", "|---|---|---|"]
    lines += [f"| {name} | {'pass' if ok else '**fail**'} | {detail} |" for name, ok, detail in results]
    lines += ["", *[f"- {s}" for s in d.summary], ""]
    return "\n".join(lines)
