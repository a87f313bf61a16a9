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

__all__ = ["MetricSpec", "MetricContext", "METRICS", "FAMILIES", "explained_output", "ratio_to_control"]

BATCH_ROWS = 100_000


@dataclass(frozen=True)
class MetricSpec:
    """Name, family, direction ("higher" or "lower" is better), a one-line meaning and the unit.

    ``unit`` "output" means the explained output space (probability, log-odds, ...): such numbers only
    compare across models explained in the same space (``compare(output="probability")``).
    """

    name: str
    family: str
    direction: str
    meaning: str
    unit: str = "-"


_SPECS = [
    ("deletion", "faithfulness", "lower", "area under the output curve as features are removed (set to the "
     "removal value: background mean by default) in attribution order, x in [0, 1] (Petsiuk et al. 2018)",
     "output"),
    ("insertion", "faithfulness", "higher", "area under the output curve as features are inserted into the "
     "removal value in attribution order (Petsiuk et al. 2018)", "output"),
    ("deletion_normalised", "faithfulness", "lower", "deletion curve rescaled per row to run from 1 (f(x)) to 0 "
     "(f(all removed)), its area, features taken in the order that moves f(x) towards f(all removed) (most "
     "positive first, or most negative where f(x) is below): comparable across models; rows with |f(x) - "
     "f(all removed)| under 0.25 x std of f over the background are left out; the rescaled curve is clipped to "
     "[0, 1]", "share of f(x) - f(removed)"),
    ("insertion_normalised", "faithfulness", "higher", "insertion curve rescaled per row to run from 0 "
     "(f(all removed)) to 1 (f(x)), clipped to [0, 1], its area", "share of f(x) - f(removed)"),
    ("deletion_vs_random", "faithfulness", "lower", "normalised deletion area divided by the random control's "
     "(1.0 = no better than random attributions)", "ratio to random"),
    ("insertion_vs_random", "faithfulness", "higher", "normalised insertion area divided by the random control's",
     "ratio to random"),
    ("faithfulness_correlation", "faithfulness", "higher", "Pearson correlation between summed attributions of "
     "random subsets and the output drop when they are set to the background mean (Bhatt et al. 2020)"),
    ("infidelity", "faithfulness", "lower", "captum's infidelity with normalize=True: squared error between "
     "perturbation . attribution and the output change, perturbing random subsets to a background row (Yeh et al. 2019)"),
    ("max_sensitivity", "robustness", "lower", "max over inputs in an L-inf ball (radius in background standard "
     "deviations) of ||a(x') - a(x)|| / ||a(x)|| (captum's sensitivity_max)"),
    ("seed_cv", "robustness", "lower", "coefficient of variation of the attributions across random seeds "
     "(stochastic methods)"),
    ("seed_topk_agreement", "robustness", "higher", "top-k feature agreement between runs with different seeds"),
    ("seed_within_error", "robustness", "higher", "share of (row, feature) differences between runs with "
     "different seeds within sampling error, |a - b| <= 1.96 sqrt(se_a^2 + se_b^2) (sampled methods with a "
     "stderr; about 0.95 when the stderr is honest)", "share"),
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
    ("agreement_within_error", "agreement", "higher", "share of (row, feature) differences from the model's "
     "other methods within sampling error, |a - b| <= 1.96 sqrt(se_a^2 + se_b^2) (scored where either side was "
     "sampled): the rest of the disagreement is more than noise", "share"),
    ("model_randomisation", "sanity", "lower", "|Spearman rho| between the explanation and that of a model "
     "with randomised parameters (Adebayo et al. 2018); absolute, so a sign flip does not count as a change; "
     "a method that barely changes fails the check"),
    ("model_randomisation_abs", "sanity", "lower", "Spearman similarity of |a| to the randomised model's |a|"),
    ("data_randomisation", "sanity", "lower", "|Spearman rho| to the explanation of a clone refitted on "
     "permuted labels (needs y)"),
    ("entropy", "complexity", "lower", "entropy of |a| / sum |a| (Bhatt et al. 2020): lower is simpler"),
    ("sparseness", "complexity", "higher", "Gini index of sorted |a| (Chalasani et al. 2020): higher is sparser"),
    ("features_for_90", "complexity", "lower", "how many features carry 90% of the attribution mass sum |a|",
     "features"),
    ("interaction_strength", "interaction", "lower", "share of the explained rows' squared deviation from E f "
     "that the first-order part sum_j (v({j}) - v({})) of the interventional game does not carry: "
     "sum r^2 / (sum a^2 + sum r^2), in [0, 1]; 0 for a model additive in the explained output, 1 for a pure "
     "interaction; the same quantity as explain.interactions(...).strength(); a property of the model, scored "
     "once (method '(model)')", "share of squared deviation"),
    ("ground_truth_error", "ground_truth", "lower", "mean |a - exact| / mean |exact| against an independent "
     "reference: exact enumeration of the interventional Shapley values (at most 10 features, a few rows), or "
     "an exact explanation by a different algorithm; empty (with a note) where only a self-comparison exists"),
    ("seconds_per_row", "cost", "lower", "wall time of the method per explained row", "seconds"),
    ("evals_per_row", "cost", "lower", "model evaluations of the method per explained row", "rows"),
]
_UNITS = {"faithfulness_correlation": "correlation", "infidelity": "output squared", "max_sensitivity": "relative change",
          "seed_cv": "ratio", "seed_topk_agreement": "share", "feature_agreement": "share", "rank_agreement": "share",
          "sign_agreement": "share", "signed_rank_agreement": "share", "rank_correlation": "correlation",
          "pairwise_rank_agreement": "share", "model_randomisation": "|rho|", "model_randomisation_abs": "rho",
          "data_randomisation": "|rho|", "entropy": "nats", "sparseness": "Gini", "ground_truth_error": "relative"}
