"""LIME tabular, converted to contributions in the same units as SHAP.

LIME fits a weighted linear model around each row and returns its slopes. We
run it on continuous features (``discretize_continuous=False``) so the slopes
are per standardised unit of each feature, in the explained output space
(LIME's regression mode on our scalar ``f``), and convert them to
contributions: slope_j * (x_j - mean_bg x_j) / std_bg x_j. The raw slopes,
LIME's intercept and its local R^2 stay in ``params``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .base import Attribution, Method, Task

__all__ = ["Lime"]


class Lime(Method):
    """LIME tabular with a fixed seed; values are slope x (x - mean_background) contributions."""

    name = "lime"
    stochastic = True

    def attribute(self, task: Task) -> Attribution:
        from lime.lime_tabular import LimeTabularExplainer

        opts = dict(task.options)
        num_samples = int(opts.pop("num_samples", 5000))
        n, d = task.X.shape
        explainer = LimeTabularExplainer(
            task.background, mode="regression", feature_names=list(task.feature_names),
            discretize_continuous=False, random_state=task.random_state,
            sample_around_instance=bool(opts.pop("sample_around_instance", False)),
            kernel_width=opts.pop("kernel_width", None))
        mean, scale = explainer.scaler.mean_, explainer.scaler.scale_
        slopes = np.zeros((n, d))
        intercept = np.empty(n)
        score = np.empty(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(n):  # LIME explains one row per call; each call is one batched model call
                exp = explainer.explain_instance(task.X[i], task.f, num_features=d, num_samples=num_samples)
                for j, w in exp.local_exp[1]:
                    slopes[i, j] = w
                intercept[i] = exp.intercept[1]
                score[i] = exp.score
        values = slopes * (task.X - mean) / scale
        base = float(np.mean(task.f(task.background)))
        return Attribution(values, np.full(n, base), {
            "algorithm": "LIME tabular (continuous), slope x standardised (x - mean_background)",
            "num_samples": num_samples, "feature_mean": mean, "feature_scale": scale,
            "sample_around_instance": explainer.sample_around_instance,
        }, row_params={"slopes": slopes, "intercept": intercept, "local_r2": score})
