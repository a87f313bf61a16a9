"""The models' own statistics: GLM coefficients and Naive Bayes log-likelihood ratios.

Both families are additive in their margin (the link scale, the log-odds), so
these contributions are exact and need no sampling: beta_j (x_j - mean_bg x_j)
for a GLM, log p(x_j | k) - mean_bg log p(b_j | k) for Naive Bayes.
"""

from __future__ import annotations

from .base import Attribution, Method, Task, closed_form

__all__ = ["Coefficients", "NaiveBayesContributions"]


class _Native(Method):
    family = ""
    exact = True
    additive = True
    reads_internals = True
    game = "interventional (closed form of an additive model)"

    def applies(self, adapter, output, n_features):
        if adapter.native_method != self.name:
            return f"{self.name!r} explains {self.family} models only ({adapter.name} is a {adapter.family} model)"
        if not adapter.groupable:
            return (f"{self.name!r} needs preprocessing in which every transformed column reads one input column "
                    "(scalers, encoders, imputers, ColumnTransformer); this pipeline mixes columns")
        if not adapter.is_additive(output):
            if output != adapter.natural_output:
                return f"{self.name!r} is exact on the {adapter.natural_output!r} scale only (pass output='auto')"
            return f"{self.name!r} needs a model additive per input column (a formula term reads several)"
        return None


class Coefficients(_Native):
    """Exact GLM contributions on the link scale, with the fit's inference table in ``params``."""

    name = "coefficients"
    family = "glm"
    assumptions = "features enter the link additively; contributions are relative to the background mean"

    def attribute(self, task: Task) -> Attribution:
        result = closed_form(task)
        table, note = task.adapter.inference_table(task.feature_names, task.target)
        result.params = {"algorithm": "beta_j * (x_j - mean_background(x_j)) on the link scale",
                         "inference": table, "inference_note": note}
        return result


class NaiveBayesContributions(_Native):
    """Exact per-feature log-likelihood-ratio contributions of a Naive Bayes model."""

    name = "naive_bayes"
    family = "naive_bayes"
    assumptions = "class-conditional independence of features, as the model assumes"

    def attribute(self, task: Task) -> Attribution:
        result = closed_form(task)
        result.params = {"algorithm": "log p(x_j|class) - mean_background log p(b_j|class) (log-odds for "
                                      "two classes)", "naive_bayes": task.adapter.kind}
        return result