METRICS = {spec[0]: MetricSpec(*spec) if len(spec) == 5 else MetricSpec(*spec, unit=_UNITS.get(spec[0], "-"))
           for spec in _SPECS}
FAMILIES = sorted({s.family for s in METRICS.values()})


@dataclass
class MetricContext:
    """What a metric needs besides the Explanation."""

    adapter: object
    output: str
    background: np.ndarray
    random_state: int | None = 0
    options: dict = field(default_factory=dict)
    n_evals: int = 0  # rows sent through the model by metrics (re-explanations included), for cost accounting
    removal: object = "mean"  # "mean", "zero", "sample" or an array: what a removed feature becomes

    @property
    def baseline(self) -> np.ndarray:
        """The single removal row: the background mean (NaN ignored; a category's mode), zeros, or the
        given array. For removal="sample" the mean row (metrics that average over rows use removal_rows)."""
        from .._utils.codec import reference_row

        if isinstance(self.removal, str) and self.removal == "zero":
            return np.zeros(self.background.shape[1])
        if not isinstance(self.removal, str):
            return np.asarray(self.removal, dtype=float).reshape(-1)
        return reference_row(self.background, getattr(self.adapter, "codec", None))

    def removal_rows(self) -> np.ndarray:
        """Rows a removed feature takes, averaged over: background rows for "sample", else the baseline."""
        if isinstance(self.removal, str) and self.removal == "sample":
            k = int(self.options.get("removal_samples", 20))
            idx = self.rng(9).choice(self.background.shape[0], min(k, self.background.shape[0]), replace=False)
            return self.background[np.sort(idx)]
        return self.baseline[None, :]

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
    return None if e.target_index is None else np.repeat(np.asarray(e.target_index), times)


def ratio_to_control(value: float, control: float) -> float:
    """A method's score divided by the control's (NaN when the control's is zero or not finite)."""
    return value / control if control and np.isfinite(control) else np.nan
