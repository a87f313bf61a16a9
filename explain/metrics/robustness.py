"""Robustness: do the attributions stay put when the input, or the seed, barely changes?

Max-sensitivity follows captum's ``sensitivity_max``: the largest
||a(x') - a(x)|| / ||a(x)|| over perturbed inputs x' drawn uniformly from an
L-infinity ball (radius in units of each feature's background standard
deviation; captum's default radius is 0.02). The explanation is recomputed on
all perturbed rows in one call.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from .agreement import feature_agreement, flat_stderr, within_error_share
from .base import MetricContext

__all__ = ["sensitivity_of", "sensitivity_perturbations", "max_sensitivity", "seed_stability", "seed_cv",
           "seed_topk_agreement", "seed_within_error"]


def sensitivity_perturbations(X: np.ndarray, ctx: MetricContext) -> np.ndarray:
    """Noise (n, s, d), uniform in [-r, r] times each feature's background standard deviation."""
    n, d = X.shape
    s = int(ctx.options.get("n_perturb_samples", 10))
    radius = float(ctx.options.get("radius", 0.02))
    from .._utils.codec import categorical_mask

    scale = np.nan_to_num(np.nanstd(ctx.background, axis=0))
    scale[categorical_mask(getattr(ctx.adapter, "codec", None), d)] = 0.0  # categories are not perturbed by noise
    return ctx.rng(3).uniform(-radius, radius, size=(n, s, d)) * scale


def max_sensitivity(values: np.ndarray, perturbed_values: np.ndarray) -> np.ndarray:
    """max_s ||a(x + noise_s) - a(x)|| / ||a(x)|| per row (captum's normalisation: a zero norm counts as 1).

    values : (n, d); perturbed_values : (n, s, d).
    """
    diff = np.linalg.norm(perturbed_values - values[:, None, :], axis=2)
    norm = np.linalg.norm(values, axis=1)
    norm = np.where(norm == 0, 1.0, norm)
    return (diff / norm[:, None]).max(axis=1)


def seed_stability(runs: list, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(coefficient of variation, mean top-k feature agreement, share within sampling error) per row over
    explanations from different seeds; the last is None unless every run carries a stderr."""
    stack = np.stack([np.asarray(getattr(r, "flat_values", r), float) for r in runs])  # (seeds, n, d)
    spread = stack.std(axis=0).mean(axis=1)
    level = np.abs(stack.mean(axis=0)).mean(axis=1)
    cv = np.divide(spread, level, out=np.full_like(spread, np.nan), where=level > 0)
    pairs = [feature_agreement(stack[i], stack[j], k) for i, j in combinations(range(len(runs)), 2)]
    errors = [flat_stderr(r) for r in runs]
    within = None if any(se is None for se in errors) else np.mean(
        [within_error_share(stack[i], stack[j], errors[i], errors[j]) for i, j in combinations(range(len(runs)), 2)],
        axis=0)
    return cv, np.mean(pairs, axis=0), within


def sensitivity_of(e, sc) -> np.ndarray:
    """Max-sensitivity of e on its first ``sc.robustness_rows`` rows: re-explains the perturbed rows in one call."""
    rows = min(sc.robustness_rows, len(e))
    X = e.codes[:rows]
    noise = sensitivity_perturbations(X, sc.ctx)
    n, s, d = noise.shape
    targets = None if e.target is None else np.repeat(np.asarray(e.target)[:rows], s)  # labels, as explain() takes them
    again = sc.rerun(e, (X[:, None, :] + noise).reshape(-1, d), targets=targets, stderr=False)
    return max_sensitivity(e.flat_values[:rows], again.flat_values.reshape(n, s, d))


def _seed_stability_of(e, sc):
    """(cv, top-k agreement) per row over e and its re-explanations with seeds random_state + 1, ...; None
    when the algorithm that actually ran is deterministic (a "shap" that fell back to KernelSHAP is not)."""
    if not e.params.get("stochastic"):
        return None

    def runs():
        seeds = [None if sc.random_state is None else sc.random_state + s for s in range(1, sc.n_seeds)]
        stderr = "seed_within_error" in sc.metrics  # the only one of the three reading the runs' stderr
        return seed_stability([e] + [sc.rerun(e, e.codes, random_state=seed, stderr=stderr) for seed in seeds],
                              sc.k)
    return sc.shared(("seeds", e.method), e.method, "seed_stability", runs)


def seed_cv(e, sc):
    """Coefficient of variation per row across seeds (None for a deterministic method)."""
    out = _seed_stability_of(e, sc)
    return None if out is None else out[0]


def seed_topk_agreement(e, sc):
    """Mean top-k feature agreement per row between runs with different seeds (None for a deterministic method)."""
    out = _seed_stability_of(e, sc)
    return None if out is None else out[1]


def seed_within_error(e, sc):
    """Share per row of the differences between seeds within sampling error (None without a stderr)."""
    out = _seed_stability_of(e, sc)
    return None if out is None else out[2]
