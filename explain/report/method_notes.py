"""Method notes for a model-risk reviewer: what game each method solves, its assumptions, whether it is exact,
and what it measured on this model (local-accuracy gap, seed spread, cost)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["method_notes_table", "GAMES"]

# method name -> (the game it solves, its assumptions)
GAMES = {
    "coefficients": ("interventional (closed form of an additive model)",
                     "features enter the link additively; contributions are relative to the background mean"),
    "naive_bayes": ("interventional (closed form of an additive model)",
                    "class-conditional independence of features, as the model assumes"),
    "shap": ("interventional Shapley values over the background", "absent features take background rows' values "
             "independently of the present ones (correlations ignored)"),
    "shap.tree": ("interventional Shapley values over the background", "as 'shap'; exact by construction"),
    "shap.tree_shap_lib": ("interventional Shapley values (shap's TreeExplainer)", "as 'shap'; checked by sum only"),
    "shap.kernel_exact": ("interventional Shapley values over the background", "a product kernel"),
    "shap.kernel": ("interventional Shapley values, estimated by weighted regression (KernelSHAP)",
                    "sampling: approximate, seed-dependent"),
    "shap.permutation": ("interventional Shapley values, estimated by permutations", "sampling: approximate"),
    "shap.exact": ("interventional Shapley values by shap's exact explainer", "cost 2^d"),
    "shap.partition": ("Owens values over a pixel hierarchy, blurred pixels as absent", "image structure"),
    "lime": ("a local linear surrogate around the row (observational sampling from the background)",
             "the model is locally linear at LIME's kernel width; seed-dependent"),
    "integrated_gradients": ("gradient path from the background mean (Aumann-Shapley)", "a differentiable model"),
    "saliency": ("local gradient magnitude", "not a decomposition of the output"),
    "input_x_gradient": ("gradient x input", "first-order, from zero"),
    "deeplift": ("DeepLift rescale rule from the background mean", "a ReLU network; approximate"),
    "deeplift_shap": ("DeepLift averaged over background rows", "approximate SHAP for networks"),
    "gradient_shap": ("expected gradients over the background", "sampling: approximate, seed-dependent"),
    "occlusion": ("one-at-a-time removal to the background mean (mode for categories)", "ignores interactions"),
    "feature_ablation": ("one-at-a-time removal to the background mean", "ignores interactions"),
    "random": ("none: the control", "a method no better than this measures nothing"),
}


def method_notes_table(result, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per method of an ExplanationSet: game, assumptions, exact, measured gap, seed spread, cost."""
    rows = []
    for e in result:
        game, assumptions = GAMES.get(e.method, ("-", "-"))
        spread = np.nan
        if scores is not None and len(scores):
            hit = scores[(scores.model == result.model_name) & (scores.method == e.method) &
                         (scores.metric == "seed_cv")]
            spread = float(hit.value.iloc[0]) if len(hit) else np.nan
        rows.append({"method": e.method, "game": game, "assumptions": assumptions,
                     "exact": "yes" if e.params.get("exact") else "no",
                     "local-accuracy gap": e.params.get("additivity_gap", np.nan),
                     "seed spread (cv)": spread if e.params.get("stochastic") else "deterministic",
                     "cost (evals/row)": e.n_model_evals / max(len(e), 1)})
    return pd.DataFrame(rows)
