"""What the study tests, stated before any run: the hypotheses, and each measure's role, direction and margin.

These are data, not code paths: a reviewer reads them here, the report prints
them, and nothing computed from the records may change them.

Roles: only ``explainability`` measures enter a verdict. ``duplicate`` measures
are another form of a measure already counted (deletion and insertion are
counted once, as the ratio to the random control); ``check`` measures test the
method, not the model (additivity gaps at round-off, whether values are exact,
model randomisation); ``cost`` is the algorithm we have for a family, not the
model; ``context`` is shown beside every row (accuracy); ``descriptive`` is
reported but tests no stated hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..metrics.base import METRICS

__all__ = ["Hypothesis", "HYPOTHESES", "MeasureSpec", "MEASURE_SPECS", "ROUND_OFF", "ALPHA", "CLAIMS"]

ALPHA = 0.05
ROUND_OFF = 1e-9  # an additivity gap below this (in the output's unit) is floating-point round-off, not a finding
# which decisions support a claim and which contradict it
CLAIMS = {
    "harder": ({"harder"}, {"easier"}),
    "not_easier": ({"harder", "equivalent"}, {"easier"}),
    "equivalent": ({"equivalent"}, {"harder", "easier"}),
}


@dataclass(frozen=True)
class Hypothesis:
    """A claim about ``family_a`` (the family the hypothesis is about) against each of ``family_b``.

    ``claim`` is "harder" (a is harder to explain than every b), "not_easier" (a is
    no easier: harder or equivalent) or "equivalent" (within each measure's margin).
    """

    id: str
    statement: str
    family_a: tuple
    family_b: tuple
    claim: str


HYPOTHESES = (
    Hypothesis("H1", "Deep models (MLP, CNN) are harder to explain than GLMs and Naive Bayes.",
               ("mlp", "cnn"), ("glm", "naive_bayes"), "harder"),
    Hypothesis("H2", "Tree ensembles and kernel machines are no easier to explain than deep models.",
               ("decision_tree", "random_forest", "gradient_boosting", "svm"), ("mlp", "cnn"), "not_easier"),
    Hypothesis("H3", "A neural additive model is as easy to explain as a GLM (control: depth without "
                     "interactions).", ("nam",), ("glm",), "equivalent"),
)


@dataclass(frozen=True)
class MeasureSpec:
    """A measure's role, the direction in which a model is EASIER to explain, unit, equivalence margin, range."""

    role: str
    direction: str
    unit: str
    margin: float | None = None
    low: float = float("-inf")
    high: float = float("inf")
    reason: str = ""


def _metric(name, role, margin=None, low=float("-inf"), high=float("inf"), reason=""):
    spec = METRICS[name]
    return MeasureSpec(role, spec.direction, spec.unit, margin, low, high, reason)


MEASURE_SPECS = {
    # explainability: the only measures in a verdict; margins in the measure's own unit, stated in advance
    "deletion_vs_random": _metric("deletion_vs_random", "explainability", 0.05, 0.0),
    "insertion_vs_random": _metric("insertion_vs_random", "explainability", 0.05, 0.0),
    "faithfulness_correlation": _metric("faithfulness_correlation", "explainability", 0.05, -1.0, 1.0),
    "method_agreement": MeasureSpec("explainability", "higher", "correlation", 0.05, -1.0, 1.0),
    "refit_stability": MeasureSpec("explainability", "higher", "correlation", 0.05, -1.0, 1.0),
    # the two above are discounted for sampling noise (study/_noise.py); their raw values are kept beside them
    "method_agreement_raw": MeasureSpec("descriptive", "higher", "correlation", low=-1.0, high=1.0,
                                        reason="method_agreement before the discount for sampling noise"),
    "refit_stability_raw": MeasureSpec("descriptive", "higher", "correlation", low=-1.0, high=1.0,
                                       reason="refit_stability before the discount for sampling noise"),
    "sampling_noise": MeasureSpec("check", "lower", "share of variance", low=0.0, high=1.0,
                                  reason="the scored attribution's sampling noise (0 for exact values): what the "
                                         "agreement and stability measures are discounted for"),
    "interaction_strength": _metric("interaction_strength", "explainability", 0.05, 0.0, 1.0,
                                    reason="a share of variance: values outside [0, 1] make the comparison invalid"),
    "interaction_strength_natural": MeasureSpec(
        "explainability", "lower", "share of squared deviation", 0.05, 0.0, 1.0,
        reason="exact, from the first-order game, in the model's own margin (log-odds, logits; classifiers "
               "only): 0 for a model additive there"),
    "features_for_90": _metric("features_for_90", "explainability", 1.0, 0.0),
    # counted once: the same deletion/insertion curves as the ratios to random above
    "deletion_normalised": _metric("deletion_normalised", "duplicate",
                                   reason="the deletion curve is counted once, as deletion_vs_random"),
    "insertion_normalised": _metric("insertion_normalised", "duplicate",
                                    reason="the insertion curve is counted once, as insertion_vs_random"),
    "additivity_gap": MeasureSpec("check", "lower", "probability",
                                  reason=f"a check of the method; gaps below {ROUND_OFF:g} are round-off"),
    "exact": MeasureSpec("check", "higher", "share of runs", reason="constant within a data set: a fact of the "
                                                                     "method, not of the model"),
    "model_randomisation": _metric("model_randomisation", "check", reason="a sanity check of the method"),
    "seconds_per_row": _metric("seconds_per_row", "cost", reason="the algorithm available for a family, not the "
                                                                 "model's explainability"),
    "accuracy": MeasureSpec("context", "higher", "share correct (R^2 for regression)", high=1.0,
                            reason="shown beside every row, never a verdict"),
    "sparseness": _metric("sparseness", "descriptive", reason="not part of a stated hypothesis (features_for_90 "
                                                              "measures concentration)"),
}
