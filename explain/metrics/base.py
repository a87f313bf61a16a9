"""What every metric shares: the registry of names and directions, and batched model calls.

A metric takes an Explanation and a :class:`MetricContext` (the model's
adapter, the explained output space, the background) and returns one value
per explained row; ``compare()`` aggregates rows into a value and a spread.
Every perturbation-based metric builds all its perturbed rows first and sends
them through the model in large batches, never one row at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MetricSpec", "MetricContext", "METRICS", "FAMILIES", "explained_output"]

BATCH_ROWS = 100_000


@dataclass(frozen=True)
class MetricSpec:
    """Name, family, direction ("higher" or "lower" is better) and a one-line meaning."""

    name: str
    family: str
    direction: str
    meaning: str


_SPECS = [
    ("deletion", "faithfulness", "lower", "area under the output curve as features are removed (set to the "
     "background mean) in attribution order, x in [0, 1] (Petsiuk et al. 2018)"),
    ("insertion", "faithfulness", "higher", "area under the output curve as features are inserted into the "
     "background mean in attribution order (Petsiuk et al. 2018)"),
    ("faithfulness_correlation", "faithfulness", "higher", "Pearson correlation between summed attributions of "
     "random subsets and the output drop when they are set to the background mean (Bhatt et al. 2020)"),
    ("infidelity", "faithfulness", "lower", "captum's infidelity with normalize=True: squared error between "
     "perturbation . attribution and the output change, perturbing random subsets to a background row (Yeh et al. 2019)"),
    ("max_sensitivity", "robustness", "lower", "max over inputs in an L-inf ball (radius in background standard "
     "deviations) of ||a(x') - a(x)|| / ||a(x)|| (captum's sensitivity_max)"),
    ("seed_cv", "robustness", "lower", "coefficient of variation of the attributions across random seeds "
     "(stochastic methods)"),
    ("seed_topk_agreement", "robustness", "higher", "top-k feature agreement between runs with different seeds"),
    ("feature_agreement", "agreement", "higher", "share of top-k features in common with the model's other "
     "methods (Krishna et al. 2022)"),
    ("rank_agreement", "agreement", "higher", "share of top-k positions holding the same feature"),
    ("sign_agreement", "agreement", "higher", "share of top-k features in common with the same sign"),
    ("signed_rank_agreement", "agreement", "higher", "share of top-k positions with the same feature and sign"),
    ("rank_correlation", "agreement", "higher", "Spearman correlation of the absolute attributions |a| (the "
     "importance ranking) over all features"),
    ("pairwise_rank_agreement", "agreement", "higher", "share of feature pairs j < l for which the boolean "
     "'j ranks above l' (by |a|; tied features share their average rank, so a tie is False) is the same in "
     "both explanations (Krishna et al. 2022's reference convention)"),
    ("model_randomisation", "sanity", "lower", "|Spearman rho| between the explanation and that of a model "
     "with randomised parameters (Adebayo et al. 2018); absolute, so a sign flip does not count as a change; "
     "a method that barely changes fails the check"),
    ("model_randomisation_abs", "sanity", "lower", "Spearman similarity of |a| to the randomised model's |a|"),
    ("data_randomisation", "sanity", "lower", "|Spearman rho| to the explanation of a clone refitted on "
     "permuted labels (needs y)"),
    ("entropy", "complexity", "lower", "entropy of |a| / sum |a| (Bhatt et al. 2020): lower is simpler"),
    ("sparseness", "complexity", "higher", "Gini index of sorted |a| (Chalasani et al. 2020): higher is sparser"),
    ("ground_truth_error", "ground_truth", "lower", "mean |a - exact| / mean |exact| against an independent "
     "reference: exact enumeration of the interventional Shapley values (at most 10 features, a few rows), or "
     "an exact explanation by a different algorithm; empty (with a note) where only a self-comparison exists"),
    ("seconds_per_row", "cost", "lower", "wall time of the method per explained row"),
    ("evals_per_row", "cost", "lower", "model evaluations of the method per explained row"),
]
METRICS = {name: MetricSpec(name, fam, direction, meaning) for name, fam, direction, meaning in _SPECS}
FAMILIES = sorted({s.family for s in METRICS.values()})


@dataclass
class MetricContext:
    """What a metric needs besides the Explanation."""

    adapter: object
    output: str
    background: np.ndarray
    random_state: int | None = 0
    options: dict = field(default_factory=dict)
    n_evals: int = 0  # rows sent through the model by metrics, for cost accounting

    @property
    def baseline(self) -> np.ndarray:
        """What 'removed' features are set to: the background mean (NaN ignored), the mode for a category."""
        from ..adapters._codec import reference_row

        return reference_row(self.background, getattr(self.adapter, "codec", None))

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng(None if self.random_state is None else [int(self.random_state), salt])


def explained_output(ctx: MetricContext, Z: np.ndarray, targets: np.ndarray | None) -> np.ndarray:
    """The explained scalar for each row of Z (row i of Z belongs to class targets[i]); batched."""
    out = np.empty(Z.shape[0])
    ctx.n_evals += Z.shape[0]
    for start in range(0, Z.shape[0], BATCH_ROWS):
        block = ctx.adapter.predict(Z[start:start + BATCH_ROWS], ctx.output)
        idx = np.zeros(block.shape[0], dtype=int) if targets is None else targets[start:start + BATCH_ROWS]
        out[start:start + BATCH_ROWS] = block[np.arange(block.shape[0]), idx]
    return out


def repeat_targets(e, times: int) -> np.ndarray | None:
    """Each row's target repeated for its block of perturbed copies."""
    return None if e.target is None else np.repeat(np.asarray(e.target), times)
